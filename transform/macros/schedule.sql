{#- The schedule of each pipeline or model, learned from its own runs, as CTEs ending in `schedule`: one row per
    `key` with expected_gap_hours, history_days, next_run_due_at (UTC), next_run_due_local, runs_missed and
    schedule_summary. `history`: its latest logs up to kondado_as_of (runs_ago); `totals`: per key first_run_at,
    last_run_at and history_start (the first of its latest logs and of those of the kondado_schedule_days before
    its last); `runs`: the runs model; `run_hours`: the run-hours model. The rule is the README's ("The rules"),
    exactly. -#}
{% macro kondado_schedule_ctes(kind, history, totals, as_of, runs, run_hours) %}
{%- set key = kind ~ '_id' -%}
{%- set zone = kondado_time_zone() -%}
{%- set pinned = kondado_pinned_gaps(kind) -%}
{%- set double = kondado_type_double() -%}
{%- set string = dbt.type_string() -%}
{%- set gap_runs = kondado_number_var('kondado_gap_runs', 20) | int -%}
{%- set share = kondado_number_var('kondado_schedule_min_share', 0.5) -%}
{%- set late_gaps = kondado_number_var('kondado_late_after_gaps', 0.5) -%}
{%- set late_minutes = kondado_number_var('kondado_late_min_minutes', 10) -%}
{%- set as_of_local = kondado_to_local(as_of, zone) -%}
{%- set local = kondado_to_local('runs.created_at', zone) -%}
learned_gaps as (
    -- the median of the gaps between its latest runs: the gap expected within the hours it runs in (a log at
    -- the same createdAt as the one before it is the same run: gap 0, not counted)
    select {{ key }}, {{ kondado_median('gap_hours') }} as learned_gap_hours
    from {{ history }}
    where runs_ago <= {{ gap_runs }} and gap_hours > 0
    group by {{ key }}
),

pinned_gaps as (
    {%- for id, hours in pinned %}
    select cast({{ id }} as {{ dbt.type_bigint() }}) as {{ key }}, cast({{ hours }} as {{ double }}) as gap_hours
    {{- " union all" if not loop.last }}
    {%- else %}
    select cast(null as {{ dbt.type_bigint() }}) as {{ key }}, cast(null as {{ double }}) as gap_hours where 1 = 0
    {%- endfor %}
),

learning_windows as {{ kondado_materialized() }} (
    -- what the hours of the week are learned from: the last kondado_schedule_days up to its last run (a silence
    -- does not unlearn them)
    select
        {{ key }},
        history_start as first_run_at,
        last_run_at,
        {{ kondado_to_local('last_run_at', zone) }} as last_local_at,
        greatest(history_start, {{ dbt.dateadd('day', -(kondado_number_var('kondado_schedule_days', 28) | int), 'last_run_at') }})
            as window_start
    from {{ totals }}
),

slot_days as (
    -- each local day it ran in an hour of the week: how many runs, the first one's minute. The hours wholly within
    -- its window from the run-hours model; the one or two that an end of its window cuts through, from its runs.
    select hours.{{ key }}, hours.local_dow, hours.local_hour, hours.local_day, hours.runs, hours.first_minute
    from {{ run_hours }} as hours
    inner join learning_windows on learning_windows.{{ key }} = hours.{{ key }}
    where hours.first_run_at >= learning_windows.window_start and hours.last_run_at <= {{ as_of }}
    union all
    select {{ key }}, local_dow, local_hour, local_day, count(*) as runs, min(local_minute) as first_minute
    from (
        select distinct
            runs.{{ key }},
            runs.created_at,
            cast({{ local }} as date) as local_day,
            cast(extract(hour from {{ local }}) as integer) as local_hour,
            cast({{ kondado_iso_weekday(local) }} as integer) - 1 as local_dow,
            cast(extract(minute from {{ local }}) as integer) as local_minute
        from {{ run_hours }} as hours
        inner join learning_windows on learning_windows.{{ key }} = hours.{{ key }}
        inner join {{ runs }} as runs
            on runs.{{ key }} = hours.{{ key }}
            and runs.created_at >= hours.first_run_at and runs.created_at <= hours.last_run_at
        where hours.last_run_at >= learning_windows.window_start and hours.first_run_at <= {{ as_of }}
            and (hours.first_run_at < learning_windows.window_start or hours.last_run_at > {{ as_of }})
            and runs.created_at >= learning_windows.window_start and runs.created_at <= {{ as_of }}
    ) as cut_hours
    group by {{ key }}, local_dow, local_hour, local_day
),

slot_ranks as (
    -- each such day's place among its hour of the week's days, by runs and by first minute (for the medians)
    select
        slot_days.*,
        count(*) over (partition by {{ key }}, local_dow, local_hour) as slot_day_count,
        row_number() over (partition by {{ key }}, local_dow, local_hour order by runs) as runs_rank,
        row_number() over (partition by {{ key }}, local_dow, local_hour order by first_minute) as first_minute_rank
    from slot_days
),

active_slots as {{ kondado_materialized() }} (
    -- the hours of the week it runs in: it ran there in at least kondado_schedule_min_share of the window's weeks
    select
        slot_ranks.{{ key }},
        local_dow,
        local_hour,
        {{ kondado_median_value('runs', 'runs_rank', 'slot_day_count') }} as runs_per_hour,
        {{ kondado_median_value('first_minute', 'first_minute_rank', 'slot_day_count') }} as first_minute
    from slot_ranks
    inner join learning_windows on learning_windows.{{ key }} = slot_ranks.{{ key }}
    group by slot_ranks.{{ key }}, local_dow, local_hour, learning_windows.window_start, learning_windows.last_run_at
    having count(*) * 168.0 >= {{ share }} * {{ kondado_hours_between('learning_windows.window_start', 'learning_windows.last_run_at') }}
),

expectations as {{ kondado_materialized() }} (
    select
        learning_windows.*,
        coalesce(pinned_gaps.gap_hours, learned_gaps.learned_gap_hours) as expected_gap_hours,
        pinned_gaps.gap_hours is not null as is_pinned,
        {{ kondado_hours_between('firsts.first_run_at', 'learning_windows.last_run_at') }} / 24 as history_days
    from learning_windows
    inner join {{ totals }} as firsts on firsts.{{ key }} = learning_windows.{{ key }}
    left join learned_gaps on learned_gaps.{{ key }} = learning_windows.{{ key }}
    left join pinned_gaps on pinned_gaps.{{ key }} = learning_windows.{{ key }}
),

tolerances as {{ kondado_materialized() }} (
    -- a due run is missed once overdue by kondado_late_after_gaps expected gaps, and at least kondado_late_min_minutes
    select
        expectations.*,
        cast(3600 * greatest({{ late_gaps }} * expected_gap_hours, {{ late_minutes }} / 60.0) as {{ dbt.type_bigint() }})
            as tolerance_seconds,
        -- the hours to look ahead through: to a week and a day past kondado_as_of
        {{ kondado_hours_between('last_run_at', as_of) }} + 192 as horizon_hours
    from expectations
    where expected_gap_hours > 0
),

numbers as (
    {{ kondado_numbers(3) }}
),

minutes as {{ kondado_materialized() }} (
    select n from ({{ kondado_numbers(2) }}) as hundred where n < 60
),

local_hours as {{ kondado_materialized() }} (
    -- every local hour from its last run's to the horizon (1,000 at most: runs_missed counts within them);
    -- materialized: inlined, PostgreSQL joins every hour with every active hour of every item
    select
        calendar.*,
        cast({{ kondado_iso_weekday('local_hour_start') }} as integer) - 1 as local_dow,
        cast(extract(hour from local_hour_start) as integer) as local_hour
    from (
        select
            tolerances.{{ key }},
            tolerances.expected_gap_hours,
            {{ dbt.dateadd('hour', 'numbers.n', kondado_date_trunc('hour', 'tolerances.last_local_at')) }} as local_hour_start
        from tolerances
        inner join numbers on numbers.n <= tolerances.horizon_hours
        where not tolerances.is_pinned
    ) as calendar
),

active_hours as {{ kondado_materialized() }} (
    -- those of the hours that it runs in, with that hour of the week's runs and first minute
    select
        local_hours.{{ key }},
        local_hours.expected_gap_hours,
        local_hours.local_hour_start,
        active_slots.runs_per_hour,
        active_slots.first_minute
    from local_hours
    inner join active_slots
        on active_slots.{{ key }} = local_hours.{{ key }}
        and active_slots.local_dow = local_hours.local_dow
        and active_slots.local_hour = local_hours.local_hour
),

hour_limits as (
    -- the last of those hours whose runs are read: kondado_as_of's (runs_missed counts the runs due before it), or
    -- the second of them that can hold a run due after its last (the next one due is in one of the two)
    select ranked.{{ key }}, max(ranked.local_hour_start) as second_hour, count(*) as hours
    from (
        select
            active_hours.{{ key }},
            active_hours.local_hour_start,
            row_number() over (partition by active_hours.{{ key }} order by active_hours.local_hour_start) as hour_rank
        from active_hours
        inner join tolerances on tolerances.{{ key }} = active_hours.{{ key }}
        where {{ dbt.dateadd('hour', 1, 'active_hours.local_hour_start') }} > {{ dbt.dateadd(
            'second', 'cast(1800 * tolerances.expected_gap_hours as ' ~ dbt.type_bigint() ~ ')', 'tolerances.last_local_at') }}
    ) as ranked
    where ranked.hour_rank <= 2
    group by ranked.{{ key }}
),

due_runs as (
    -- the runs its schedule asks for: in each hour of the week it runs in, runs_per_hour runs (one when its gap is an
    -- hour or more) from that hour's usual first minute, an expected gap apart
    select
        active_hours.{{ key }},
        {{ dbt.dateadd(
            'second',
            'cast(60 * active_hours.first_minute + minutes.n * 3600 * active_hours.expected_gap_hours as ' ~ dbt.type_bigint() ~ ')',
            'active_hours.local_hour_start') }} as due_local
    from active_hours
    inner join minutes
        on minutes.n < active_hours.runs_per_hour and minutes.n * active_hours.expected_gap_hours < 1
    left join hour_limits on hour_limits.{{ key }} = active_hours.{{ key }}
    where hour_limits.hours is null or hour_limits.hours < 2
        or active_hours.local_hour_start <= hour_limits.second_hour
        or active_hours.local_hour_start <= {{ as_of_local }}
    union all
    -- pinned by hand: every expected gap after its last run, whatever the hour, to the horizon
    select
        tolerances.{{ key }},
        {{ dbt.dateadd(
            'second', 'cast(numbers.n * 3600 * tolerances.expected_gap_hours as ' ~ dbt.type_bigint() ~ ')',
            'tolerances.last_local_at') }} as due_local
    from tolerances
    inner join numbers
        on numbers.n >= 1 and (numbers.n - 1) * tolerances.expected_gap_hours <= tolerances.horizon_hours
    where tolerances.is_pinned
),

missed as (
    -- due: asked for after its last run by more than half an expected gap (nearer, the last run was that one)
    select
        due_runs.{{ key }},
        min(due_runs.due_local) as next_run_due_local,
        sum(case
            when {{ dbt.dateadd('second', 'tolerances.tolerance_seconds', 'due_runs.due_local') }} < {{ as_of_local }}
                then 1 else 0
        end) as runs_missed
    from due_runs
    inner join tolerances on tolerances.{{ key }} = due_runs.{{ key }}
    where due_runs.due_local > {{ dbt.dateadd(
        'second', 'cast(1800 * tolerances.expected_gap_hours as ' ~ dbt.type_bigint() ~ ')', 'tolerances.last_local_at') }}
    group by due_runs.{{ key }}
),

{{ kondado_schedule_summary_ctes(kind, zone) }}

week_masks as (
    -- the hours of the week it runs in as 168 characters, Monday 00:00 first: 1 an hour it runs in, 0 a quiet one
    select
        expectations.{{ key }},
        {{ kondado_listagg(
            "case when active_slots." ~ key ~ " is null then '0' else '1' end", "''", "hours_of_week.n") }}
            as hours_of_week
    from expectations
    cross join (select n from numbers where n < 168) as hours_of_week
    left join active_slots
        on active_slots.{{ key }} = expectations.{{ key }}
        and active_slots.local_dow * 24 + active_slots.local_hour = hours_of_week.n
    group by expectations.{{ key }}
),

schedule as (
    select
        expectations.{{ key }},
        expectations.expected_gap_hours,
        expectations.history_days,
        {{ kondado_from_local('missed.next_run_due_local', zone) }} as next_run_due_at,
        missed.next_run_due_local,
        coalesce(missed.runs_missed, 0) as runs_missed,
        expectations.is_pinned,
        case
            when expectations.expected_gap_hours is null then 'learning: one run so far'
            when expectations.is_pinned
                then 'every ' || summaries.gap_text || ' (pinned: kondado_expected_gap_hours)'
            when expectations.history_days < {{ kondado_number_var('kondado_min_history_days', 7) }}
                then 'learning: ' || cast(cast(floor(expectations.history_days) as integer) as {{ string }})
                    || ' of {{ kondado_number_var("kondado_min_history_days", 7) }} days of history'
            else 'every ' || summaries.gap_text || ', ' || summaries.when_text || ' ({{ zone }})'
        end as schedule_summary,
        -- what the report shades as quiet: only a schedule learned by the hour (not pinned, not still learning)
        case
            when not expectations.is_pinned and expectations.expected_gap_hours is not null
                and expectations.history_days >= {{ kondado_number_var('kondado_min_history_days', 7) }}
                then week_masks.hours_of_week
        end as schedule_hours_of_week,
        '{{ zone }}' as schedule_time_zone
    from expectations
    left join missed on missed.{{ key }} = expectations.{{ key }}
    left join summaries on summaries.{{ key }} = expectations.{{ key }}
    left join week_masks on week_masks.{{ key }} = expectations.{{ key }}
)
{%- endmacro %}

{#- The time zone var, checked (it is written into the SQL). -#}
{% macro kondado_time_zone() %}
  {%- set zone = var('kondado_time_zone', 'America/Sao_Paulo') | string | trim -%}
  {%- if not modules.re.fullmatch('[A-Za-z][A-Za-z0-9_+/-]*', zone) -%}
    {{ exceptions.raise_compiler_error("kondado_time_zone must be a time zone name such as America/Sao_Paulo, not '" ~ zone ~ "'") }}
  {%- endif -%}
  {{ return(zone) }}
{% endmacro %}

{#- CTEs day_lists, hour_lists, summaries: the schedule in words ("every 1 h, Mon-Fri 08:00-18:00"). -#}
{% macro kondado_schedule_summary_ctes(kind, zone) %}
{%- set key = kind ~ '_id' -%}
{%- set string = dbt.type_string() -%}
{%- set hour_text = "lpad(cast(local_hour as " ~ string ~ "), 2, '0') || ':00'" -%}
day_lists as (
    select
        {{ key }},
        count(*) as days,
        {{ kondado_listagg(
            "case local_dow when 0 then 'Mon' when 1 then 'Tue' when 2 then 'Wed' when 3 then 'Thu' when 4 then 'Fri'"
            ~ " when 5 then 'Sat' else 'Sun' end", "', '", "local_dow") }} as day_list
    from (select distinct {{ key }}, local_dow from active_slots) as days
    group by {{ key }}
),

hour_lists as (
    select
        {{ key }},
        count(*) as hours,
        min(local_hour) as first_hour,
        max(local_hour) as last_hour,
        {{ kondado_listagg(hour_text, "', '", "local_hour") }} as hour_list
    from (select distinct {{ key }}, local_hour from active_slots) as hours
    group by {{ key }}
),

summaries as (
    select
        expectations.{{ key }},
        case
            when expected_gap_hours < 0.95 or (expected_gap_hours < 48 and abs(expected_gap_hours - round(expected_gap_hours)) > 0.1)
                then cast(cast(round(60 * expected_gap_hours) as integer) as {{ string }}) || ' min'
            when expected_gap_hours < 48 then cast(cast(round(expected_gap_hours) as integer) as {{ string }}) || ' h'
            else cast(cast(round(expected_gap_hours / 24) as integer) as {{ string }}) || ' d'
        end as gap_text,
        case
            when day_lists.days = 7 then 'every day'
            when day_lists.day_list = 'Mon, Tue, Wed, Thu, Fri' then 'Mon-Fri'
            when day_lists.day_list = 'Sat, Sun' then 'Sat-Sun'
            else coalesce(day_lists.day_list, 'no hour')
        end
        || case
            when hour_lists.hours is null or hour_lists.hours = 24 then ''
            when hour_lists.hours > 2 and hour_lists.last_hour - hour_lists.first_hour + 1 = hour_lists.hours
                then ' ' || lpad(cast(hour_lists.first_hour as {{ string }}), 2, '0') || ':00-'
                    || lpad(cast(hour_lists.last_hour as {{ string }}), 2, '0') || ':00'
            else ' at ' || hour_lists.hour_list
        end as when_text
    from expectations
    left join day_lists on day_lists.{{ key }} = expectations.{{ key }}
    left join hour_lists on hour_lists.{{ key }} = expectations.{{ key }}
),
{%- endmacro %}
