{#- `timestamp` (naive UTC, as the tap's columns) in the time zone `zone` (naive local), and back. PostgreSQL and
    DuckDB read `at time zone` alike: naive to an instant, an instant to naive. -#}
{% macro kondado_to_local(timestamp, zone) -%}
  {{- return(adapter.dispatch('kondado_to_local', 'kondado')(timestamp, zone)) -}}
{%- endmacro %}
{% macro default__kondado_to_local(timestamp, zone) -%}
  (({{ timestamp }}) at time zone 'UTC') at time zone '{{ zone }}'
{%- endmacro %}
{% macro kondado_from_local(timestamp, zone) -%}
  {{- return(adapter.dispatch('kondado_from_local', 'kondado')(timestamp, zone)) -}}
{%- endmacro %}
{% macro default__kondado_from_local(timestamp, zone) -%}
  (({{ timestamp }}) at time zone '{{ zone }}') at time zone 'UTC'
{%- endmacro %}

{#- Spark has no `at time zone`; its timestamps are read in the session's zone, UTC in the profile. -#}
{% macro spark__kondado_to_local(timestamp, zone) -%}
  from_utc_timestamp({{ timestamp }}, '{{ zone }}')
{%- endmacro %}
{% macro spark__kondado_from_local(timestamp, zone) -%}
  to_utc_timestamp({{ timestamp }}, '{{ zone }}')
{%- endmacro %}

{#- Snowflake has no `at time zone`; it and Redshift convert a naive timestamp from one zone to another with
    convert_timezone(source, target, timestamp), naive again. -#}
{% macro snowflake__kondado_to_local(timestamp, zone) -%}
  convert_timezone('UTC', '{{ zone }}', {{ timestamp }})
{%- endmacro %}
{% macro snowflake__kondado_from_local(timestamp, zone) -%}
  convert_timezone('{{ zone }}', 'UTC', {{ timestamp }})
{%- endmacro %}
{% macro redshift__kondado_to_local(timestamp, zone) -%}
  {{ snowflake__kondado_to_local(timestamp, zone) }}
{%- endmacro %}
{% macro redshift__kondado_from_local(timestamp, zone) -%}
  {{ snowflake__kondado_from_local(timestamp, zone) }}
{%- endmacro %}

{#- BigQuery: the package's timestamps are DATETIMEs (kondado_type_timestamp); timestamp(naive, zone) reads one
    in a zone (UTC by default) as an instant, datetime(instant, zone) the wall clock there. -#}
{% macro bigquery__kondado_to_local(timestamp, zone) -%}
  datetime(timestamp({{ timestamp }}), '{{ zone }}')
{%- endmacro %}
{% macro bigquery__kondado_from_local(timestamp, zone) -%}
  datetime(timestamp({{ timestamp }}, '{{ zone }}'))
{%- endmacro %}
