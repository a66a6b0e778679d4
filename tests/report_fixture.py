"""Small tables shaped like the `kondado` dbt package's models (the report's column contract), for report tests.

Runs are generated per pipeline from a cadence; the health rows are computed from them with the package's
rules (median gap of the latest 21 runs, stalled > 3x, late > 1.5x, ...), so the planted cases are what the
rules say they are. Planted, at AS_OF: 102 failing (status error_building_tables), 103 stalled, 104 late,
108 unknown (3 runs), 106 a zero-row streak, 107 a volume spike, 105 a name full of HTML and quotes;
account 1 crosses its plan this month, account 2 stays under, account 3 has no plan.
"""

from __future__ import annotations

import datetime
import itertools
import random
import statistics
from dataclasses import dataclass
from pathlib import Path

AS_OF = datetime.datetime(2026, 11, 20, 12, 0, 0)
SCHEMA = "analytics"
HOSTILE_NAME = "<script>alert(\"x\")</script> & 'Blog' posts"
PLAN_ROWS = {1: 1_050_000, 2: 2_000_000}  # account 3: none
FAILING = ("error_building_tables", "too_many_consecutive_failed_builds", "too_many_consecutive_failed_builds__blocked")
HISTORY_DAYS = 40


@dataclass
class Item:
    id: int
    client_id: int
    name: str
    every_hours: float
    rows: int
    last_run_hours_ago: float
    status: str = "active"
    status_message: str | None = None
    run_count: int | None = None  # only this many runs (the newest)
    zero_tail: int = 0  # the newest runs that moved 0 rows
    spike: int | None = None  # the newest run's row count
    billable: bool = True


PIPELINES = [
    Item(101, 1, "Shop - orders (hourly)", 1, 800, 0.4),
    Item(102, 1, "CRM - deals", 6, 3000, 40, "error_building_tables", "could not connect to source: timeout (30 s)"),
    Item(103, 2, "Finance - invoices, daily export to the warehouse", 24, 20000, 108),
    Item(104, 2, "Ads - campaigns", 6, 1500, 10),
    Item(105, 3, HOSTILE_NAME, 1, 50, 0.7),
    Item(106, 3, "Support - tickets", 2, 400, 1.5, zero_tail=5, billable=False),
    Item(107, 1, "Shop - refunds", 4, 2000, 2, spike=50_000),
    Item(108, 2, "New - survey answers", 6, 100, 3, run_count=3),
]
MODELS = [
    Item(201, 1, "Sales dashboard", 24, 5000, 5),
    Item(202, 2, "Finance - monthly close", 12, 900, 20),
    Item(203, 3, 'Model "quoted" <b>bold</b>', 6, 300, 1),
]


def runs_of(item: Item) -> list[tuple[datetime.datetime, int, bool]]:
    """(created_at, row_count, is_billable) of the item's runs, oldest first."""
    rng = random.Random(item.id)
    last = AS_OF - datetime.timedelta(hours=item.last_run_hours_ago)
    runs = []
    moment = last
    while moment > AS_OF - datetime.timedelta(days=HISTORY_DAYS):
        runs.append(moment)
        moment -= datetime.timedelta(hours=item.every_hours)
    runs = sorted(runs)[-item.run_count :] if item.run_count else sorted(runs)
    out = []
    for n, at in enumerate(runs):
        jitter = datetime.timedelta(seconds=rng.randint(0, 90))
        rows = round(item.rows * rng.uniform(0.8, 1.2))
        if n >= len(runs) - item.zero_tail:
            rows = 0
        if item.spike is not None and n == len(runs) - 1:
            rows = item.spike
        billable = item.billable and n % 10 != 3  # some runs moved rows that do not count
        out.append((at + jitter if n < len(runs) - 1 else at, rows, billable))
    return out


