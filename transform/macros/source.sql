{#- A table the tap loads, in the var kondado_source_schema: a source() relation, quoted as the adapter quotes.
    A double quote cannot be quoted by dbt's relations (it would end the name): a clear error instead. -#}
{% macro kondado_source(table) %}
  {%- do kondado_source_schema() -%}
  {{ return(source('kondado', table)) }}
{% endmacro %}

{% macro kondado_source_schema() %}
  {%- set schema = var('kondado_source_schema', 'tap_kondado') | string -%}
  {%- if schema | trim == '' or '"' in schema -%}
    {{ exceptions.raise_compiler_error("kondado_source_schema must be a schema name, not '" ~ schema ~ "' (no double quote)") }}
  {%- endif -%}
  {{ return(schema) }}
{% endmacro %}
