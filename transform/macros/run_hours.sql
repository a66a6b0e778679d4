{#- The run-hours models: one row per pipeline or model (`kind`) and local hour (kondado_time_zone) it ran in, what
    health learns a schedule from (28 days of 10-minute runs are 4,032 logs a pipeline, 672 hours). Incremental:
    the local hours from the first the runs model rewrote (on Spark, whole local days), each rewritten whole. -#}
{% macro kondado_run_hours(kind, runs) %}
{%- set key = kind ~ '_id' -%}
{%- set zone = kondado_time_zone() -%}
{%- set incremental = kondado_is_incremental() -%}
{%- set start = kondado_rebuild_start_moment(runs) if incremental else none -%}
{%- if start is not none -%}
  {#- read from a little before: a local hour (or day) may begin before `start` in its zone; then keep the hours
      (days) all of whose runs were read (a change of clocks shifts local time by an hour at most) -#}
  {%- set by_day = kondado_rebuild_unit() == 'day' -%}
  {%- set read_from = start - modules.datetime.timedelta(days=2 if by_day else 0, hours=0 if by_day else 3) -%}
  {%- set local_from = modules.pytz.timezone(zone).fromutc(read_from).replace(tzinfo=none) -%}
  {%- if by_day -%}
    {%- set first_day = (local_from + modules.datetime.timedelta(hours=2)).date() + modules.datetime.timedelta(days=1) -%}
    {%- set first_hour = 0 -%}
  {%- else -%}
    {%- set first = local_from.replace(minute=0, second=0, microsecond=0) + modules.datetime.timedelta(hours=2) -%}
    {%- set first_day, first_hour = first.date(), first.hour -%}
  {%- endif -%}
{%- endif -%}
{%- set local = kondado_to_local('created_at', zone) -%}
with moments as (
    -- the logs of one item at the same createdAt are one run
    select distinct {{ key }}, created_at, {{ local }} as local_at
    from {{ runs }}
    {%- if incremental %}
    where {% if start is none %}1 = 0{% else %}created_at >= {{ kondado_timestamp_literal(read_from) }}{% endif %}
    {%- endif %}
),

hours as (
    select
        {{ key }},
        cast(local_at as date) as local_day,
        cast(extract(hour from local_at) as integer) as local_hour,
        cast({{ kondado_iso_weekday('local_at') }} as integer) - 1 as local_dow,
        count(*) as runs,
        min(cast(extract(minute from local_at) as integer)) as first_minute,
        min(created_at) as first_run_at,
        max(created_at) as last_run_at
    from moments
    group by {{ key }}, cast(local_at as date), cast(extract(hour from local_at) as integer),
        cast({{ kondado_iso_weekday('local_at') }} as integer) - 1
)

select hours.*, {{ kondado_built_at() }} as built_at
from hours
{%- if incremental and start is not none %}
where local_day > cast('{{ first_day.isoformat() }}' as date)
    or (local_day = cast('{{ first_day.isoformat() }}' as date) and local_hour >= {{ first_hour }})
{%- endif %}
{% endmacro %}
