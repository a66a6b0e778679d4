{#- The status stream's table (pipeline_status or model_status) in the source schema, or none when the
    status streams were not synced: the models then select typed nulls. Offline (kondado_offline), the table
    is taken as present, so the SQL that reads it is rendered too. -#}
{% macro kondado_status_relation(table) %}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- if kondado_offline() -%}
    {{ return(api.Relation.create(database=target.database, schema=kondado_source_schema(), identifier=table)) }}
  {%- endif -%}
  {{ return(adapter.get_relation(database=target.database, schema=kondado_source_schema(), identifier=table)) }}
{% endmacro %}

{#- The var kondado_offline: true renders the package with no warehouse to ask (`dbt compile` with a profile of
    fake credentials), as the checked-only warehouses are checked; every catalog lookup is skipped. -#}
{% macro kondado_offline() %}
  {%- set value = var('kondado_offline', false) -%}
  {%- if value in (true, false) -%}{{ return(value) }}{%- endif -%}
  {%- set text = value | string | trim | lower -%}
  {%- if text not in ('true', 'false') -%}
    {{ exceptions.raise_compiler_error("kondado_offline must be true or false, not '" ~ value ~ "'") }}
  {%- endif -%}
  {{ return(text == 'true') }}
{% endmacro %}
