{#- The status stream's table (pipeline_status or model_status) in the source schema, or none when the
    status streams were not synced: the models then select typed nulls. -#}
{% macro kondado_status_relation(table) %}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {{ return(adapter.get_relation(database=target.database, schema=kondado_source_schema(), identifier=table)) }}
{% endmacro %}
