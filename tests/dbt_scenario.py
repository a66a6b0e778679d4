"""What the `kondado` dbt package must find in the simulator's planted scenario, computed here in Python.

Shared by tests/test_dbt_duckdb.py and tests/test_dbt_postgres.py: each runs the real tap into its
warehouse through Meltano, builds the package with Meltano's dbt utility, and compares the models
with what follows.
"""

from __future__ import annotations

import calendar
import datetime
import json
import math
from collections import defaultdict
from typing import Any

from tap_kondado.simulator import Simulator
from tap_kondado.simulator import scenario as planted
from tap_kondado.simulator.server import DEFAULT_LIMITS
from tests.meltano_helpers import DEMO_TIME_SCALE
from tests.tap_runner import TEST_KEY, TEST_TOKENS

DAYS = 35  # the current month and the one before: ~4,100 visible pipeline logs, ~1,200 model logs
VISIBLE = {1, 2, 3}  # the test token's accounts (4 is hidden)
# Written both ways on purpose: the var takes client ids as numbers or as strings.
PLAN_VARS = {"3": planted.PLAN_ROWS[3], 1: planted.PLAN_ROWS[1]}
PLANS = {1: planted.PLAN_ROWS[1], 3: planted.PLAN_ROWS[3]}
STATUS_SCHEMA = "tap_kondado"


def scenario_simulator() -> Simulator:
    """The planted scenario, served at the simulator's (scaled) Kondado limits."""
    return Simulator(
        scenario=True, days=DAYS, tokens=TEST_TOKENS, rate_limits=DEFAULT_LIMITS, time_scale=DEMO_TIME_SCALE
    ).start()


def as_of_of(sim: Simulator) -> datetime.datetime:
    """The fixed `kondado_as_of` of the tests: the simulator's now, to the second (naive UTC)."""
    return sim.now.replace(microsecond=0, tzinfo=None)


def build_vars(as_of: datetime.datetime, **more: Any) -> str:
    return json.dumps({"kondado_as_of": as_of.isoformat() + "Z", "kondado_plan_rows": PLAN_VARS, **more})


# --- the flagged sets ----------------------------------------------------------


def expected_health(*, with_statuses: bool) -> dict[str, set[int]]:
    """Pipeline ids per health. Without the status tables the silent failing ones are just stalled."""
    visible = {p.item_id: p.anomaly for p in planted.PIPELINES if p.client_id in VISIBLE}
    by_anomaly = {
        "failing": {"failing", "blocked"},
        "inactive": {"not_active"},
        "unknown": {"new"},
        "stalled": {"stalled"},
        "late": {"late"},
    }
    if not with_statuses:
        by_anomaly["stalled"] |= by_anomaly.pop("failing") | by_anomaly.pop("inactive")
    health: dict[str, set[int]] = defaultdict(set)
    for item_id, anomaly in visible.items():
        label = next((h for h, anomalies in by_anomaly.items() if anomaly in anomalies), "on_time")
        health[label].add(item_id)
    return dict(health)


def expected_model_health(*, with_statuses: bool) -> dict[str, set[int]]:
    visible = {m.item_id: m.anomaly for m in planted.MODELS if m.client_id in VISIBLE}
    health: dict[str, set[int]] = defaultdict(set)
    for item_id, anomaly in visible.items():
        if anomaly == "failing":
            health["failing" if with_statuses else "stalled"].add(item_id)
        else:
            health[anomaly or "on_time"].add(item_id)
    return dict(health)


def by_health(rows: list[dict[str, Any]], key: str) -> dict[str, set[int]]:
    health: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        health[row["health"]].add(int(row[key]))
    return dict(health)


def planted_anomalies() -> dict[str, set[int]]:
    """Pipeline ids the volume and savepoint columns must flag."""
    return {
        "zero_rows": planted.flagged("zero_rows", clients=VISIBLE),
        "spike": planted.flagged("spike", clients=VISIBLE),
        "savepoint_break": planted.flagged("savepoint_break", clients=VISIBLE),
    }


# --- the status tables (issue 14's contract), written by the tests until the tap syncs them ---


