{#- The var kondado_projection_min_hours: how far into a month the projection waits (hours; default 24).
    Before that, a few rows would be scaled by a factor in the thousands. -#}
{% macro kondado_projection_min_hours() %}
  {%- set value = var('kondado_projection_min_hours', 24) -%}
  {%- set text = value | string | trim -%}
  {%- if not modules.re.fullmatch('[0-9]+([.][0-9]+)?', text) -%}
    {{ exceptions.raise_compiler_error("kondado_projection_min_hours must be a number of hours, not '" ~ text ~ "'") }}
  {%- endif -%}
  {{ return(text | float) }}
{% endmacro %}

{#- A whole number of rows no integer type overflows (numeric(38, 0) holds 10^38). -#}
{% macro kondado_type_rows() %}{{ kondado_type_numeric(38, 0) }}{% endmacro %}

{#- floor(`rows` x `numerator` / `denominator`), exactly, for rows >= 0 and a positive denominator: in whole
    numbers, so neither a float's 53 bits nor a bigint's 63 bound it. -#}
{% macro kondado_scaled_rows(rows, numerator, denominator) %}
  {{- return(adapter.dispatch('kondado_scaled_rows', 'kondado')(rows, numerator, denominator)) -}}
{% endmacro %}
{% macro default__kondado_scaled_rows(rows, numerator, denominator) -%}
  div(cast({{ rows }} as {{ kondado_type_rows() }}) * cast({{ numerator }} as {{ kondado_type_rows() }}),
      cast({{ denominator }} as {{ kondado_type_rows() }}))
{%- endmacro %}
{% macro duckdb__kondado_scaled_rows(rows, numerator, denominator) -%}
  cast(cast({{ rows }} as hugeint) * cast({{ numerator }} as hugeint) // cast({{ denominator }} as hugeint)
      as {{ kondado_type_rows() }})
{%- endmacro %}
{#- Snowflake and Redshift have no div(): the product less its remainder divides exactly. -#}
{% macro snowflake__kondado_scaled_rows(rows, numerator, denominator) -%}
  {%- set product = 'cast(' ~ rows ~ ' as ' ~ kondado_type_rows() ~ ') * cast(' ~ numerator ~ ' as ' ~ kondado_type_rows() ~ ')' -%}
  {%- set divisor = 'cast(' ~ denominator ~ ' as ' ~ kondado_type_rows() ~ ')' -%}
  cast(({{ product }} - mod({{ product }}, {{ divisor }})) / {{ divisor }} as {{ kondado_type_rows() }})
{%- endmacro %}
{% macro redshift__kondado_scaled_rows(rows, numerator, denominator) -%}
  {{ snowflake__kondado_scaled_rows(rows, numerator, denominator) }}
{%- endmacro %}
