-- Gate: no pipeline stalled (no run for more than 3 x its usual gap). One row per stalled pipeline.
-- Warns; fails the build with --vars '{kondado_health_severity: error}'.
{{ config(severity=kondado_health_severity(), store_failures=true) }}
select pipeline_id, pipeline_name, client_id, health, last_run_at, hours_since_last_run, usual_gap_hours
from {{ ref('kondado_pipeline_health') }}
where health = 'stalled'
