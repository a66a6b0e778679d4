{#- The gating tests' severity: warn unless the var kondado_health_severity is error. -#}
{% macro kondado_health_severity() %}
  {%- set severity = var('kondado_health_severity', 'warn') | string | trim | lower -%}
  {%- if severity not in ('warn', 'error') -%}
    {{ exceptions.raise_compiler_error("kondado_health_severity must be warn or error, not '" ~ severity ~ "'") }}
  {%- endif -%}
  {{ return(severity) }}
{% endmacro %}

{#- on-run-end: the pipelines and models a gating test found, by name, in the run's log (the rows are also
    stored: store_failures). -#}
{% macro kondado_log_gating_failures(results) %}
  {%- if execute -%}
    {%- for result in results
        if result.node.resource_type == 'test' and result.node.name.startswith('kondado_no_')
        and result.status in ('fail', 'warn') and result.node.relation_name -%}
      {%- set rows = run_query('select pipeline_id, pipeline_name, health from ' ~ result.node.relation_name ~ ' order by pipeline_id') -%}
      {%- for row in rows -%}
        {{ log(result.node.name ~ ": pipeline " ~ row[0] ~ " (" ~ row[1] ~ ") is " ~ row[2], info=true) }}
      {%- endfor -%}
    {%- endfor -%}
  {%- endif -%}
  select 1
{% endmacro %}
