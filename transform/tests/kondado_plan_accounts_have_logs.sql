-- Warns, never fails: an account kondado_plan_rows names that has no pipeline log (a mistyped client_id, most
-- likely: its plan is never used).
{{ config(severity='warn') }}
with plans as (
    {{ kondado_plan_rows_sql() }}
)

select plans.client_id, plans.plan_rows
from plans
where plans.client_id is not null
    and not exists (
        select 1 from {{ ref('stg_kondado__pipeline_logs') }} as logs where logs.client_id = plans.client_id
    )
