{#- kondado_plan_rows as rows (client_id, plan_rows): one number for every account (client_id null), or a
    map from client_id (a number or a string) to a number; no rows when empty. -#}
{% macro kondado_plan_rows_sql() %}
  {%- set plan = var('kondado_plan_rows', '') -%}
  {%- set pairs = [] -%}
  {%- if plan is mapping -%}
    {%- for client, rows in plan.items() -%}
      {%- if not modules.re.fullmatch('\d+', client | string | trim) -%}
        {{ exceptions.raise_compiler_error("kondado_plan_rows: account '" ~ client ~ "' is not a client_id") }}
      {%- endif -%}
      {%- do pairs.append((client | string | trim, kondado_plan_number(rows))) -%}
    {%- endfor -%}
  {%- elif plan is not none and (plan | string | trim) != '' -%}
    {%- do pairs.append(('null', kondado_plan_number(plan))) -%}
  {%- endif -%}
  {%- if pairs -%}
    {%- for client, rows in pairs %}
    select cast({{ client }} as {{ dbt.type_bigint() }}) as client_id, cast({{ rows }} as {{ dbt.type_bigint() }}) as plan_rows
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
  {%- else %}
    select cast(null as {{ dbt.type_bigint() }}) as client_id, cast(null as {{ dbt.type_bigint() }}) as plan_rows
    where 1 = 0
  {%- endif %}
{% endmacro %}

{% macro kondado_plan_number(value) %}
  {%- set text = value | string | trim -%}
  {%- if not modules.re.fullmatch('\d+(\.0+)?', text) -%}
    {{ exceptions.raise_compiler_error("kondado_plan_rows must be a number of rows or a map of them, not '" ~ text ~ "'") }}
  {%- endif -%}
  {{ return(text.split('.')[0]) }}
{% endmacro %}