def status_rows(sim: Simulator, observed_at: datetime.datetime) -> dict[str, list[tuple]]:
    """Rows of pipeline_status and model_status: the simulator's planted statuses, observed at `observed_at`;
    an older observation of each too (the latest must win)."""
    names = {p.item_id: (p.client_id, p.name) for p in (*planted.PIPELINES, *planted.MODELS)}
    earlier = observed_at - datetime.timedelta(days=10)
    rows: dict[str, list[tuple]] = {"pipeline_status": [], "model_status": []}
    for item_id, status in sim.statuses["pipelines"].items():
        client, name = names[item_id]
        if client not in VISIBLE:
            continue
        for moment, state in ((earlier, "success"), (observed_at, status["status"])):
            rows["pipeline_status"].append(
                (
                    item_id,
                    client,
                    name,
                    state,
                    status["is_running"],
                    status["is_active"],
                    status["is_blocked"],
                    status["raw_msg"],
                    moment,
                )
            )
    for item_id, status in sim.statuses["models"].items():
        client, name = names[item_id]
        if client not in VISIBLE:
            continue
        kubo = "error" if status["status"] != "success" else "success"
        for moment, state in ((earlier, "success"), (observed_at, status["status"])):
            rows["model_status"].append(
                (
                    item_id,
                    client,
                    name,
                    state,
                    status["is_running"],
                    status["is_active"],
                    kubo,
                    status["raw_msg"],
                    moment,
                )
            )
    return rows


STATUS_DDL = {
    "pipeline_status": "pipeline_id integer, client_id integer, pipeline_name text, status text, "
    "is_running boolean, is_active boolean, is_blocked boolean, raw_msg text, observed_at timestamp, "
    "primary key (pipeline_id, observed_at)",
    "model_status": "model_id integer, client_id integer, model_name text, status text, is_running boolean, "
    "is_active boolean, kubo_status_type text, raw_msg text, observed_at timestamp, "
    "primary key (model_id, observed_at)",
}


# --- the monthly numbers, independently ----------------------------------------


def expected_monthly(sim: Simulator, as_of: datetime.datetime, plans: dict[int, int]) -> dict[tuple, dict]:
    """{(client_id, month): row} from the simulator's records as the tap sees them, created by `as_of`."""
    months: dict[tuple, dict[str, int]] = defaultdict(lambda: {"billable_rows": 0, "free_rows": 0, "runs": 0})
    for record in sim.visible("pipeline_logs", TEST_KEY):
        created = datetime.datetime.strptime(record["createdAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
        if created > as_of:
            continue
        row = months[(record["client_id"], created.date().replace(day=1))]
        row["billable_rows" if record["is_billable"] else "free_rows"] += int(record["row_count"])
        row["runs"] += 1
    this_month = as_of.date().replace(day=1)
    month_start = datetime.datetime.combine(this_month, datetime.time())
    elapsed = int((as_of - month_start).total_seconds())
    month_seconds = calendar.monthrange(as_of.year, as_of.month)[1] * 86_400
    expected = {}
    for (client, month), row in months.items():
        current = month == this_month
        billable, plan = row["billable_rows"], plans.get(client)
        projected = math.floor(float(billable) * month_seconds / elapsed) if current else billable
        limit_date = None
        if current and billable > 0 and plan is not None:
            limit_seconds = float(plan) * elapsed / billable
            if limit_seconds < month_seconds:
                limit_date = (month_start + datetime.timedelta(seconds=math.floor(limit_seconds))).date()
        expected[(client, month)] = {
            **row,
            "is_current_month": current,
            "projected_billable_rows": projected,
            "plan_rows": plan,
            "plan_used_pct": None if plan is None else round(100 * billable / plan, 2),
            "projected_limit_date": limit_date,
        }
    return expected


def monthly_as_loaded(rows: list[dict[str, Any]]) -> dict[tuple, dict]:
    """The model's rows in expected_monthly's form (numbers as ints and floats)."""
    loaded = {}
    for row in rows:
        pct = row["plan_used_pct"]
        loaded[(int(row["client_id"]), row["month"])] = {
            "billable_rows": int(row["billable_rows"]),
            "free_rows": int(row["free_rows"]),
            "runs": int(row["runs"]),
            "is_current_month": bool(row["is_current_month"]),
            "projected_billable_rows": int(row["projected_billable_rows"]),
            "plan_rows": None if row["plan_rows"] is None else int(row["plan_rows"]),
            "plan_used_pct": None if pct is None else round(float(pct), 2),
            "projected_limit_date": row["projected_limit_date"],
        }
    return loaded
