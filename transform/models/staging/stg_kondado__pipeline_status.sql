-- The latest status of each pipeline (tap_kondado.pipeline_status), or no rows when the status streams were not synced.
{{ kondado_latest_status('pipeline') }}
