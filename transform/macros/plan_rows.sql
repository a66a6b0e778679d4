{#- kondado_plan_rows as rows (client_id, plan_rows): one number for every account (client_id null), or a
    map from client_id (a number or a string, ASCII digits) to a number; no rows when empty. Keys are compared
    as numbers, so '01' and 1 are one account, and naming one twice is an error. -#}
{% macro kondado_plan_rows_sql(plan=none) %}
  {%- set plan = var('kondado_plan_rows', '') if plan is none else plan -%}
  {%- if plan is string and plan | trim | first == '{' -%}
    {#- A map given as a JSON string (an environment variable, a quoted --vars value): read it as the map. -#}
    {%- set plan = fromjson(plan | trim, none) -%}
    {%- if plan is none -%}
      {{ exceptions.raise_compiler_error("kondado_plan_rows looks like a map but is not JSON (write it as {\"3\": 2400000}): '" ~ var('kondado_plan_rows', '') ~ "'") }}
    {%- endif -%}
  {%- endif -%}
  {%- set pairs = [] -%}
  {%- if plan is mapping -%}
    {%- set seen = {} -%}
    {%- for client, rows in plan.items() -%}
      {%- set text = client | string | trim -%}
      {%- if not modules.re.fullmatch('[0-9]+', text) or text | int > kondado_bigint_max() -%}
        {{ exceptions.raise_compiler_error("kondado_plan_rows: account '" ~ client ~ "' is not a client_id") }}
      {%- endif -%}
      {%- set account = text | int -%}
      {%- if account in seen -%}
        {{ exceptions.raise_compiler_error("kondado_plan_rows: account " ~ account ~ " is given twice ('" ~ seen[account] ~ "', '" ~ text ~ "')") }}
      {%- endif -%}
      {%- do seen.update({account: text}) -%}
      {%- do pairs.append((account, kondado_plan_number(rows))) -%}
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
  {%- set text = value | string | trim | replace('_', '') -%}
  {%- set scientific = modules.re.fullmatch('([0-9]+)(?:[.]([0-9]*))?[eE][+]?([0-9]+)', text) -%}
  {%- if scientific -%}
    {#- 3e6, 2.4e6: shifted exactly, digit by digit (a float would round a big plan). -#}
    {%- set digits = scientific.group(1) ~ (scientific.group(2) or '') -%}
    {%- set shift = scientific.group(3) | int - (scientific.group(2) or '') | length -%}
    {%- if shift >= 0 -%}
      {%- set text = digits ~ ('0' * shift) -%}
    {%- elif digits[shift:] | replace('0', '') == '' -%}
      {%- set text = digits[:shift] -%}
    {%- else -%}
      {{ exceptions.raise_compiler_error("kondado_plan_rows must be a whole number of rows, not '" ~ value ~ "'") }}
    {%- endif -%}
  {%- endif -%}
  {%- if not modules.re.fullmatch('[0-9]+([.]0+)?', text) -%}
    {{ exceptions.raise_compiler_error("kondado_plan_rows must be a whole number of rows (2400000, 2.4e6) or a map {client_id: rows}, not '" ~ value ~ "'") }}
  {%- endif -%}
  {%- set whole = (text.split('.')[0] | int) | string -%}
  {%- if whole | int > kondado_bigint_max() -%}
    {{ exceptions.raise_compiler_error("kondado_plan_rows: " ~ whole ~ " rows is more than " ~ kondado_bigint_max() ~ " (what a bigint holds)") }}
  {%- endif -%}
  {{ return(whole) }}
{% endmacro %}

{% macro kondado_bigint_max() %}{{ return(9223372036854775807) }}{% endmacro %}

{#- An account's rows and runs, summed over the logs grouped: billable_rows, free_rows, runs, negative_runs (runs
    with a negative row count: bad data). -#}
{% macro kondado_billable_sums() -%}
    sum(case when is_billable then coalesce(row_count, 0) else 0 end) as billable_rows,
    sum(case when is_billable then 0 else coalesce(row_count, 0) end) as free_rows,
    count(*) as runs,
    sum(case when row_count < 0 then 1 else 0 end) as negative_runs
{%- endmacro %}
