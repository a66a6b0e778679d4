{#- dbt-spark's seed loader, with each value written into the SQL as a literal: its session method formats a bound
    None as the string 'None' (a text seed's empty cell would land as 'None', not null). Null is null here. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
  {%- set column_override = model['config'].get('column_types', {}) -%}
  {%- set types = [] -%}
  {%- for name in agate_table.column_names -%}
    {%- do types.append(column_override.get(name, adapter.convert_type(agate_table, loop.index0))) -%}
  {%- endfor -%}
  {%- set statements = [] -%}
  {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
    {%- set sql -%}
      insert into {{ this.render() }} values
      {% for row in chunk -%}
        ({%- for value in row -%}
          cast({{ kondado_it_spark_literal(value) }} as {{ types[loop.index0] }}){{ "," if not loop.last }}
        {%- endfor -%}){{ "," if not loop.last }}
      {% endfor %}
    {%- endset -%}
    {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
    {%- do statements.append(sql) if loop.first -%}
  {%- endfor -%}
  {{ return(statements[0] if statements else '') }}
{% endmacro %}

{% macro kondado_it_spark_literal(value) -%}
  {%- if value is none -%}null
  {%- elif value is sameas true or value is sameas false -%}{{ value | string | lower }}
  {%- elif value is number -%}{{ value }}
  {%- else -%}'{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
  {%- endif -%}
{%- endmacro %}
