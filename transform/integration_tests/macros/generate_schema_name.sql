{#- A custom schema is taken as written: the raw seeds land in tap_kondado, where the package reads the tap's
    tables by default, not in analytics_tap_kondado. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
  {{- (custom_schema_name or target.schema) | trim -}}
{%- endmacro %}
