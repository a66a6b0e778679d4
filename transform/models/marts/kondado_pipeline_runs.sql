-- One row per pipeline log id, with the hours since the same pipeline's previous run, its run number and the rows
-- moved up to it. Incremental: the rows staging rewrote.
{{ config(
    materialized='incremental',
    unique_key='id',
    incremental_strategy=kondado_incremental_strategy(),
    partition_by=kondado_partition_by('created_date'),
    indexes=kondado_indexes([{'columns': ['id']}, {'columns': ['built_at']}, {'columns': ['pipeline_id', 'created_at']}, {'columns': ['created_at']}]),
    on_schema_change='append_new_columns'
) }}
{{ kondado_runs('pipeline', ref('stg_kondado__pipeline_logs'), [
    'id', 'client_id', 'pipeline_id', 'pipeline_name', 'created_at', 'updated_at', 'row_count', 'raw_row_count',
    'execution_time_seconds', 'mb_estimate', 'is_billable', 'has_deltas', 'initial_savepoint', 'new_savepoint',
    'external_ip']) }}
