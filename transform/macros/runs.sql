{#- The runs models: each log of a pipeline or model (`kind`) with the hours since the same item's previous run,
    its place in the item's history and the rows it moved up to it. Incremental: a build rewrites the rows
    staging rewrote (from the earliest on), continuing each item's count from its runs before them. -#}
{% macro kondado_runs(kind, logs, columns) %}
{%- set key = kind ~ '_id' -%}
{%- set incremental = kondado_is_incremental() -%}
{%- set start = kondado_rebuild_start(logs) if incremental else none -%}
{%- set order = 'partition by rebuilt.' ~ key ~ ' order by rebuilt.created_at, rebuilt.id' -%}
with rebuilt as (
    select {{ columns | join(', ') }}, created_date
    from {{ logs }}
    where 1 = 1 {{- kondado_rebuilt_rows('created_at', start, incremental) }}
)
{%- if incremental and start is not none %},

earlier as (
    {{ kondado_runs_before(key, logs, start) }}
)
{%- endif %}

select
    rebuilt.*,
    {%- set previous = 'lag(rebuilt.created_at) over (' ~ order ~ ')' %}
    {%- if incremental and start is not none %}
    {%- set previous = 'coalesce(' ~ previous ~ ', earlier.last_run_at)' %}
    {%- endif %}
    {{ kondado_hours_between(previous, 'rebuilt.created_at') }} as gap_hours,
    {{ 'coalesce(earlier.runs, 0) + ' if incremental and start is not none }}row_number() over ({{ order }}) as run_number,
    {{ 'coalesce(earlier.rows_moved, 0) + ' if incremental and start is not none }}sum(coalesce(rebuilt.row_count, 0)) over (
        {{ order }} rows between unbounded preceding and current row) as cumulative_rows,
    {{ kondado_built_at() }} as built_at
from rebuilt
{%- if incremental and start is not none %}
left join earlier on earlier.{{ key }} = rebuilt.{{ key }}
{%- endif %}
{% endmacro %}

{#- Each item (of those in the CTE `rebuilt`) with runs before `start`: how many, the last one's createdAt and the
    rows they moved. -#}
{% macro kondado_runs_before(key, logs, start) %}
  {{- return(adapter.dispatch('kondado_runs_before', 'kondado')(key, logs, start)) -}}
{% endmacro %}

{#- Counted from the staging model: one code path for every engine, and no read of the table being replaced. -#}
{% macro default__kondado_runs_before(key, logs, start) %}
    select
        {{ key }},
        count(*) as runs,
        max(created_at) as last_run_at,
        sum(coalesce(row_count, 0)) as rows_moved
    from {{ logs }}
    where created_at < {{ start }}
    group by {{ key }}
{% endmacro %}

{#- PostgreSQL: the last run before `start` of each rebuilt item, found in the model's own table by its index
    (the counts are on that row); counting them again would read every log. -#}
{% macro postgres__kondado_runs_before(key, logs, start) %}
    select
        keys.{{ key }},
        previous.run_number as runs,
        previous.created_at as last_run_at,
        previous.cumulative_rows as rows_moved
    from (select distinct {{ key }} from rebuilt) as keys
    cross join lateral (
        select runs.run_number, runs.created_at, runs.cumulative_rows
        from {{ this }} as runs
        where runs.{{ key }} = keys.{{ key }} and runs.created_at < {{ start }}
        order by runs.created_at desc, runs.id desc
        limit 1
    ) as previous
{% endmacro %}
{% macro redshift__kondado_runs_before(key, logs, start) %}{{ default__kondado_runs_before(key, logs, start) }}{% endmacro %}
