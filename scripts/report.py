"""What a Kondado user wants to see from the loaded logs: a short text report from the DuckDB file.

Reads target-duckdb's layout: schema `tap_kondado`, tables `pipeline_logs` and `model_logs`,
column names lower-cased (`createdat`); and, in `render_health`, the kondado dbt package's models
in schema `analytics` (transform/).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

SCHEMA = "tap_kondado"
MODELS = "analytics"  # where the dbt-duckdb utility builds the kondado package (meltano.yml)
STREAMS = ("pipeline_logs", "model_logs")
# The status streams, when the run selected them (the demo does): one row per id per run, by observed_at.
STATUS_STREAMS = ("pipeline_status", "model_status")
BUSIEST = 5  # pipelines / models shown
DAYS = 7  # days of billable rows shown
NAME_WIDTH = 44

_LATEST_OF_BUSIEST = """
WITH runs AS (
    SELECT {key} AS item_id, {name} AS item_name, createdat, row_count, execution_time_seconds,
           count(*) OVER (PARTITION BY {key}) AS run_count,
           row_number() OVER (PARTITION BY {key} ORDER BY createdat DESC, id DESC) AS recency
    FROM {schema}.{table}
)
SELECT item_name, item_id, run_count, createdat, row_count, execution_time_seconds
FROM runs WHERE recency = 1
ORDER BY run_count DESC, item_id
LIMIT {limit}
"""

_BILLABLE_PER_DAY = """
SELECT CAST(createdat AS DATE) AS day, client_id, sum(row_count) AS billable_rows
FROM {schema}.pipeline_logs
WHERE is_billable
GROUP BY ALL
"""


_TABLES = "SELECT table_name FROM information_schema.tables WHERE table_schema = ?"


def counts(db_path: Path) -> dict[str, int]:
    """Rows per stream table (0 for a missing file or table)."""
    if not db_path.exists():
        return dict.fromkeys(STREAMS + STATUS_STREAMS, 0)
    found = dict.fromkeys(STREAMS + STATUS_STREAMS, 0)
    with duckdb.connect(str(db_path), read_only=True) as conn:
        tables = conn.execute(_TABLES, [SCHEMA])
        for (table,) in tables.fetchall():
            if table in found:
                found[table] = conn.execute(f"SELECT count(*) FROM {SCHEMA}.{table}").fetchone()[0]  # noqa: S608
    return found


def render(db_path: Path, before: dict[str, int]) -> str:
    """The report; `before` holds the row counts from before this run."""
    with duckdb.connect(str(db_path), read_only=True) as conn:
        lines = [f"Kondado run logs in {db_path} (schema {SCHEMA})", ""]
        lines += _streams(conn, before)
        lines += ["", "Busiest pipelines, latest run each (UTC):"]
        lines += _busiest(conn, "pipeline_logs", "pipeline_id", "pipeline_name")
        lines += ["", "Busiest models, latest run each (UTC):"]
        lines += _busiest(conn, "model_logs", "model_id", "model_name")
        lines += ["", f"Billable rows per account per day (pipeline runs, last {DAYS} days with runs, UTC):"]
        lines += _billable(conn)
    return "\n".join(lines)


def _streams(conn: duckdb.DuckDBPyConnection, before: dict[str, int]) -> list[str]:
    lines = [f"  {'stream':<14} {'rows':>7} {'this run':>9}  {'accounts':>8}  {'oldest log':<16}  {'newest log':<16}"]
    for stream in STREAMS:
        rows, accounts, oldest, newest = conn.execute(
            f"SELECT count(*), count(DISTINCT client_id), min(createdat), max(createdat) FROM {SCHEMA}.{stream}"  # noqa: S608
        ).fetchone()
        added = f"+{rows - before.get(stream, 0):,}"
        lines.append(f"  {stream:<14} {rows:>7,} {added:>9}  {accounts:>8}  {_when(oldest):<16}  {_when(newest):<16}")
    landed = {row[0] for row in conn.execute(_TABLES, [SCHEMA]).fetchall()}
    for stream in (s for s in STATUS_STREAMS if s in landed):
        key = stream.replace("_status", "_id")
        rows, ids, newest = conn.execute(
            f"SELECT count(*), count(DISTINCT {key}), max(observed_at) FROM {SCHEMA}.{stream}"  # noqa: S608
        ).fetchone()
        added = f"+{rows - before.get(stream, 0):,}"
        lines.append(f"  {stream:<15}{rows:>7,} {added:>9}  {ids:>3} ids, the latest asked at {_when(newest)}")
    return lines


def _busiest(conn: duckdb.DuckDBPyConnection, table: str, key: str, name: str) -> list[str]:
    query = _LATEST_OF_BUSIEST.format(key=key, name=name, schema=SCHEMA, table=table, limit=BUSIEST)
    width = NAME_WIDTH
    lines = [f"  {'name (#id)':<{width}} {'runs':>5}  {'latest run':<16} {'rows':>9} {'seconds':>8}"]
    for item_name, item_id, run_count, created, row_count, seconds in conn.execute(query).fetchall():
        suffix = f" (#{item_id})"
        label = f"{item_name[: width - len(suffix)]}{suffix}"
        lines.append(
            f"  {label:<{width}} {run_count:>5}  {_when(created):<16} {_num(row_count):>9} {_secs(seconds):>8}"
        )
    return lines


def _billable(conn: duckdb.DuckDBPyConnection) -> list[str]:
    rows = conn.execute(_BILLABLE_PER_DAY.format(schema=SCHEMA)).fetchall()
    if not rows:
        return ["  (no billable runs)"]
    accounts = sorted({client for _, client, _ in rows})
    per_day: dict = {}
    for day, client, billable in rows:
        per_day.setdefault(day, {})[client] = billable
    days = sorted(per_day)[-DAYS:]
    header = "  " + f"{'day':<14}" + "".join(f"{'account ' + str(a):>13}" for a in accounts)
    lines = [header]
    for day in days:
        lines.append("  " + f"{day.isoformat():<14}" + "".join(f"{_num(per_day[day].get(a)):>13}" for a in accounts))
    totals = {a: sum(v.get(a) or 0 for v in per_day.values()) for a in accounts}
    span = f"all {len(per_day)} days"
    lines.append("  " + f"{span:<14}" + "".join(f"{_num(totals[a]):>13}" for a in accounts))
    return lines


def _when(moment: object) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "-"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{int(value):,}"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


# --- the kondado dbt package's answers ----------------------------------------------------

_NOT_ON_TIME = """
SELECT kind, item_id, item_name, health, hours_since_last_run, expected_gap_hours, zero_row_streak,
       volume_anomaly, savepoint_break, status_message, runs, history_days, schedule_summary,
       next_run_due_local, runs_missed, slow_run, last_execution_seconds, usual_execution_seconds
