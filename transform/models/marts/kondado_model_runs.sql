-- One row per model log id, with the hours since the same model's previous run, its run number and the rows moved
-- up to it. Incremental: the rows staging rewrote.
{{ config(
    materialized='incremental',
    unique_key='id',
    incremental_strategy=kondado_incremental_strategy(),
    partition_by=kondado_partition_by('created_date'),
    indexes=kondado_indexes([{'columns': ['id']}, {'columns': ['built_at']}, {'columns': ['model_id', 'created_at']}, {'columns': ['created_at']}]),
    on_schema_change='append_new_columns'
) }}
{{ kondado_runs('model', ref('stg_kondado__model_logs'), [
    'id', 'client_id', 'model_id', 'model_name', 'created_at', 'updated_at', 'row_count', 'execution_time_seconds']) }}
