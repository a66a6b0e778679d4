{#- The health rules' thresholds (dbt_project.yml `vars:`), each checked to be a number. -#}
{% macro kondado_number_var(name, default) %}
  {%- set value = var(name, default) -%}
  {%- if value is string and modules.re.fullmatch('\s*-?\d+(\.\d+)?\s*', value) -%}
    {%- set value = value | float -%}
  {%- endif -%}
  {%- if value is not number or value is sameas true or value is sameas false or value < 0 -%}
    {{ exceptions.raise_compiler_error(name ~ " must be a number of 0 or more, not '" ~ value ~ "'") }}
  {%- endif -%}
  {{ return(value) }}
{% endmacro %}

{#- kondado_expected_gap_hours for one kind: [(id, hours)] from {"721": 24, "model:111": 6, ...}; a bare id
    pins the pipeline and the model of that id. -#}
{% macro kondado_pinned_gaps(kind) %}
  {%- set value = var('kondado_expected_gap_hours', {}) -%}
  {%- if value is none or (value is string and value | trim == '') -%}{%- set value = {} -%}{%- endif -%}
  {%- if value is not mapping -%}
    {{ exceptions.raise_compiler_error("kondado_expected_gap_hours must be a map {id: hours}, not '" ~ value ~ "'") }}
  {%- endif -%}
  {%- set pinned = [] -%}
  {%- for key, hours in value.items() -%}
    {%- set text = key | string | trim -%}
    {%- set parts = text.split(':') -%}
    {%- if parts | length == 2 and parts[0] in ('pipeline', 'model') -%}
      {%- set of_kind, id_text = parts[0], parts[1] | trim -%}
    {%- else -%}
      {%- set of_kind, id_text = kind, text -%}
    {%- endif -%}
    {%- if not modules.re.fullmatch('\d+', id_text) -%}
      {{ exceptions.raise_compiler_error("kondado_expected_gap_hours: '" ~ text ~ "' is not an id (721, pipeline:721 or model:111)") }}
    {%- endif -%}
    {%- if hours is string and modules.re.fullmatch('\s*\d+(\.\d+)?\s*', hours) -%}{%- set hours = hours | float -%}{%- endif -%}
    {%- if hours is not number or hours is sameas true or hours is sameas false or hours <= 0 -%}
      {{ exceptions.raise_compiler_error("kondado_expected_gap_hours: " ~ text ~ " must be a number of hours above 0, not '" ~ hours ~ "'") }}
    {%- endif -%}
    {%- if of_kind == kind -%}{%- do pinned.append((id_text | int, hours)) -%}{%- endif -%}
  {%- endfor -%}
  {{ return(pinned) }}
{% endmacro %}