def health_of(item: Item) -> dict:
    """One health row, computed with the package's rules."""
    runs = runs_of(item)
    times = [r[0] for r in runs]
    latest = times[-21:]
    gaps = [(b - a).total_seconds() / 3600 for a, b in itertools.pairwise(latest)]
    usual = statistics.median(gaps) if gaps else None
    since = (AS_OF - times[-1]).total_seconds() / 3600
    rows = [r[1] for r in runs]
    streak = 0
    for value in reversed(rows):
        if value != 0:
            break
        streak += 1
    before = rows[-21:-1]
    zscore = None
    if len(before) >= 5 and statistics.pstdev(before) > 0:
        zscore = (rows[-1] - statistics.mean(before)) / statistics.pstdev(before)
    if item.status in FAILING:
        health = "failing"
    elif item.status == "not_active":
        health = "inactive"
    elif len(runs) < 4:
        health = "unknown"
    elif since > 3 * usual:
        health = "stalled"
    elif since > 1.5 * usual:
        health = "late"
    else:
        health = "on_time"
    return {
        "client_id": item.client_id,
        "last_run_at": times[-1],
        "runs_last_7d": sum(t > AS_OF - datetime.timedelta(days=7) for t in times),
        "usual_gap_hours": usual,
        "hours_since_last_run": since,
        "health": health,
        "zero_row_streak": streak,
        "zero_row_streak_flagged": streak >= 3,  # as the package's kondado_zero_row_streak_runs decides it
        "unknown_reason": "fewer than 4 runs: no cadence yet" if health == "unknown" else None,
        "last_row_count": rows[-1],
        "row_count_zscore": zscore,
        "volume_anomaly": zscore is not None and abs(zscore) >= 3,
        "status": item.status,
        "status_message": item.status_message,
        "status_observed_at": AS_OF - datetime.timedelta(minutes=5),
    }


def monthly_rows() -> list[dict]:
    """kondado_billable_rows_monthly from the pipeline runs."""
    months: dict[tuple[int, datetime.date], dict] = {}
    for item in PIPELINES:
        for at, rows, billable in runs_of(item):
            key = (item.client_id, at.date().replace(day=1))
            month = months.setdefault(key, {"billable_rows": 0, "free_rows": 0, "runs": 0})
            month["billable_rows" if billable else "free_rows"] += rows
            month["runs"] += 1
    current = AS_OF.date().replace(day=1)
    month_end = datetime.datetime(current.year + (current.month == 12), current.month % 12 + 1, 1)
    out = []
    for (client, month), values in sorted(months.items()):
        plan = PLAN_ROWS.get(client)
        is_current = month == current
        projected = values["billable_rows"]
        limit_date = None
        if is_current:
            start = datetime.datetime.combine(month, datetime.time())
            elapsed = (AS_OF - start).total_seconds()
            projected = round(values["billable_rows"] * (month_end - start).total_seconds() / elapsed)
            if plan is not None and projected > plan:
                limit_date = (start + datetime.timedelta(seconds=plan / values["billable_rows"] * elapsed)).date()
        out.append(
            {
                "client_id": client,
                "month": month,
                **values,
                "is_current_month": is_current,
                "projected_billable_rows": projected,
                "plan_rows": plan,
                "plan_used_pct": None if plan is None else values["billable_rows"] / plan * 100,
                "projected_limit_date": limit_date,
                "projection_note": None if plan else "no_plan",
                "projection_days": (AS_OF - datetime.datetime.combine(month, datetime.time())).total_seconds() / 86400
                if is_current
                else None,
            }
        )
    return out


