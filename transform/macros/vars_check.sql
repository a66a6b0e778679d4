{#- on-run-start: a kondado_* var given on the command line (--vars, as `meltano invoke dbt-duckdb build --vars`
    passes it) that the package does not declare stops the run, naming the closest declared one: a misspelt
    var (kondado_plan_row) is otherwise silently ignored and its default used. -#}
{% macro kondado_check_vars() %}
  {%- set given = invocation_args_dict.get('vars') or {} -%}
  {%- set declared = kondado_declared_vars() -%}
  {%- for name in (given.keys() if given is mapping else []) | sort
      if name is string and name.startswith('kondado_') and name not in declared -%}
    {%- set ns = namespace(best=none, distance=none) -%}
    {%- for candidate in declared -%}
      {%- set distance = kondado_edit_distance(name, candidate) -%}
      {%- if ns.distance is none or distance < ns.distance -%}
        {%- set ns.best, ns.distance = candidate, distance -%}
      {%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("unknown var " ~ name ~ " (the kondado package would ignore it): did you mean " ~ ns.best ~ "?") }}
  {%- endfor -%}
  select 1
{% endmacro %}

{#- The vars dbt_project.yml declares (a test keeps the two lists equal). -#}
{% macro kondado_declared_vars() %}
  {{ return([
    'kondado_source_schema', 'kondado_as_of', 'kondado_plan_rows', 'kondado_health_severity',
    'kondado_delivery_min_rows', 'kondado_projection_min_hours', 'kondado_loader_time_zone', 'kondado_time_zone',
    'kondado_min_runs', 'kondado_min_history_days', 'kondado_schedule_days', 'kondado_schedule_min_share',
    'kondado_gap_runs', 'kondado_late_after_gaps', 'kondado_late_min_minutes', 'kondado_stalled_runs_missed',
    'kondado_expected_gap_hours', 'kondado_baseline_runs', 'kondado_min_baseline_runs', 'kondado_volume_zscore',
    'kondado_duration_zscore', 'kondado_zero_row_streak_runs', 'kondado_offline', 'kondado_history_start_date',
    'kondado_lookback_hours',
  ]) }}
{% endmacro %}

{#- Levenshtein's distance: the fewest one-character inserts, deletes and changes from `a` to `b`. -#}
{% macro kondado_edit_distance(a, b) %}
  {%- set ns = namespace(previous=range(b | length + 1) | list) -%}
  {%- for i in range(1, a | length + 1) -%}
    {%- set row = [i] -%}
    {%- for j in range(1, b | length + 1) -%}
      {%- do row.append([ns.previous[j] + 1, row[j - 1] + 1, ns.previous[j - 1] + (0 if a[i - 1] == b[j - 1] else 1)] | min) -%}
    {%- endfor -%}
    {%- set ns.previous = row -%}
  {%- endfor -%}
  {{ return(ns.previous[-1]) }}
{% endmacro %}
