{#- Loaded times as naive UTC, whatever the column's type and the session's time zone.

    A `timestamp with time zone` is an instant: converted to UTC. A `timestamp` (no zone) is wall-clock time in
    the loader's zone, the var kondado_loader_time_zone: UTC by default, which is what meltano.yml's
    target-postgres writes (PGTZ=UTC) and target-duckdb writes; a warehouse loaded in local time names its zone.
    A plain cast would read both in the session's zone, which is the server's or the machine's. -#}

{#- {column name (lower case): data type (lower case)} of a relation; {} at parse time, offline (kondado_offline:
    the types unknown, read as naive) or when it is absent. -#}
{% macro kondado_column_types(relation) %}
  {%- set types = {} -%}
  {%- if execute and relation is not none and not kondado_offline() -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
      {%- do types.update({column.name | lower: column.data_type | lower}) -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(types) }}
{% endmacro %}

{#- `expression` (of SQL type `data_type`, as kondado_column_types gives it) as a naive UTC timestamp. -#}
{% macro kondado_utc(expression, data_type) %}
  {%- set type_text = (data_type or '') | lower -%}
  {#- an instant: PostgreSQL's and DuckDB's names, then Snowflake's -#}
  {%- if 'with time zone' in type_text or 'timestamptz' in type_text
      or 'timestamp_tz' in type_text or 'timestamp_ltz' in type_text -%}
    {{- return(adapter.dispatch('kondado_instant_as_utc', 'kondado')(expression)) -}}
  {%- endif -%}
  {%- set zone = kondado_loader_time_zone() -%}
  {%- if zone == 'UTC' -%}
    {{- return('cast(' ~ expression ~ ' as ' ~ kondado_type_timestamp() ~ ')') -}}
  {%- endif -%}
  {{- return(adapter.dispatch('kondado_wall_clock_as_utc', 'kondado')(
      'cast(' ~ expression ~ ' as ' ~ kondado_type_timestamp() ~ ')', zone)) -}}
{% endmacro %}

{#- The var kondado_loader_time_zone, checked: an IANA zone name (America/Sao_Paulo) or UTC. -#}
{% macro kondado_loader_time_zone() %}
  {%- set zone = var('kondado_loader_time_zone', 'UTC') | string | trim -%}
  {%- if zone | upper in ('', 'UTC', 'Z', 'ETC/UTC', 'GMT') -%}{{ return('UTC') }}{%- endif -%}
  {%- if zone not in modules.pytz.all_timezones_set -%}
    {{ exceptions.raise_compiler_error("kondado_loader_time_zone must be a time zone name such as America/Sao_Paulo, not '" ~ zone ~ "'") }}
  {%- endif -%}
  {{ return(zone) }}
{% endmacro %}

{% macro default__kondado_instant_as_utc(expression) -%}
  ({{ expression }} at time zone 'UTC')
{%- endmacro %}
{% macro duckdb__kondado_instant_as_utc(expression) -%}
  timezone('UTC', {{ expression }})
{%- endmacro %}

{% macro default__kondado_wall_clock_as_utc(expression, zone) -%}
  (({{ expression }} at time zone '{{ zone }}') at time zone 'UTC')
{%- endmacro %}
{% macro duckdb__kondado_wall_clock_as_utc(expression, zone) -%}
  timezone('UTC', timezone('{{ zone }}', {{ expression }}))
{%- endmacro %}
{% macro spark__kondado_wall_clock_as_utc(expression, zone) -%}
  to_utc_timestamp({{ expression }}, '{{ zone }}')
{%- endmacro %}

{#- Snowflake and Redshift: convert_timezone (Snowflake has no `at time zone`); BigQuery reads a TIMESTAMP (an
    instant) as UTC when it casts it to the package's DATETIME, and a DATETIME in a zone with timestamp(x, zone). -#}
{% macro snowflake__kondado_instant_as_utc(expression) -%}
  cast(convert_timezone('UTC', {{ expression }}) as timestamp_ntz)
{%- endmacro %}
{% macro redshift__kondado_instant_as_utc(expression) -%}
  convert_timezone('UTC', {{ expression }})
{%- endmacro %}
{% macro snowflake__kondado_wall_clock_as_utc(expression, zone) -%}
  convert_timezone('{{ zone }}', 'UTC', {{ expression }})
{%- endmacro %}
{% macro redshift__kondado_wall_clock_as_utc(expression, zone) -%}
  {{ snowflake__kondado_wall_clock_as_utc(expression, zone) }}
{%- endmacro %}
{% macro bigquery__kondado_wall_clock_as_utc(expression, zone) -%}
  datetime(timestamp({{ expression }}, '{{ zone }}'))
{%- endmacro %}
