{#- Generic test on an expected seed: the model `actual` answers exactly its rows, in the seed's columns (the ones
    that matter; the model may have more). Each expected value is cast to the model's column type, so a seed reads
    the same on every engine. A failing row says which side it is missing from:
      missing_from_model: an expected row the model does not have (a wrong or absent value)
      not_expected: a row of the model the seed does not have
    `not_compared_on`: {engine (target.type): [columns]} left out there, for a known difference of that engine.
    `actual_where`: the rows of the model compared (a SQL condition), when the seed holds only some (not `where`:
    dbt takes that as the test's config, filtering the seed). -#}
{% test matches_model(model, actual, not_compared_on={}, actual_where=none) %}
{{ config(store_failures=true) }}  {#- the differing rows, to read: the log names their table #}
{%- set expected_columns = adapter.get_columns_in_relation(model) if execute else [] -%}
{%- set actual_types = {} -%}
{%- for column in (adapter.get_columns_in_relation(actual) if execute else []) -%}
  {%- do actual_types.update({column.name | lower: column.data_type}) -%}
{%- endfor -%}
{%- set names = [] -%}
{%- set left_out = not_compared_on.get(target.type, []) -%}
{%- for column in expected_columns if column.name | lower not in left_out -%}
  {%- set name = column.name | lower -%}
  {%- if name not in actual_types -%}
    {{ exceptions.raise_compiler_error(model.identifier ~ ": column " ~ name ~ " is not a column of " ~ actual) }}
  {%- endif -%}
  {%- do names.append(name) -%}
{%- endfor %}
with expected as (
    select
    {%- for name in names %}
        cast({{ adapter.quote(name) }} as {{ actual_types[name] }}) as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
),

answered as (
    select {{ names | join(', ') }}
    from {{ actual }}
    {%- if actual_where %}
    where {{ actual_where }}
    {%- endif %}
),

missing_from_model as (
    select * from expected
    except all
    select * from answered
),

not_expected as (
    select * from answered
    except all
    select * from expected
)

select 'missing_from_model' as difference, missing_from_model.* from missing_from_model
union all
select 'not_expected' as difference, not_expected.* from not_expected
{% endtest %}
