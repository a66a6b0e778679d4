-- Model logs typed, one row per id (latest updatedAt wins), none created after kondado_as_of, none unreadable.
{%- set loaded = kondado_source('model_logs') %}
{%- set types = kondado_column_types(loaded) %}
with typed as (
    select
        cast(id as {{ dbt.type_bigint() }}) as id,
        cast(client_id as {{ dbt.type_bigint() }}) as client_id,
        cast(model_id as {{ dbt.type_bigint() }}) as model_id,
        cast(model_name as {{ dbt.type_string() }}) as model_name,
        {{ kondado_utc(kondado_loaded_column('createdAt'), types.get('createdat')) }} as created_at,
        {{ kondado_utc(kondado_loaded_column('updatedAt'), types.get('updatedat')) }} as updated_at,
        cast(row_count as {{ dbt.type_bigint() }}) as row_count,
        cast(execution_time_seconds as {{ kondado_type_double() }}) as execution_time_seconds
    from {{ loaded }}
),

versions as (
    select
        typed.*,
        row_number() over (partition by id order by updated_at desc nulls last) as version_rank
    from typed
    -- a log without an id, a model_id or a createdAt answers nothing: kondado_unreadable_logs counts it
    where created_at <= {{ kondado_as_of() }} and id is not null and model_id is not null
)

select id, client_id, model_id, model_name, created_at, updated_at, row_count, execution_time_seconds
from versions
where version_rank = 1
