-- One row per pipeline: its cadence, how late it is, its volume and savepoints, and its latest status.
{{ kondado_health('pipeline', ref('kondado_pipeline_runs'), ref('stg_kondado__pipeline_status'), ref('kondado_pipeline_run_hours')) }}
