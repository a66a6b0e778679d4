-- One row per account and month: rows moved (billable and free), runs, and for the current month the
-- projection to the month's end against the plan (var kondado_plan_rows), or why there is none (projection_note).
{%- set as_of = kondado_as_of() %}
{%- set this_month = "cast(" ~ kondado_date_trunc('month', as_of) ~ " as " ~ kondado_type_timestamp() ~ ")" %}
{%- set min_seconds = kondado_projection_min_hours() * 3600 %}
with days as (
    -- the days before kondado_as_of's, whole, from kondado_billable_rows_daily; its own day from the logs up to it
    select client_id, created_date, billable_rows, free_rows, runs, negative_runs
    from {{ ref('kondado_billable_rows_daily') }}
    where created_date < cast({{ as_of }} as date)
    union all
    select client_id, created_date, {{ kondado_billable_sums() }}
    from {{ ref('stg_kondado__pipeline_logs') }}
    where created_at >= cast(cast({{ as_of }} as date) as {{ kondado_type_timestamp() }}) and created_at <= {{ as_of }}
    group by client_id, created_date
),

monthly as (
    select
        client_id,
        cast({{ kondado_date_trunc('month', 'cast(created_date as ' ~ kondado_type_timestamp() ~ ')') }} as date) as month,
        sum(billable_rows) as billable_rows,
        sum(free_rows) as free_rows,
        cast(sum(runs) as {{ dbt.type_bigint() }}) as runs,
        sum(negative_runs) as negative_runs
    from days
    group by 1, 2
),

plans as (
    {{ kondado_plan_rows_sql() }}
),

timed as (
    select
        monthly.*,
        monthly.month = cast({{ this_month }} as date) as is_current_month,
        coalesce(plan_for_account.plan_rows, plan_for_all.plan_rows) as plan_rows,
        -- seconds of the current month: elapsed at kondado_as_of, and in all
        {{ dbt.datediff(this_month, as_of, 'second') }} as elapsed_seconds,
        {{ dbt.datediff(this_month, dbt.dateadd('month', 1, this_month), 'second') }} as month_seconds
    from monthly
    left join plans as plan_for_account on plan_for_account.client_id = monthly.client_id
    left join plans as plan_for_all on plan_for_all.client_id is null
),

noted as (
    select
        timed.*,
        case
            when negative_runs > 0 then 'bad_data'
            when is_current_month and (elapsed_seconds <= 0 or elapsed_seconds < {{ min_seconds }}) then 'too_early'
            when coalesce(plan_rows, 0) = 0 then 'no_plan'
        end as projection_note
    from timed
),

projected as (
    select
        noted.*,
        case
            when projection_note in ('bad_data', 'too_early') then null
            when is_current_month
                then {{ kondado_scaled_rows('billable_rows', 'month_seconds', 'elapsed_seconds') }}
            else cast(billable_rows as {{ kondado_type_rows() }})
        end as projected_billable_rows,
        -- when, at this month's pace, the billable rows reach the plan (seconds into the month)
        case
            when projection_note is null and is_current_month and billable_rows > 0
                then cast(plan_rows as {{ kondado_type_double() }}) * elapsed_seconds
                    / cast(billable_rows as {{ kondado_type_double() }})
        end as limit_seconds
    from noted
)

select
    client_id,
    month,
    billable_rows,
    free_rows,
    runs,
    is_current_month,
    projected_billable_rows,
    plan_rows,
    case
        when coalesce(projection_note, '') not in ('bad_data', 'no_plan')
            then round(cast(100.0 * billable_rows / plan_rows as {{ kondado_type_numeric(38, 2) }}), 2)
    end as plan_used_pct,
    case
        when limit_seconds is not null and limit_seconds < month_seconds
            then cast({{ dbt.dateadd('second', 'cast(floor(limit_seconds) as ' ~ dbt.type_bigint() ~ ')', this_month) }} as date)
    end as projected_limit_date,
    projection_note,
    -- the days of data the current month's projection rests on: what a person weighs it by
    case
        when is_current_month and projected_billable_rows is not null
            then cast(elapsed_seconds / 86400.0 as {{ kondado_type_numeric(10, 2) }})
    end as projection_days,
    {{ as_of }} as kondado_as_of
from projected
