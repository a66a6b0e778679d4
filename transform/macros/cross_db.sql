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

{#- Hours from `start` to `end` (timestamps), whole seconds as both engines count them. -#}
{% macro kondado_hours_between(start, end) -%}
  (cast({{ dbt.datediff(start, end, 'second') }} as {{ kondado_type_double() }}) / 3600)
{%- endmacro %}
