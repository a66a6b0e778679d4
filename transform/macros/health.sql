{#- One row per pipeline or model (`kind`) from its runs (runs_ago 1 = the latest) and its latest status.
    The rules are the README's, exactly. -#}
{% macro kondado_health(kind, runs, statuses, run_hours) %}
{%- set key = kind ~ '_id' -%}
{%- set name = kind ~ '_name' -%}
{%- set as_of = kondado_as_of() -%}
{%- set savepoints = kind == 'pipeline' -%}
{%- set double = kondado_type_double() -%}
{%- set baseline = kondado_number_var('kondado_baseline_runs', 20) | int -%}
{%- set min_baseline = kondado_number_var('kondado_min_baseline_runs', 5) -%}
{#- the latest runs the rules read: the volume and duration baselines and the latest gaps -#}
{%- set recent = [baseline, 20, kondado_number_var('kondado_gap_runs', 20) | int] | max + 1 -%}
{%- set failing = "'error_building_tables', 'too_many_consecutive_failed_builds', "
    ~ "'too_many_consecutive_failed_builds__blocked'" -%}
{%- set columns = ['id', 'client_id', key, name, 'created_at', 'row_count', 'execution_time_seconds', 'gap_hours',
    'run_number'] + (['initial_savepoint', 'new_savepoint'] if savepoints else []) -%}
with totals as {{ kondado_materialized() }} (
    -- its runs up to kondado_as_of: how many, the first and the latest, those of the last 7 days, the latest in a
    -- row that moved no rows, and history_start (the first of its latest `recent` and of those of the
    -- kondado_schedule_days before its last)
    {{ kondado_run_totals(key, runs, as_of, recent) }}
),

history as {{ kondado_materialized() }} (
    -- its latest `recent` runs up to kondado_as_of, runs_ago 1 the latest
    {{ kondado_latest_runs(key, runs, as_of, recent, columns) }}
),

stats as (
    select
        totals.*,
        -- the kondado_baseline_runs runs before the latest: the volume and duration it is measured against
        baselines.baseline_runs, baselines.baseline_mean, baselines.baseline_stddev,
        baselines.duration_runs, baselines.duration_mean, baselines.duration_stddev
    from totals
    inner join (
        select
            {{ key }},
            count(case when runs_ago between 2 and {{ baseline + 1 }} then row_count end) as baseline_runs,
            avg(case when runs_ago between 2 and {{ baseline + 1 }} then cast(row_count as {{ double }}) end)
                as baseline_mean,
            stddev_pop(case when runs_ago between 2 and {{ baseline + 1 }} then cast(row_count as {{ double }}) end)
                as baseline_stddev,
            count(case when runs_ago between 2 and {{ baseline + 1 }} then execution_time_seconds end) as duration_runs,
            avg(case when runs_ago between 2 and {{ baseline + 1 }} then execution_time_seconds end) as duration_mean,
            stddev_pop(case when runs_ago between 2 and {{ baseline + 1 }} then execution_time_seconds end)
                as duration_stddev
        from history
        group by {{ key }}
    ) as baselines on baselines.{{ key }} = totals.{{ key }}
),

usual_gaps as (
    -- the gaps between consecutive runs among the latest 21
    select {{ key }}, {{ kondado_median('gap_hours') }} as usual_gap_hours
    from history
    where runs_ago <= 20 and gap_hours is not null
    group by {{ key }}
),

latest as (
    select
        latest.{{ key }},
        latest.client_id,
        latest.{{ name }},
        latest.row_count as last_row_count,
        latest.execution_time_seconds as last_execution_seconds
        {%- if savepoints %},
        latest.initial_savepoint is not null
            and previous.{{ key }} is not null
            and latest.initial_savepoint <> coalesce(previous.new_savepoint, '') as savepoint_break
        {%- endif %}
    from history as latest
    {%- if savepoints %}
    left join history as previous
        on previous.{{ key }} = latest.{{ key }} and previous.runs_ago = 2
    {%- endif %}
    where latest.runs_ago = 1
),

{{ kondado_schedule_ctes(kind, 'history', 'totals', as_of, runs, run_hours) }},

measured as (
    select
        latest.{{ key }},
        latest.client_id,
        latest.{{ name }},
        stats.last_run_at,
        stats.runs,
        stats.runs_last_7d,
        usual_gaps.usual_gap_hours,
        {{ kondado_hours_between('stats.last_run_at', as_of) }} as hours_since_last_run,
        schedule.expected_gap_hours,
        schedule.history_days,
        schedule.schedule_summary,
        schedule.schedule_hours_of_week,
        schedule.schedule_time_zone,
        schedule.next_run_due_at,
        schedule.next_run_due_local,
        schedule.runs_missed,
        schedule.is_pinned,
        stats.zero_row_streak,
        latest.last_row_count,
        case
            when stats.baseline_runs >= {{ min_baseline }} and stats.baseline_stddev > 0
                then (latest.last_row_count - stats.baseline_mean) / stats.baseline_stddev
        end as row_count_zscore,
        latest.last_execution_seconds,
        stats.duration_mean as usual_execution_seconds,
        case
            when stats.duration_runs >= {{ min_baseline }} and stats.duration_stddev > 0
                then (latest.last_execution_seconds - stats.duration_mean) / stats.duration_stddev
        end as duration_zscore,
        {% if savepoints %}latest.savepoint_break,{% endif %}
        status.status,
        status.raw_msg as status_message,
        status.observed_at as status_observed_at,
        status.is_active,
        {% if savepoints %}status.is_blocked,{% else %}status.kubo_status_type,{% endif %}
        status.is_running
    from latest
    inner join stats on stats.{{ key }} = latest.{{ key }}
    left join usual_gaps on usual_gaps.{{ key }} = latest.{{ key }}
    left join schedule on schedule.{{ key }} = latest.{{ key }}
    -- a status observed after kondado_as_of is not known yet
    left join {{ statuses }} as status on status.{{ key }} = latest.{{ key }} and status.observed_at <= {{ as_of }}
),

judged as (
    select
        measured.*,
        coalesce(abs(row_count_zscore) >= {{ kondado_number_var('kondado_volume_zscore', 3) }}, false) as volume_anomaly,
        coalesce(duration_zscore >= {{ kondado_number_var('kondado_duration_zscore', 3) }}, false) as slow_run,
        coalesce(zero_row_streak >= {{ kondado_number_var('kondado_zero_row_streak_runs', 3) }}, false)
            as zero_row_streak_flagged,
        -- why its health cannot be known yet, in the words the report shows; null once it can (or it fails first)
        case
            when status in ({{ failing }}) or status = 'not_active' then null
            when runs < {{ kondado_number_var('kondado_min_runs', 4) }}
                then 'fewer than {{ kondado_number_var("kondado_min_runs", 4) }} runs: no cadence yet'
            when expected_gap_hours is null
                or (not is_pinned and history_days < {{ kondado_number_var('kondado_min_history_days', 7) }})
                then coalesce(schedule_summary, 'no cadence yet')
        end as unknown_reason
    from measured
)

select
    judged.*,
    case
        when status in ({{ failing }}) then 'failing'
        when status = 'not_active' then 'inactive'
        when unknown_reason is not null then 'unknown'
        when runs_missed >= {{ kondado_number_var('kondado_stalled_runs_missed', 3) }} then 'stalled'
        when runs_missed >= 1 then 'late'
        else 'on_time'
    end as health,
    {{ as_of }} as kondado_as_of
from judged
{% endmacro %}

{#- Per item, from its runs up to `as_of` (see kondado_health's totals). -#}
{% macro kondado_run_totals(key, runs, as_of, recent) %}
  {{- return(adapter.dispatch('kondado_run_totals', 'kondado')(key, runs, as_of, recent)) -}}
{% endmacro %}

{#- Counted over every run: one pass, and one more for history_start. -#}
{% macro default__kondado_run_totals(key, runs, as_of, recent) %}
    {%- set schedule_days = kondado_number_var('kondado_schedule_days', 28) | int %}
    select counted.*, reach.history_start
    from (
        select
            {{ key }},
            max(run_number) as last_run_number,
            count(*) as runs,
            min(created_at) as first_run_at,
            max(created_at) as last_run_at,
            sum(case when created_at > {{ dbt.dateadd('day', -7, as_of) }} then 1 else 0 end) as runs_last_7d,
            coalesce(max(run_number) - max(case when coalesce(row_count, -1) <> 0 then run_number end), count(*))
                as zero_row_streak
        from {{ runs }}
        where created_at <= {{ as_of }}
        group by {{ key }}
    ) as counted
    inner join (
        select runs.{{ key }}, min(runs.created_at) as history_start
        from {{ runs }} as runs
        inner join (
            select {{ key }}, max(run_number) as last_run_number, max(created_at) as last_run_at
            from {{ runs }}
            where created_at <= {{ as_of }}
            group by {{ key }}
        ) as latest on latest.{{ key }} = runs.{{ key }}
        where runs.created_at <= {{ as_of }}
            and (
                runs.run_number > latest.last_run_number - {{ recent }}
                or runs.created_at >= {{ dbt.dateadd('day', -schedule_days, 'latest.last_run_at') }}
            )
        group by runs.{{ key }}
    ) as reach on reach.{{ key }} = counted.{{ key }}
{% endmacro %}

{#- PostgreSQL: each item's facts found by the runs model's index on (item, created_at), a few rows each, as the
    run numbers count them (runs: its latest run's number); its items listed by a loose index scan. -#}
{% macro postgres__kondado_run_totals(key, runs, as_of, recent) %}
    {%- set schedule_days = kondado_number_var('kondado_schedule_days', 28) | int %}
    {%- set latest_first = 'order by r.created_at desc, r.id desc' %}
    with recursive items as (
        select min({{ key }}) as {{ key }} from {{ runs }}
        union all
        select (select min(r.{{ key }}) from {{ runs }} as r where r.{{ key }} > items.{{ key }})
        from items
        where items.{{ key }} is not null
    )
    select
        items.{{ key }},
        latest.run_number as last_run_number,
        latest.run_number as runs,
        first_run.created_at as first_run_at,
        latest.created_at as last_run_at,
        latest.run_number - coalesce(week_before.run_number, 0) as runs_last_7d,
        latest.run_number - coalesce(last_moved.run_number, 0) as zero_row_streak,
        least(coalesce(oldest_recent.created_at, first_run.created_at), window_first.created_at) as history_start
    from items
    cross join lateral (
        select r.run_number, r.created_at from {{ runs }} as r
        where r.{{ key }} = items.{{ key }} and r.created_at <= {{ as_of }} {{ latest_first }} limit 1
    ) as latest
    cross join lateral (
        select r.created_at from {{ runs }} as r where r.{{ key }} = items.{{ key }} order by r.created_at limit 1
    ) as first_run
    cross join lateral (
        select r.created_at from {{ runs }} as r
        where r.{{ key }} = items.{{ key }} and r.created_at >= {{ dbt.dateadd('day', -schedule_days, 'latest.created_at') }}
        order by r.created_at limit 1
    ) as window_first
    left join lateral (
        select r.run_number from {{ runs }} as r
        where r.{{ key }} = items.{{ key }} and r.created_at <= {{ dbt.dateadd('day', -7, as_of) }} {{ latest_first }} limit 1
    ) as week_before on true
    left join lateral (
        select r.run_number from {{ runs }} as r
        where r.{{ key }} = items.{{ key }} and r.created_at <= {{ as_of }} and coalesce(r.row_count, -1) <> 0
        {{ latest_first }} limit 1
    ) as last_moved on true
    left join lateral (
        select r.created_at from {{ runs }} as r
        where r.{{ key }} = items.{{ key }} and r.created_at <= {{ as_of }} {{ latest_first }} offset {{ recent - 1 }} limit 1
    ) as oldest_recent on true
    where items.{{ key }} is not null
{% endmacro %}
{% macro redshift__kondado_run_totals(key, runs, as_of, recent) %}{{ default__kondado_run_totals(key, runs, as_of, recent) }}{% endmacro %}

{#- Each item's latest `recent` runs up to `as_of` (`columns` of them), with runs_ago. -#}
{% macro kondado_latest_runs(key, runs, as_of, recent, columns) %}
  {{- return(adapter.dispatch('kondado_latest_runs', 'kondado')(key, runs, as_of, recent, columns)) -}}
{% endmacro %}
{% macro default__kondado_latest_runs(key, runs, as_of, recent, columns) %}
    select
        {%- for column in columns %} runs.{{ column }},{% endfor %}
        totals.last_run_number - runs.run_number + 1 as runs_ago
    from {{ runs }} as runs
    inner join totals on totals.{{ key }} = runs.{{ key }}
    where runs.created_at <= {{ as_of }} and runs.run_number > totals.last_run_number - {{ recent }}
{% endmacro %}
{% macro postgres__kondado_latest_runs(key, runs, as_of, recent, columns) %}
    select
        {%- for column in columns %} latest.{{ column }},{% endfor %}
        totals.last_run_number - latest.run_number + 1 as runs_ago
    from totals
    cross join lateral (
        select {{ columns | join(', ') }} from {{ runs }} as r
        where r.{{ key }} = totals.{{ key }} and r.created_at <= {{ as_of }}
        order by r.created_at desc, r.id desc
        limit {{ recent }}
    ) as latest
{% endmacro %}
{% macro redshift__kondado_latest_runs(key, runs, as_of, recent, columns) %}{{ default__kondado_latest_runs(key, runs, as_of, recent, columns) }}{% endmacro %}
