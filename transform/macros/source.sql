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

{#- A column of the tap's tables named in camel case (createdAt): target-postgres keeps the API's names, so
    PostgreSQL needs them quoted; the other targets lower-case them, and a quoted camel-case name would match no
    column there (Snowflake's unquoted names are upper case). Redshift would take postgres__'s. -#}
{% macro kondado_loaded_column(name) %}
  {{- return(adapter.dispatch('kondado_loaded_column', 'kondado')(name)) -}}
{% endmacro %}
{% macro default__kondado_loaded_column(name) %}{{ return(name) }}{% endmacro %}
{% macro postgres__kondado_loaded_column(name) %}{{ return(adapter.quote(name)) }}{% endmacro %}
{% macro redshift__kondado_loaded_column(name) %}{{ return(name) }}{% endmacro %}
