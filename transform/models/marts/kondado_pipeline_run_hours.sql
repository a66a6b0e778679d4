-- One row per pipeline and local hour (kondado_time_zone) it ran in: its runs there, the first one's minute, the
-- first and last createdAt. What kondado_pipeline_health learns the hours of the week from. Incremental.
{{ config(
    materialized='incremental',
    unique_key=['pipeline_id', 'local_day', 'local_hour'],
    incremental_strategy=kondado_incremental_strategy(),
    partition_by=kondado_partition_by('local_day'),
    indexes=kondado_indexes([{'columns': ['pipeline_id', 'local_day']}]),
    on_schema_change='append_new_columns'
) }}
{{ kondado_run_hours('pipeline', ref('kondado_pipeline_runs')) }}