TABLES = {
    "kondado_pipeline_runs": (
        "id BIGINT, pipeline_id BIGINT, client_id BIGINT, pipeline_name TEXT, created_at TIMESTAMP, "
        "row_count BIGINT, is_billable BOOLEAN, gap_hours DOUBLE PRECISION"
    ),
    "kondado_pipeline_health": (
        "pipeline_id BIGINT, client_id BIGINT, pipeline_name TEXT, last_run_at TIMESTAMP, runs_last_7d BIGINT, "
        "usual_gap_hours DOUBLE PRECISION, hours_since_last_run DOUBLE PRECISION, health TEXT, "
        "zero_row_streak BIGINT, last_row_count BIGINT, row_count_zscore DOUBLE PRECISION, volume_anomaly BOOLEAN, "
        "savepoint_break BOOLEAN, status TEXT, status_message TEXT, status_observed_at TIMESTAMP, "
        "zero_row_streak_flagged BOOLEAN, unknown_reason TEXT"
    ),
    "kondado_model_health": (
        "model_id BIGINT, client_id BIGINT, model_name TEXT, last_run_at TIMESTAMP, runs_last_7d BIGINT, "
        "usual_gap_hours DOUBLE PRECISION, hours_since_last_run DOUBLE PRECISION, health TEXT, "
        "zero_row_streak BIGINT, last_row_count BIGINT, row_count_zscore DOUBLE PRECISION, volume_anomaly BOOLEAN, "
        "status TEXT, status_message TEXT, status_observed_at TIMESTAMP, zero_row_streak_flagged BOOLEAN, "
        "unknown_reason TEXT"
    ),
    "kondado_billable_rows_monthly": (
        "client_id BIGINT, month DATE, billable_rows BIGINT, free_rows BIGINT, runs BIGINT, is_current_month BOOLEAN, "
        "projected_billable_rows BIGINT, plan_rows BIGINT, plan_used_pct DOUBLE PRECISION, projected_limit_date DATE, "
        "projection_note TEXT, projection_days DOUBLE PRECISION"
    ),
}


def table_rows() -> dict[str, list[tuple]]:
    """Every table's rows, in TABLES' column order."""
    runs = []
    log_id = 1000
    for item in PIPELINES:
        previous = None
        for at, rows, billable in runs_of(item):
            log_id += 1
            gap = None if previous is None else (at - previous).total_seconds() / 3600
            runs.append((log_id, item.id, item.client_id, item.name, at, rows, billable, gap))
            previous = at
    pipelines = []
    for item in PIPELINES:
        h = health_of(item)
        pipelines.append((
            item.id, h["client_id"], item.name, h["last_run_at"], h["runs_last_7d"], h["usual_gap_hours"],
            h["hours_since_last_run"], h["health"], h["zero_row_streak"], h["last_row_count"],
            h["row_count_zscore"], h["volume_anomaly"], False, h["status"], h["status_message"],
            h["status_observed_at"], h["zero_row_streak_flagged"], h["unknown_reason"],
        ))  # fmt: skip
    models = []
    for item in MODELS:
        h = health_of(item)
        models.append((
            item.id, h["client_id"], item.name, h["last_run_at"], h["runs_last_7d"], h["usual_gap_hours"],
            h["hours_since_last_run"], h["health"], h["zero_row_streak"], h["last_row_count"],
            h["row_count_zscore"], h["volume_anomaly"], h["status"], h["status_message"], h["status_observed_at"],
            h["zero_row_streak_flagged"], h["unknown_reason"],
        ))  # fmt: skip
    monthly = [tuple(m.values()) for m in monthly_rows()]
    return {
        "kondado_pipeline_runs": runs,
        "kondado_pipeline_health": pipelines,
        "kondado_model_health": models,
        "kondado_billable_rows_monthly": monthly,
    }


def _statements(schema: str) -> list[str]:
    return [f'CREATE SCHEMA IF NOT EXISTS "{schema}"'] + [
        f'CREATE TABLE "{schema}"."{table}" ({columns})' for table, columns in TABLES.items()
    ]


def build_duckdb(path: Path, schema: str = SCHEMA) -> Path:
    """A DuckDB file holding the four models in `schema`."""
    import duckdb

    with duckdb.connect(str(path)) as conn:
        for statement in _statements(schema):
            conn.execute(statement)
        for table, rows in table_rows().items():
            marks = ", ".join("?" * len(rows[0]))
            conn.executemany(f'INSERT INTO "{schema}"."{table}" VALUES ({marks})', rows)  # noqa: S608
    return path


def build_postgres(dsn: str, schema: str = SCHEMA) -> None:
    """The same tables in a PostgreSQL database."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in _statements(schema):
            conn.execute(statement)
        with conn.cursor() as cursor:
            for table, rows in table_rows().items():
                marks = ", ".join(["%s"] * len(rows[0]))
                cursor.executemany(f'INSERT INTO "{schema}"."{table}" VALUES ({marks})', rows)  # noqa: S608
