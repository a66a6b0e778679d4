{#- Incremental builds. The log staging models, the runs and run-hours models and kondado_pipeline_deliveries keep
    every log loaded (kondado_as_of bounds the answers, not them) and rewrite what follows the earliest log updated
    since their last build: every row from its createdAt on, or on Spark from its UTC day on (a day partition is
    what insert_overwrite replaces). -#}

{#- How an engine updates an incremental model: delete+insert where merge is missing or needs PostgreSQL 15;
    insert_overwrite of day partitions on Spark's Parquet tables, which have no merge. -#}
{% macro kondado_incremental_strategy() %}
  {{- return(adapter.dispatch('kondado_incremental_strategy', 'kondado')()) -}}
{% endmacro %}
{% macro default__kondado_incremental_strategy() %}{{ return('merge') }}{% endmacro %}
{% macro postgres__kondado_incremental_strategy() %}{{ return('delete+insert') }}{% endmacro %}
{% macro redshift__kondado_incremental_strategy() %}{{ return('delete+insert') }}{% endmacro %}
{% macro duckdb__kondado_incremental_strategy() %}{{ return('delete+insert') }}{% endmacro %}
{% macro spark__kondado_incremental_strategy() %}{{ return('insert_overwrite') }}{% endmacro %}
{% macro databricks__kondado_incremental_strategy() %}{{ return('merge') }}{% endmacro %}

{#- The day column an engine partitions by (none: not partitioned). -#}
{% macro kondado_partition_by(column) %}
  {{- return(adapter.dispatch('kondado_partition_by', 'kondado')(column)) -}}
{% endmacro %}
{% macro default__kondado_partition_by(column) %}{{ return(none) }}{% endmacro %}
{% macro spark__kondado_partition_by(column) %}{{ return([column]) }}{% endmacro %}
{% macro databricks__kondado_partition_by(column) %}{{ return(none) }}{% endmacro %}
{% macro bigquery__kondado_partition_by(column) %}{{ return({'field': column, 'data_type': 'date'}) }}{% endmacro %}

{#- The indexes of a model on PostgreSQL (found by its lookups of one item's last rows); none elsewhere: DuckDB's
    would only slow its inserts and block dbt-duckdb's drop of a --full-refresh's backup table. -#}
{% macro kondado_indexes(indexes) %}
  {{- return(adapter.dispatch('kondado_indexes', 'kondado')(indexes)) -}}
{% endmacro %}
{% macro default__kondado_indexes(indexes) %}{{ return([]) }}{% endmacro %}
{% macro postgres__kondado_indexes(indexes) %}{{ return(indexes) }}{% endmacro %}

{#- Whether this build adds to the model's table (not a first build, not --full-refresh). Offline, the
    incremental SQL is the one rendered: it is the SQL an hourly build runs. -#}
{% macro kondado_is_incremental() %}
  {{- return(kondado_offline() or is_incremental()) -}}
{% endmacro %}

{#- A naive UTC datetime as a SQL timestamp literal. -#}
{% macro kondado_timestamp_literal(moment) -%}
  cast('{{ moment.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ kondado_type_timestamp() }})
{%- endmacro %}

{#- When this dbt run started, naive UTC: the built_at of the rows it writes. -#}
{% macro kondado_built_at() -%}
  {{ kondado_timestamp_literal(run_started_at.astimezone(modules.pytz.utc).replace(tzinfo=none)) }}
{%- endmacro %}

{#- The var kondado_history_start_date as a timestamp literal (none: empty, all history), checked. -#}
{% macro kondado_history_start() %}
  {%- set value = var('kondado_history_start_date', '') -%}
  {%- if value is none or (value | string | trim) == '' -%}{{ return(none) }}{%- endif -%}
  {%- set text = value | string | trim -%}
  {%- if not modules.re.fullmatch('\d{4}-\d{2}-\d{2}', text) -%}
    {{ exceptions.raise_compiler_error("kondado_history_start_date must be a date such as 2026-01-01, not '" ~ text ~ "'") }}
  {%- endif -%}
  {{ return(kondado_timestamp_literal(modules.datetime.datetime.strptime(text, '%Y-%m-%d'))) }}
{% endmacro %}

{#- `and created_at >= <kondado_history_start_date>`, or nothing. -#}
{% macro kondado_history_condition(column) -%}
  {%- set start = kondado_history_start() -%}
  {%- if start is not none %} and {{ column }} >= {{ start }}{% endif -%}
{%- endmacro %}

{#- Where an incremental build of a log staging model starts rewriting (a timestamp literal): the earliest log
    (of `typed`, the loaded logs typed) new to the model or in a newer version, among those updated since
    kondado_lookback_hours before the latest log the model holds (logs loaded late). None: nothing new. -#}
{% macro kondado_staging_rebuild_start(typed) %}
  {%- set lookback = kondado_number_var('kondado_lookback_hours', 24) -%}
  {%- set newest = kondado_query_moment('select max(created_at) from ' ~ this) -%}
  {%- set query -%}
    with typed as ({{ typed }})
    select min(typed.created_at)
    from typed
    left join {{ this }} as built on built.id = typed.id
    where typed.id is not null {{- kondado_history_condition('typed.created_at') }}
    {%- if newest is not none %}
        {%- set since = kondado_timestamp_literal(newest - modules.datetime.timedelta(hours=lookback)) %}
        -- (each column compared alone: a planner has statistics on them, and then looks the few up by id)
        and (typed.updated_at >= {{ since }} or typed.created_at >= {{ since }})
    {%- endif %}
        -- new, or a version the model does not hold yet (re-emitted unchanged, it rewrites nothing)
        and (
            built.id is null
            or coalesce(typed.updated_at, typed.created_at) > coalesce(built.updated_at, built.created_at)
            or typed.created_at <> built.created_at
        )
  {%- endset -%}
  {{ return(kondado_rebuild_literal(kondado_query_moment(query))) }}
{% endmacro %}

{#- Where an incremental build of a model over `upstream` starts rewriting (a timestamp literal): the earliest row
    (`column`: its createdAt) that `upstream` wrote after this model's latest build. None: nothing new. -#}
{% macro kondado_rebuild_start(upstream, column='created_at') %}
  {%- set moment = kondado_rebuild_start_moment(upstream, column) -%}
  {{ return(none if moment is none else kondado_timestamp_literal(moment)) }}
{% endmacro %}

{#- The same, a datetime (naive UTC). Two queries, so the second compares with a literal: an index on built_at
    serves it. -#}
{% macro kondado_rebuild_start_moment(upstream, column='created_at') %}
  {%- set built = kondado_query_moment('select max(built_at) from ' ~ this) -%}
  {%- set query -%}
    select min({{ column }}) from {{ upstream }}
    {%- if built is not none %} where built_at > {{ kondado_timestamp_literal(built) }}{% endif %}
  {%- endset -%}
  {{ return(kondado_rebuild_unit_start(kondado_query_moment(query))) }}
{% endmacro %}

{#- `moment` (a datetime or none) where the engine's rewrite starts, as a timestamp literal. -#}
{% macro kondado_rebuild_literal(moment) %}
  {%- set start = kondado_rebuild_unit_start(moment) -%}
  {{ return(none if start is none else kondado_timestamp_literal(start)) }}
{% endmacro %}

{#- `moment`, or on an engine that replaces day partitions its UTC midnight. -#}
{% macro kondado_rebuild_unit_start(moment) %}
  {%- if moment is none or kondado_rebuild_unit() != 'day' -%}{{ return(moment) }}{%- endif -%}
  {{ return(modules.datetime.datetime(moment.year, moment.month, moment.day)) }}
{% endmacro %}

{#- What an engine's incremental strategy replaces: 'day' (a partition) or 'row'. -#}
{% macro kondado_rebuild_unit() %}
  {{- return(adapter.dispatch('kondado_rebuild_unit', 'kondado')()) -}}
{% endmacro %}
{% macro default__kondado_rebuild_unit() %}{{ return('row') }}{% endmacro %}
{% macro spark__kondado_rebuild_unit() %}{{ return('day') }}{% endmacro %}
{% macro databricks__kondado_rebuild_unit() %}{{ return('row') }}{% endmacro %}

{#- The one value `query` selects, as a naive UTC datetime; none when null (an empty table). Offline, kondado_as_of. -#}
{% macro kondado_query_moment(query) %}
  {%- if not execute -%}{{ return(none) }}{%- endif -%}
  {%- if kondado_offline() -%}{{ return(kondado_as_of_datetime()) }}{%- endif -%}
  {%- set settings = kondado_model_settings() -%}
  {%- if settings %}{% do run_query(settings) %}{% endif -%}
  {%- set moment = run_query(query).columns[0].values()[0] -%}
  {%- if moment is none -%}{{ return(none) }}{%- endif -%}
  {%- if moment is string -%}{%- set moment = modules.datetime.datetime.fromisoformat(moment) -%}{%- endif -%}
  {%- if moment.tzinfo is not none -%}{%- set moment = moment.astimezone(modules.pytz.utc).replace(tzinfo=none) -%}{%- endif -%}
  {%- if moment.hour is not defined -%}{%- set moment = modules.datetime.datetime(moment.year, moment.month, moment.day) -%}{%- endif -%}
  {{ return(moment) }}
{% endmacro %}

{#- The rows an incremental build writes: `column` on or after `start` (none: none at all); a full build, all.
    A condition to append to a where clause. -#}
{% macro kondado_rebuilt_rows(column, start, incremental) -%}
  {%- if incremental -%}
    {%- if start is none %} and 1 = 0{% else %} and {{ column }} >= {{ start }}{% endif -%}
  {%- endif -%}
{%- endmacro %}

{#- Before each model, in its transaction: on PostgreSQL, no JIT compilation. Its cost estimate for these queries
    is high enough to compile every one, which takes longer than running them (health on 3.9 million logs: 4.4 s
    with JIT, 1.4 s without). -#}
{% macro kondado_model_settings() %}
  {{- return(adapter.dispatch('kondado_model_settings', 'kondado')()) -}}
{% endmacro %}
{% macro default__kondado_model_settings() %}{{ return('') }}{% endmacro %}
{% macro postgres__kondado_model_settings() %}{{ return('set local jit = off') }}{% endmacro %}
{% macro redshift__kondado_model_settings() %}{{ return('') }}{% endmacro %}

{#- After each model, in its transaction: on DuckDB, drop what a --full-refresh of an incremental model renamed
    to <name>__dbt_backup; dbt-duckdb drops it after the commit in a statement that is never committed, and the
    table stays. -#}
{% macro kondado_model_cleanup() %}
  {{- return(adapter.dispatch('kondado_model_cleanup', 'kondado')()) -}}
{% endmacro %}
{% macro default__kondado_model_cleanup() %}{{ return('') }}{% endmacro %}
{% macro duckdb__kondado_model_cleanup() %}
  {%- if model.config.materialized != 'incremental' -%}{{ return('') }}{%- endif -%}
  {{ return('drop table if exists ' ~ this.incorporate(path={'identifier': this.identifier ~ '__dbt_backup'})) }}
{% endmacro %}
