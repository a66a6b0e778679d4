{#- What dbt_utils would give, and what the warehouses spell differently. -#}

{#- The median of a column (an aggregate; interpolated between the two middle values). -#}
{% macro kondado_median(expression) %}
  {{- return(adapter.dispatch('kondado_median', 'kondado')(expression)) -}}
{% endmacro %}
{% macro default__kondado_median(expression) -%}
  percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}
{% macro duckdb__kondado_median(expression) -%}
  median({{ expression }})
{%- endmacro %}
{#- BigQuery's percentile_cont is a window function only: the two middle values of the sorted array. -#}
{% macro bigquery__kondado_median(expression) -%}
  (array_agg({{ expression }} ignore nulls order by {{ expression }})[safe_offset(div(count({{ expression }}) - 1, 2))]
    + array_agg({{ expression }} ignore nulls order by {{ expression }})[safe_offset(div(count({{ expression }}), 2))]) / 2
{%- endmacro %}

{#- An 8-byte float (dbt.type_float() is a 4-byte REAL on DuckDB). -#}
{% macro kondado_type_double() %}
  {{- return(adapter.dispatch('kondado_type_double', 'kondado')()) -}}
{% endmacro %}
{% macro default__kondado_type_double() %}double precision{% endmacro %}
{% macro duckdb__kondado_type_double() %}double{% endmacro %}
{% macro spark__kondado_type_double() %}double{% endmacro %}
{% macro bigquery__kondado_type_double() %}float64{% endmacro %}

{#- A naive timestamp, as the tap's columns are read (UTC): BigQuery's is DATETIME (its TIMESTAMP is an instant,
    which dbt.dateadd's DATETIME does not compare with). -#}
{% macro kondado_type_timestamp() %}
  {{- return(adapter.dispatch('kondado_type_timestamp', 'kondado')()) -}}
{% endmacro %}
{% macro default__kondado_type_timestamp() %}{{ dbt.type_timestamp() }}{% endmacro %}
{% macro bigquery__kondado_type_timestamp() %}datetime{% endmacro %}

{#- dbt.date_trunc, naive in, naive out (BigQuery's makes a TIMESTAMP of a DATETIME). -#}
{% macro kondado_date_trunc(datepart, timestamp) %}
  {{- return(adapter.dispatch('kondado_date_trunc', 'kondado')(datepart, timestamp)) -}}
{% endmacro %}
{% macro default__kondado_date_trunc(datepart, timestamp) %}{{ dbt.date_trunc(datepart, timestamp) }}{% endmacro %}
{% macro bigquery__kondado_date_trunc(datepart, timestamp) %}datetime_trunc({{ timestamp }}, {{ datepart }}){% endmacro %}

{#- numeric(precision, scale): BigQuery's NUMERIC holds 29 digits before the point, its BIGNUMERIC 38. -#}
{% macro kondado_type_numeric(precision, scale) %}
  {{- return(adapter.dispatch('kondado_type_numeric', 'kondado')(precision, scale)) -}}
{% endmacro %}
{% macro default__kondado_type_numeric(precision, scale) %}numeric({{ precision }}, {{ scale }}){% endmacro %}
{% macro bigquery__kondado_type_numeric(precision, scale) -%}
  {{ 'bignumeric' if precision - scale > 29 else 'numeric' }}({{ precision }}, {{ scale }})
{%- endmacro %}

{#- Hours from `start` to `end` (timestamps), whole seconds as both engines count them. -#}
{% macro kondado_hours_between(start, end) -%}
  (cast({{ dbt.datediff(start, end, 'second') }} as {{ kondado_type_double() }}) / 3600)
{%- endmacro %}

{#- The median of a column as one of its values (the lower middle one, as percentile_disc(0.5), which Redshift
    and BigQuery have as window functions only), an aggregate: `rank` is the row's row_number() by that column
    in its group, `rows` the group's count(*); the median is the value ranked ceil(rows / 2). -#}
{% macro kondado_median_value(expression, rank, rows) -%}
  max(case when 2 * {{ rank }} >= {{ rows }} and 2 * {{ rank }} - 1 <= {{ rows }} then {{ expression }} end)
{%- endmacro %}

{#- 0, 1, ..., 10 ** digits - 1, as column n (a CTE body). -#}
{% macro kondado_numbers(digits) -%}
  {%- for place in range(digits) %}
  {{ "select " if loop.first else "    + " }}{{ 10 ** place }} * d{{ place }}.n{% endfor %} as n
  from {% for place in range(digits) %}{{ kondado_digits() }} as d{{ place }}{{ " cross join " if not loop.last }}{% endfor %}
{%- endmacro %}
{% macro kondado_digits() -%}
  (select 0 as n{% for digit in range(1, 10) %} union all select {{ digit }}{% endfor %})
{%- endmacro %}

{#- `name as materialized (...)`: a CTE computed once, not inlined where it is read, on PostgreSQL and DuckDB;
    the others have no such keyword (each plans its CTEs as it sees fit). Redshift would take postgres__'s. -#}
{% macro kondado_materialized() %}
  {{- return(adapter.dispatch('kondado_materialized', 'kondado')()) -}}
{% endmacro %}
{% macro default__kondado_materialized() %}{% endmacro %}
{% macro postgres__kondado_materialized() %}materialized{% endmacro %}
{% macro duckdb__kondado_materialized() %}materialized{% endmacro %}
{% macro redshift__kondado_materialized() %}{% endmacro %}

{#- The ISO day of the week of a timestamp: 1 Monday ... 7 Sunday. -#}
{% macro kondado_iso_weekday(timestamp) %}
  {{- return(adapter.dispatch('kondado_iso_weekday', 'kondado')(timestamp)) -}}
{% endmacro %}
{% macro default__kondado_iso_weekday(timestamp) %}extract(isodow from {{ timestamp }}){% endmacro %}
{% macro spark__kondado_iso_weekday(timestamp) %}extract(dayofweek_iso from {{ timestamp }}){% endmacro %}
{% macro snowflake__kondado_iso_weekday(timestamp) %}dayofweekiso({{ timestamp }}){% endmacro %}
{#- BigQuery's dayofweek and Redshift's dow count from Sunday (1 and 0). -#}
{% macro bigquery__kondado_iso_weekday(timestamp) %}(mod(extract(dayofweek from {{ timestamp }}) + 5, 7) + 1){% endmacro %}
{% macro redshift__kondado_iso_weekday(timestamp) -%}
  (mod(cast(extract(dow from {{ timestamp }}) as integer) + 6, 7) + 1)
{%- endmacro %}

{#- The strings `measure` of a group joined by `delimiter` (a SQL string literal) in the order of `order_by` (an
    expression): dbt.listagg; on Spark, whose collect_list has no order, sorted by that expression first. -#}
{% macro kondado_listagg(measure, delimiter, order_by) %}
  {{- return(adapter.dispatch('kondado_listagg', 'kondado')(measure, delimiter, order_by)) -}}
{% endmacro %}
{% macro default__kondado_listagg(measure, delimiter, order_by) -%}
  {{ dbt.listagg(measure, delimiter, "order by " ~ order_by) }}
{%- endmacro %}
{% macro spark__kondado_listagg(measure, delimiter, order_by) -%}
  array_join(transform(array_sort(collect_list(named_struct('k', {{ order_by }}, 'v', {{ measure }}))), x -> x.v), {{ delimiter }})
{%- endmacro %}
