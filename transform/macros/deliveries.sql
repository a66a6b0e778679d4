{#- The var kondado_delivery_min_rows, checked: a whole number of rows, at least 1. -#}
{% macro kondado_delivery_min_rows() %}
  {%- set value = var('kondado_delivery_min_rows', 1) -%}
  {%- set text = value | string | trim -%}
  {%- if not text.isdigit() or text | int < 1 -%}
    {{ exceptions.raise_compiler_error("kondado_delivery_min_rows must be a whole number of rows, at least 1, not '" ~ text ~ "'") }}
  {%- endif -%}
  {{- return(text | int) -}}
{% endmacro %}

{#- Each pipeline (of those in the CTE `deliveries`) with deliveries before `start`: how many, and the last one's
    log id, time and cumulative rows. -#}
{% macro kondado_deliveries_before(runs, start) %}
  {{- return(adapter.dispatch('kondado_deliveries_before', 'kondado')(runs, start)) -}}
{% endmacro %}

{#- From the runs model: counted, then the last one's run found by its run_number. -#}
{% macro default__kondado_deliveries_before(runs, start) %}
    select
        counts.pipeline_id,
        counts.deliveries,
        last_delivery.id as last_log_id,
        last_delivery.created_at as last_delivered_at,
        last_delivery.cumulative_rows as last_cumulative_rows
    from (
        select pipeline_id, count(*) as deliveries, max(run_number) as last_run_number
        from {{ runs }}
        where row_count >= {{ kondado_delivery_min_rows() }} and created_at < {{ start }}
        group by pipeline_id
    ) as counts
    inner join {{ runs }} as last_delivery
        on last_delivery.pipeline_id = counts.pipeline_id and last_delivery.run_number = counts.last_run_number
{% endmacro %}

{#- PostgreSQL: the last delivery before `start` of each pipeline delivering now, from the model's own table by
    its index. -#}
{% macro postgres__kondado_deliveries_before(runs, start) %}
    select
        keys.pipeline_id,
        previous.delivery_number as deliveries,
        previous.log_id as last_log_id,
        previous.delivered_at as last_delivered_at,
        previous.cumulative_rows as last_cumulative_rows
    from (select distinct pipeline_id from deliveries) as keys
    cross join lateral (
        select delivered.delivery_number, delivered.log_id, delivered.delivered_at, delivered.cumulative_rows
        from {{ this }} as delivered
        where delivered.pipeline_id = keys.pipeline_id and delivered.delivered_at < {{ start }}
        order by delivered.delivered_at desc, delivered.log_id desc
        limit 1
    ) as previous
{% endmacro %}
{% macro redshift__kondado_deliveries_before(runs, start) %}{{ default__kondado_deliveries_before(runs, start) }}{% endmacro %}
