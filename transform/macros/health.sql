{#- One row per pipeline or model (`kind`) from its runs (runs_ago 1 = the latest) and its latest status.
    The rules are the README's, exactly. -#}
{% macro kondado_health(kind, runs, statuses) %}
{%- set key = kind ~ '_id' -%}
{%- set name = kind ~ '_name' -%}
{%- set as_of = kondado_as_of() -%}
{%- set savepoints = kind == 'pipeline' -%}
with stats as (
    select
        {{ key }},
        count(*) as runs,
        max(created_at) as last_run_at,
        sum(case when created_at > {{ dbt.dateadd('day', -7, as_of) }} then 1 else 0 end) as runs_last_7d,
        -- the latest runs in a row that moved no rows
        coalesce(min(case when coalesce(row_count, -1) <> 0 then runs_ago end) - 1, count(*)) as zero_row_streak,
        -- the 20 runs before the latest: the volume it is measured against
        count(case when runs_ago between 2 and 21 then row_count end) as baseline_runs,
        avg(case when runs_ago between 2 and 21 then cast(row_count as {{ kondado_type_double() }}) end) as baseline_mean,
        stddev_pop(case when runs_ago between 2 and 21 then cast(row_count as {{ kondado_type_double() }}) end)
            as baseline_stddev
    from {{ runs }}
    group by {{ key }}
),

usual_gaps as (
    -- the gaps between consecutive runs among the latest 21
    select {{ key }}, {{ kondado_median('gap_hours') }} as usual_gap_hours
    from {{ runs }}
    where runs_ago <= 20 and gap_hours is not null
    group by {{ key }}
),

latest as (
    select
        latest.{{ key }},
        latest.client_id,
        latest.{{ name }},
        latest.row_count as last_row_count
        {%- if savepoints %},
        latest.initial_savepoint is not null
            and previous.{{ key }} is not null
            and latest.initial_savepoint <> coalesce(previous.new_savepoint, '') as savepoint_break
        {%- endif %}
    from {{ runs }} as latest
    {%- if savepoints %}
    left join {{ runs }} as previous
        on previous.{{ key }} = latest.{{ key }} and previous.runs_ago = 2
    {%- endif %}
    where latest.runs_ago = 1
),

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
        stats.zero_row_streak,
        latest.last_row_count,
        case
            when stats.baseline_runs >= 5 and stats.baseline_stddev > 0
                then (latest.last_row_count - stats.baseline_mean) / stats.baseline_stddev
        end as row_count_zscore,
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
    left join {{ statuses }} as status on status.{{ key }} = latest.{{ key }}
)

select
    measured.*,
    coalesce(abs(row_count_zscore) >= 3, false) as volume_anomaly,
    case
        when status in (
            'error_building_tables', 'too_many_consecutive_failed_builds',
            'too_many_consecutive_failed_builds__blocked') then 'failing'
        when status = 'not_active' then 'inactive'
        when runs < 4 then 'unknown'
        when hours_since_last_run > 3 * usual_gap_hours then 'stalled'
        when hours_since_last_run > 1.5 * usual_gap_hours then 'late'
        else 'on_time'
    end as health,
    {{ as_of }} as kondado_as_of
from measured
{% endmacro %}
