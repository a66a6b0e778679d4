-- One row per model and local hour (kondado_time_zone) it ran in: its runs there, the first one's minute, the
-- first and last createdAt. What kondado_model_health learns the hours of the week from. Incremental.
{{ config(
    materialized='incremental',
    unique_key=['model_id', 'local_day', 'local_hour'],
    incremental_strategy=kondado_incremental_strategy(),
    partition_by=kondado_partition_by('local_day'),
    indexes=kondado_indexes([{'columns': ['model_id', 'local_day']}]),
    on_schema_change='append_new_columns'
) }}
{{ kondado_run_hours('model', ref('kondado_model_runs')) }}
