{#- What dbt_utils would give, and what PostgreSQL and DuckDB spell differently. -#}

{#- The median of a column (an aggregate; interpolated between the two middle values). -#}
{% macro kondado_median(expression) %}
  {{- return(adapter.dispatch('kondado_median', 'kondado')(expression)) -}}
{% endmacro %}
{% macro default__kondado_median(expression) -%}
  percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}
{% macro duckdb__kondado_median(expression) -%}
  median({{ expression }})
{%- endmacro %}

{#- An 8-byte float (dbt.type_float() is a 4-byte REAL on DuckDB). -#}
{% macro kondado_type_double() %}
  {{- return(adapter.dispatch('kondado_type_double', 'kondado')()) -}}
{% endmacro %}
{% macro default__kondado_type_double() %}double precision{% endmacro %}
{% macro duckdb__kondado_type_double() %}double{% endmacro %}
{% macro spark__kondado_type_double() %}double{% endmacro %}

{#- Hours from `start` to `end` (timestamps), whole seconds as both engines count them. -#}
{% macro kondado_hours_between(start, end) -%}
  (cast({{ dbt.datediff(start, end, 'second') }} as {{ kondado_type_double() }}) / 3600)
{%- endmacro %}

{#- `timestamp` (naive UTC, as the tap's columns) in the time zone `zone` (naive local), and back. Both engines
    read `at time zone` alike: naive to an instant, an instant to naive. -#}
{% macro kondado_to_local(timestamp, zone) -%}
  {{- return(adapter.dispatch('kondado_to_local', 'kondado')(timestamp, zone)) -}}
{%- endmacro %}
{% macro default__kondado_to_local(timestamp, zone) -%}
  (({{ timestamp }}) at time zone 'UTC') at time zone '{{ zone }}'
{%- endmacro %}
{% macro kondado_from_local(timestamp, zone) -%}
  {{- return(adapter.dispatch('kondado_from_local', 'kondado')(timestamp, zone)) -}}
{%- endmacro %}
{% macro default__kondado_from_local(timestamp, zone) -%}
  (({{ timestamp }}) at time zone '{{ zone }}') at time zone 'UTC'
{%- endmacro %}
{#- Spark has no `at time zone`; its timestamps are read in the session's zone, UTC in the profile. -#}
{% macro spark__kondado_to_local(timestamp, zone) -%}
  from_utc_timestamp({{ timestamp }}, '{{ zone }}')
{%- endmacro %}
{% macro spark__kondado_from_local(timestamp, zone) -%}
  to_utc_timestamp({{ timestamp }}, '{{ zone }}')
{%- endmacro %}

{#- The median of a column as one of its values (the lower middle one), not interpolated. -#}
{% macro kondado_median_value(expression) -%}
  percentile_disc(0.5) within group (order by {{ expression }})
{%- endmacro %}

{#- 0, 1, ..., 10 ** digits - 1, as column n (a CTE body). -#}
{% macro kondado_numbers(digits) -%}
  {%- for place in range(digits) %}
  {{ "select " if loop.first else "    + " }}{{ 10 ** place }} * d{{ place }}.n{% endfor %} as n
  from {% for place in range(digits) %}{{ kondado_digits() }} as d{{ place }}{{ " cross join " if not loop.last }}{% endfor %}
{%- endmacro %}
{% macro kondado_digits() -%}
  (select 0 as n{% for digit in range(1, 10) %} union all select {{ digit }}{% endfor %})
{%- endmacro %}

{#- `name as materialized (...)`: a CTE computed once, not inlined where it is read, on PostgreSQL and DuckDB;
    the others have no such keyword (each plans its CTEs as it sees fit). Redshift would take postgres__'s. -#}
{% macro kondado_materialized() %}
  {{- return(adapter.dispatch('kondado_materialized', 'kondado')()) -}}
{% endmacro %}
{% macro default__kondado_materialized() %}{% endmacro %}
{% macro postgres__kondado_materialized() %}materialized{% endmacro %}
{% macro duckdb__kondado_materialized() %}materialized{% endmacro %}
{% macro redshift__kondado_materialized() %}{% endmacro %}

{#- The ISO day of the week of a timestamp: 1 Monday ... 7 Sunday. -#}
{% macro kondado_iso_weekday(timestamp) %}
  {{- return(adapter.dispatch('kondado_iso_weekday', 'kondado')(timestamp)) -}}
{% endmacro %}
{% macro default__kondado_iso_weekday(timestamp) %}extract(isodow from {{ timestamp }}){% endmacro %}
{% macro spark__kondado_iso_weekday(timestamp) %}extract(dayofweek_iso from {{ timestamp }}){% endmacro %}
