-- One row per delivery: a pipeline run that moved at least kondado_delivery_min_rows rows (the rule of
-- kondado-trigger), with the pipeline's previous delivery, the rows moved since it, and a running count.
with runs as (
    select
        id, client_id, pipeline_id, pipeline_name, created_at, row_count, has_deltas,
        sum(coalesce(row_count, 0)) over (
            partition by pipeline_id order by created_at, id rows between unbounded preceding and current row
        ) as cumulative_rows
    from {{ ref('stg_kondado__pipeline_logs') }}
),

deliveries as (
    select * from runs where row_count >= {{ kondado_delivery_min_rows() }}
)

select
    id as log_id,
    client_id,
    pipeline_id,
    pipeline_name,
    created_at as delivered_at,
    row_count,
    has_deltas,
    lag(id) over (partition by pipeline_id order by created_at, id) as previous_log_id,
    lag(created_at) over (partition by pipeline_id order by created_at, id) as previous_delivered_at,
    cumulative_rows - coalesce(lag(cumulative_rows) over (partition by pipeline_id order by created_at, id), 0)
        as rows_since_previous_delivery,
    row_number() over (partition by pipeline_id order by created_at, id) as delivery_number,
    {{ kondado_as_of() }} as kondado_as_of
from deliveries
