-- One row per pipeline log id, with the hours since the same pipeline's previous run.
select
    runs.*,
    {{ kondado_hours_between(
        'lag(created_at) over (partition by pipeline_id order by created_at, id)', 'created_at') }} as gap_hours,
    row_number() over (partition by pipeline_id order by created_at desc, id desc) as runs_ago
from {{ ref('stg_kondado__pipeline_logs') }} as runs
