-- One row per model: its cadence, how late it is, its volume, and its latest status.
{{ kondado_health('model', ref('kondado_model_runs'), ref('stg_kondado__model_status'), ref('kondado_model_run_hours')) }}
