-- One row per delivery: a pipeline run that moved at least kondado_delivery_min_rows rows (the rule of
-- kondado-trigger), with the pipeline's previous delivery, the rows moved since it, and a running count.
-- Incremental: the runs kondado_pipeline_runs rewrote.
{{ config(
    materialized='incremental',
    unique_key='log_id',
    incremental_strategy=kondado_incremental_strategy(),
    partition_by=kondado_partition_by('delivered_date'),
    indexes=kondado_indexes([{'columns': ['log_id']}, {'columns': ['built_at']}, {'columns': ['pipeline_id', 'delivered_at']}]),
    on_schema_change='append_new_columns'
) }}
{%- set runs = ref('kondado_pipeline_runs') %}
{%- set incremental = kondado_is_incremental() %}
{%- set start = kondado_rebuild_start(runs) if incremental else none %}
{%- set continued = incremental and start is not none %}
{%- set order = 'partition by deliveries.pipeline_id order by deliveries.created_at, deliveries.id' %}
with deliveries as (
    select id, client_id, pipeline_id, pipeline_name, created_at, created_date, row_count, has_deltas, cumulative_rows
    from {{ runs }}
    where row_count >= {{ kondado_delivery_min_rows() }} {{- kondado_rebuilt_rows('created_at', start, incremental) }}
)
{%- if continued %},

earlier as (
    {{ kondado_deliveries_before(runs, start) }}
)
{%- endif %}

select
    deliveries.id as log_id,
    deliveries.client_id,
    deliveries.pipeline_id,
    deliveries.pipeline_name,
    deliveries.created_at as delivered_at,
    deliveries.row_count,
    deliveries.has_deltas,
    {%- if continued %}
    coalesce(lag(deliveries.id) over ({{ order }}), earlier.last_log_id) as previous_log_id,
    coalesce(lag(deliveries.created_at) over ({{ order }}), earlier.last_delivered_at) as previous_delivered_at,
    deliveries.cumulative_rows
        - coalesce(lag(deliveries.cumulative_rows) over ({{ order }}), earlier.last_cumulative_rows, 0)
        as rows_since_previous_delivery,
    coalesce(earlier.deliveries, 0) + row_number() over ({{ order }}) as delivery_number,
    {%- else %}
    lag(deliveries.id) over ({{ order }}) as previous_log_id,
    lag(deliveries.created_at) over ({{ order }}) as previous_delivered_at,
    deliveries.cumulative_rows - coalesce(lag(deliveries.cumulative_rows) over ({{ order }}), 0)
        as rows_since_previous_delivery,
    row_number() over ({{ order }}) as delivery_number,
    {%- endif %}
    deliveries.cumulative_rows,
    deliveries.created_date as delivered_date,
    {{ kondado_built_at() }} as built_at
from deliveries
{%- if continued %}
left join earlier on earlier.pipeline_id = deliveries.pipeline_id
{%- endif %}
