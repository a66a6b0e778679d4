-- Pipeline logs typed, one row per id (latest updatedAt wins: an append-only target keeps every version), from
-- kondado_history_start_date on. Incremental: a build rewrites every log from the earliest new or re-versioned one on.
{{ config(
    materialized='incremental',
    unique_key='id',
    incremental_strategy=kondado_incremental_strategy(),
    partition_by=kondado_partition_by('created_date'),
    indexes=kondado_indexes([{'columns': ['id']}, {'columns': ['built_at']}, {'columns': ['created_at']}]),
    on_schema_change='append_new_columns'
) }}
{%- set loaded = kondado_source('pipeline_logs') %}
{%- set types = kondado_column_types(loaded) %}
{%- set typed -%}
    select
        cast(id as {{ dbt.type_bigint() }}) as id,
        cast(client_id as {{ dbt.type_bigint() }}) as client_id,
        cast(pipeline_id as {{ dbt.type_bigint() }}) as pipeline_id,
        cast(pipeline_name as {{ dbt.type_string() }}) as pipeline_name,
        {{ kondado_utc(kondado_loaded_column('createdAt'), types.get('createdat')) }} as created_at,
        {{ kondado_utc(kondado_loaded_column('updatedAt'), types.get('updatedat')) }} as updated_at,
        cast(row_count as {{ dbt.type_bigint() }}) as row_count,
        cast(raw_row_count as {{ dbt.type_bigint() }}) as raw_row_count,
        cast(execution_time_seconds as {{ kondado_type_double() }}) as execution_time_seconds,
        cast(mb_estimate as {{ kondado_type_double() }}) as mb_estimate,
        cast(is_billable as {{ dbt.type_boolean() }}) as is_billable,
        cast(has_deltas as {{ dbt.type_boolean() }}) as has_deltas,
        cast(initial_savepoint as {{ dbt.type_string() }}) as initial_savepoint,
        cast(new_savepoint as {{ dbt.type_string() }}) as new_savepoint,
        cast(external_ip as {{ dbt.type_string() }}) as external_ip
    from {{ loaded }}
{%- endset %}
{%- set incremental = kondado_is_incremental() %}
{%- set start = kondado_staging_rebuild_start(typed) if incremental else none %}
with typed as (
    {{ typed }}
),

versions as (
    select
        typed.*,
        row_number() over (partition by id order by updated_at desc nulls last) as version_rank
    from typed
    -- a log without an id, a pipeline_id or a createdAt answers nothing: kondado_unreadable_logs counts it
    where id is not null and pipeline_id is not null and created_at is not null
        {{- kondado_history_condition('created_at') }}
        {{- kondado_rebuilt_rows('created_at', start, incremental) }}
)

select
    id, client_id, pipeline_id, pipeline_name, created_at, updated_at, row_count, raw_row_count,
    execution_time_seconds, mb_estimate, is_billable, has_deltas, initial_savepoint, new_savepoint, external_ip,
    cast(created_at as date) as created_date,
    {{ kondado_built_at() }} as built_at
from versions
where version_rank = 1
