{#- The schedule of each pipeline or model, learned from its own runs (`history`: its latest logs up to
    kondado_as_of and those of the kondado_schedule_days before its last; `totals`: first_run_at per key), as CTEs
    ending in `schedule`: one row per `key` with expected_gap_hours, history_days, next_run_due_at (UTC),
    next_run_due_local, runs_missed and schedule_summary. The rule is the README's ("The rules"), exactly. -#}
{% macro kondado_schedule_ctes(kind, history, totals, as_of) %}
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
run_moments as {{ kondado_materialized() }} (
    -- one row per run: the logs of one item at the same createdAt are one run; with its local hour of the week
    select
        {{ key }},
        created_at,
        {{ kondado_to_local('created_at', zone) }} as local_at,
        cast({{ kondado_iso_weekday(kondado_to_local('created_at', zone)) }} as integer) - 1 as local_dow,
        cast(extract(hour from {{ kondado_to_local('created_at', zone) }}) as integer) as local_hour,
        cast(extract(minute from {{ kondado_to_local('created_at', zone) }}) as integer) as local_minute,
        row_number() over (partition by {{ key }} order by created_at desc) as moments_ago
    from {{ history }}
    group by {{ key }}, created_at
),

learned_gaps as (
    -- the median of the gaps between its latest runs: the gap expected within the hours it runs in
    select {{ key }}, {{ kondado_median('gap_hours') }} as learned_gap_hours
    from (
        select
            {{ key }},
            moments_ago,
            {{ kondado_hours_between('lag(created_at) over (partition by ' ~ key ~ ' order by created_at)', 'created_at') }}
                as gap_hours
        from run_moments
    ) as gaps
    where moments_ago <= {{ gap_runs }} and gap_hours > 0
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
        min(created_at) as first_run_at,
        max(created_at) as last_run_at,
        max(local_at) as last_local_at,
        greatest(min(created_at), {{ dbt.dateadd('day', -(kondado_number_var('kondado_schedule_days', 28) | int), 'max(created_at)') }})
            as window_start
    from run_moments
    group by {{ key }}
),

slot_days as (
    -- each local day it ran in an hour of the week: how many runs, the first one's minute
    select
        run_moments.{{ key }},
        local_dow,
        local_hour,
        cast(local_at as date) as local_day,
        count(*) as runs,
        min(local_minute) as first_minute
    from run_moments
    inner join learning_windows on learning_windows.{{ key }} = run_moments.{{ key }}
    where run_moments.created_at >= learning_windows.window_start
    group by run_moments.{{ key }}, local_dow, local_hour, cast(local_at as date)
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

due_runs as (
    -- the runs its schedule asks for: in each hour of the week it runs in, runs_per_hour runs (one when its gap is an
    -- hour or more) from that hour's usual first minute, an expected gap apart
    select
        local_hours.{{ key }},
        {{ dbt.dateadd(
            'second',
            'cast(60 * active_slots.first_minute + minutes.n * 3600 * local_hours.expected_gap_hours as ' ~ dbt.type_bigint() ~ ')',
            'local_hours.local_hour_start') }} as due_local
    from local_hours
    inner join active_slots
        on active_slots.{{ key }} = local_hours.{{ key }}
        and active_slots.local_dow = local_hours.local_dow
        and active_slots.local_hour = local_hours.local_hour
    inner join minutes
        on minutes.n < active_slots.runs_per_hour and minutes.n * local_hours.expected_gap_hours < 1
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
        {{ dbt.listagg(
            "case when active_slots." ~ key ~ " is null then '0' else '1' end", "''", "order by hours_of_week.n") }}
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
        {{ dbt.listagg(
            "case local_dow when 0 then 'Mon' when 1 then 'Tue' when 2 then 'Wed' when 3 then 'Thu' when 4 then 'Fri'"
            ~ " when 5 then 'Sat' else 'Sun' end", "', '", "order by local_dow") }} as day_list
    from (select distinct {{ key }}, local_dow from active_slots) as days
    group by {{ key }}
),

hour_lists as (
    select
        {{ key }},
        count(*) as hours,
        min(local_hour) as first_hour,
        max(local_hour) as last_hour,
        {{ dbt.listagg(hour_text, "', '", "order by local_hour") }} as hour_list
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
