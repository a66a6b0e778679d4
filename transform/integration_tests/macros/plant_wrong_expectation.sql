{#- `dbt run-operation plant_wrong_expectation` (after a build): a wrong expected row added, the stalled pipeline 103
    also expected on time, so that tests/test_dbt_integration.py sees matches_model fail. Never part of a build.
    An insert, not an update: Spark's Parquet tables take no update. -#}
{% macro plant_wrong_expectation() %}
  {%- set expected = ref('expected_pipeline_health') -%}
  {%- set columns = adapter.get_columns_in_relation(expected) | map(attribute='name') | map('lower') | list -%}
  {%- set values = [] -%}
  {%- for name in columns -%}
    {%- do values.append("'on_time'" if name == 'health' else adapter.quote(name)) -%}
  {%- endfor -%}
  {%- call statement('plant_wrong_expectation', auto_begin=true) -%}
    insert into {{ expected }} select {{ values | join(', ') }} from {{ expected }} where pipeline_id = 103
  {%- endcall -%}
  {#- committed: run-operation would roll the transaction back (where the engine has transactions) #}
  {%- do adapter.commit() -%}
{% endmacro %}
