{#- The latest status of each pipeline or model observed by kondado_as_of, from the status stream's table
    (`kind`: pipeline or model); typed nulls, no rows, when that table is absent. -#}
{% macro kondado_latest_status(kind) %}
  {%- set relation = kondado_status_relation(kind ~ '_status') -%}
  {%- set key = kind ~ '_id' -%}
  {%- set columns = [
      (key, dbt.type_bigint()), ('client_id', dbt.type_bigint()), (kind ~ '_name', dbt.type_string()),
      ('status', dbt.type_string()), ('is_running', dbt.type_boolean()), ('is_active', dbt.type_boolean()),
      ('is_blocked' if kind == 'pipeline' else 'kubo_status_type',
       dbt.type_boolean() if kind == 'pipeline' else dbt.type_string()),
      ('raw_msg', dbt.type_string()), ('observed_at', kondado_type_timestamp())] -%}
  {%- if relation is none %}
select
  {%- for name, type in columns %}
    cast(null as {{ type }}) as {{ name }}{{ "," if not loop.last }}
  {%- endfor %}
where 1 = 0
  {%- else %}
{%- set loaded_types = kondado_column_types(relation) %}
with typed as (
    select
    {%- for name, type in columns %}
        {%- if name == 'observed_at' %}
        {{ kondado_utc(name, loaded_types.get(name)) }} as {{ name }}{{ "," if not loop.last }}
        {%- else %}
        cast({{ name }} as {{ type }}) as {{ name }}{{ "," if not loop.last }}
        {%- endif %}
    {%- endfor %}
    from {{ relation }}
),

ranked as (
    select typed.*, row_number() over (partition by {{ key }} order by observed_at desc) as recency
    from typed
    where observed_at <= {{ kondado_as_of() }}
)

select {% for name, type in columns %}{{ name }}{{ ", " if not loop.last }}{% endfor %}
from ranked
where recency = 1
  {%- endif %}
{% endmacro %}
