{#- "Now" for every model: the var kondado_as_of (ISO timestamp; UTC unless it carries an offset), or the
    run's start. A SQL timestamp literal, naive UTC like the tap's columns. -#}
{% macro kondado_as_of() %}
  {{- kondado_timestamp_literal(kondado_as_of_datetime()) -}}
{%- endmacro %}

{% macro kondado_as_of_datetime() %}
  {%- set value = var('kondado_as_of', '') -%}
  {%- if value is none or (value is string and value | trim == '') -%}
    {%- set moment = run_started_at -%}
  {%- elif value is string -%}
    {%- set text = value | trim -%}
    {%- if not modules.re.fullmatch('\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})?', text) -%}
      {{ exceptions.raise_compiler_error("kondado_as_of must be an ISO timestamp such as 2026-11-29T06:00:00Z, not '" ~ text ~ "'") }}
    {%- endif -%}
    {%- if text.endswith('Z') -%}{%- set text = text[:-1] ~ '+00:00' -%}{%- endif -%}
    {%- set moment = modules.datetime.datetime.fromisoformat(text) -%}
  {%- elif value.year is defined and value.hour is defined -%}
    {%- set moment = value -%}  {#- YAML already parsed it #}
  {%- elif value.year is defined -%}
    {%- set moment = modules.datetime.datetime(value.year, value.month, value.day) -%}
  {%- else -%}
    {{ exceptions.raise_compiler_error("kondado_as_of must be an ISO timestamp, not " ~ value) }}
  {%- endif -%}
  {%- if moment.tzinfo is not none -%}
    {%- set moment = moment.astimezone(modules.pytz.utc).replace(tzinfo=none) -%}
  {%- endif -%}
  {{ return(moment) }}
{% endmacro %}