FROM (
    SELECT 'pipeline' AS kind, pipeline_id AS item_id, pipeline_name AS item_name, health, hours_since_last_run,
           expected_gap_hours, zero_row_streak, volume_anomaly, savepoint_break, status_message, runs, history_days,
           schedule_summary, next_run_due_local, runs_missed, slow_run, last_execution_seconds, usual_execution_seconds
    FROM {models}.kondado_pipeline_health
    UNION ALL
    SELECT 'model', model_id, model_name, health, hours_since_last_run, expected_gap_hours, zero_row_streak,
           volume_anomaly, false, status_message, runs, history_days, schedule_summary, next_run_due_local,
           runs_missed, slow_run, last_execution_seconds, usual_execution_seconds
    FROM {models}.kondado_model_health
) items
WHERE health <> 'on_time' OR zero_row_streak > 0 OR volume_anomaly OR savepoint_break OR slow_run
ORDER BY CASE health WHEN 'failing' THEN 0 WHEN 'stalled' THEN 1 WHEN 'late' THEN 2 WHEN 'inactive' THEN 3
         WHEN 'unknown' THEN 4 ELSE 5 END, kind DESC, item_id
"""

_THIS_MONTH = """
SELECT client_id, billable_rows, projected_billable_rows, plan_rows, plan_used_pct, projected_limit_date
FROM {models}.kondado_billable_rows_monthly
WHERE is_current_month
ORDER BY client_id
"""


def render_health(db_path: Path) -> str:
    """The pipelines and models not on time or with a warning, each with why, and this month against each plan."""
    with duckdb.connect(str(db_path), read_only=True) as conn:
        as_of = conn.execute(f"SELECT max(kondado_as_of) FROM {MODELS}.kondado_pipeline_health").fetchone()[0]  # noqa: S608
        lines = [f"Pipelines and models to look at (kondado dbt package, schema {MODELS}, as of {_when(as_of)} UTC):"]
        lines.append(f"  {'name (#id)':<{NAME_WIDTH}} {'health':<8} {'silent':>7} {'gap':>6}  why")
        result = conn.execute(_NOT_ON_TIME.format(models=MODELS))
        names = [d[0] for d in result.description]
        for item in (dict(zip(names, row, strict=True)) for row in result.fetchall()):
            suffix = f" ({'model ' if item['kind'] == 'model' else ''}#{item['item_id']})"
            label = f"{(item['item_name'] or '')[: NAME_WIDTH - len(suffix)]}{suffix}"
            since, gap = _hours(item["hours_since_last_run"]), _hours(item["expected_gap_hours"])
            lines.append(f"  {label:<{NAME_WIDTH}} {item['health']:<8} {since:>7} {gap:>6}  {'; '.join(_why(item))}")
        lines += ["", "This month's billable rows against the plan (projection: this month's pace to its end):"]
        lines.append(f"  {'account':<8} {'so far':>11} {'projected':>11} {'plan':>11} {'used':>7}  plan reached")
        for client, billable, projected, plan, used, limit in conn.execute(
            _THIS_MONTH.format(models=MODELS)
        ).fetchall():
            used_text = "-" if used is None else f"{float(used):.0f}%"
            reached = limit.isoformat() if limit else ("-" if plan is None else "not this month")
            lines.append(
                f"  {client:<8} {_num(billable):>11} {_num(projected):>11} {_num(plan):>11} {used_text:>7}  {reached}"
            )
    return "\n".join(lines)


def _why(item: dict) -> list[str]:
    """Every row says why it is listed: its health's reason first, then its warnings."""
    health, message, missed, slow = item["health"], item["status_message"], item["runs_missed"], item["slow_run"]
    reasons = []
    if health == "failing":
        reasons.append(message or "its latest status is a failure")
    elif health == "inactive":
        reasons.append("switched off in Kondado" + (f": {message}" if message else ""))
    elif health in ("stalled", "late") and missed:
        due = item["next_run_due_local"]
        when = f"due {due:%a %H:%M} local, " if due is not None else ""
        reasons.append(f"{when}{missed} run{'s' if missed != 1 else ''} missed ({item['schedule_summary']})")
    elif health == "unknown":
        reasons.append(f"too little history to judge: {item['runs']} runs ({item['schedule_summary']})")
    if item["zero_row_streak"]:
        reasons.append(f"{item['zero_row_streak']} runs with 0 rows")
    if item["volume_anomaly"]:
        reasons.append("volume spike")
    last, usual = item["last_execution_seconds"], item["usual_execution_seconds"]
    if slow and last is not None and usual is not None:
        reasons.append(f"slow run: {float(last):,.0f} s against a usual {float(usual):,.0f} s")
    if item["savepoint_break"]:
        reasons.append("savepoint break")
    return reasons


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}h"
