-- Logs left out of every answer because the package cannot place them: no id, no pipeline (model) id or no
-- createdAt (the tap writes null, with a warning, for a value it cannot read). One row per log stream; the test
-- kondado_logs_all_readable warns when one is not 0, and the build goes on.
{%- set streams = [('pipeline_logs', 'pipeline_id'), ('model_logs', 'model_id')] %}
{%- for stream, key in streams %}
select
    cast('{{ stream }}' as {{ dbt.type_string() }}) as stream,
    count(case when id is null or {{ key }} is null or {{ kondado_loaded_column('createdAt') }} is null then 1 end)
        as unreadable_logs
from {{ kondado_source(stream) }}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
