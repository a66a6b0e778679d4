-- Gate: no pipeline whose latest status is a failure (error_building_tables, too_many_consecutive_failed_builds,
-- ..._blocked). One row per failing pipeline, with Kondado's message. Warns; fails with
-- --vars '{kondado_health_severity: error}'.
{{ config(severity=kondado_health_severity(), store_failures=true) }}
select pipeline_id, pipeline_name, client_id, health, status, status_message, last_run_at
from {{ ref('kondado_pipeline_health') }}
where health = 'failing'
