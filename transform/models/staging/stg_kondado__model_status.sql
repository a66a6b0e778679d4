-- The latest status of each model (tap_kondado.model_status), or no rows when the status streams were not synced.
{{ kondado_latest_status('model') }}
