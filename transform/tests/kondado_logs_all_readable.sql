-- Warns, never fails: logs the package left out as unreadable (kondado_unreadable_logs), one row per stream.
-- (Not named kondado_no_...: those are the gates, whose failing rows name pipelines.)
{{ config(severity='warn') }}
select stream, unreadable_logs
from {{ ref('kondado_unreadable_logs') }}
where unreadable_logs > 0
