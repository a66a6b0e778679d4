{#- `dbt run-operation plant_wrong_expectation` (after a build): one expected row made wrong, the stalled pipeline 103
    expected on time, so that tests/test_dbt_integration.py sees matches_model fail. Never part of a build. -#}
{% macro plant_wrong_expectation() %}
  {%- set expected = ref('expected_pipeline_health') -%}
  {%- do run_query("update " ~ expected ~ " set health = 'on_time' where pipeline_id = 103") -%}
{% endmacro %}
