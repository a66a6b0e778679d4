{#- The var kondado_delivery_min_rows, checked: a whole number of rows, at least 1. -#}
{% macro kondado_delivery_min_rows() %}
  {%- set value = var('kondado_delivery_min_rows', 1) -%}
  {%- set text = value | string | trim -%}
  {%- if not text.isdigit() or text | int < 1 -%}
    {{ exceptions.raise_compiler_error("kondado_delivery_min_rows must be a whole number of rows, at least 1, not '" ~ text ~ "'") }}
  {%- endif -%}
  {{- return(text | int) -}}
{% endmacro %}
