-- One row per account and UTC day: rows moved (billable and free), runs, and runs with a negative row count.
-- What kondado_billable_rows_monthly sums (the day of kondado_as_of it counts from the logs themselves).
-- Incremental: the days from the first log staging rewrote, each rewritten whole.
{{ config(
    materialized='incremental',
    unique_key=['client_id', 'created_date'],
    incremental_strategy=kondado_incremental_strategy(),
    partition_by=kondado_partition_by('created_date'),
    indexes=kondado_indexes([{'columns': ['created_date']}]),
    on_schema_change='append_new_columns'
) }}
{%- set logs = ref('stg_kondado__pipeline_logs') %}
{%- set incremental = kondado_is_incremental() %}
{%- set start = kondado_rebuild_start_moment(logs) if incremental else none %}
{%- set first_day = none if start is none else kondado_timestamp_literal(modules.datetime.datetime(start.year, start.month, start.day)) %}
select
    client_id,
    created_date,
    {{ kondado_billable_sums() }},
    {{ kondado_built_at() }} as built_at
from {{ logs }}
where 1 = 1 {{- kondado_rebuilt_rows('created_at', first_day, incremental) }}
group by client_id, created_date
