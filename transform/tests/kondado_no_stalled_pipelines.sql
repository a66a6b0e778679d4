-- Gate: no pipeline stalled (kondado_stalled_runs_missed runs its schedule asked for missed). One row per stalled pipeline.
-- Warns; fails the build with --vars '{kondado_health_severity: error}'.
{{ config(severity=kondado_health_severity(), store_failures=true) }}
select pipeline_id, pipeline_name, client_id, health, last_run_at, runs_missed, next_run_due_at, schedule_summary
from {{ ref('kondado_pipeline_health') }}
where health = 'stalled'
