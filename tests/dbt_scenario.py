"""What the `kondado` dbt package must find in the simulator's planted scenario, computed here in Python.

Shared by tests/test_dbt_duckdb.py and tests/test_dbt_postgres.py: each runs the real tap into its
warehouse through Meltano, builds the package with Meltano's dbt utility, and compares the models
with what follows. The status tables come from the tap too, from a run that selects its status streams.
"""

from __future__ import annotations

import calendar
import datetime
import json
import math
import re
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
import yaml

from tap_kondado.conversion import to_id, to_integer
from tap_kondado.simulator import Simulator
from tap_kondado.simulator import scenario as planted
from tap_kondado.simulator import server as simulator_server
from tap_kondado.simulator.server import DEFAULT_LIMITS
from tap_kondado.times import parse_time
from tests.meltano_helpers import DEMO_TIME_SCALE, PROJECT_ROOT, meltano
from tests.tap_runner import TEST_KEY, TEST_TOKENS

DAYS = 35  # the current month and the one before: ~4,100 visible pipeline logs, ~1,200 model logs
# Every planted item ran in the last 5 days, well within the status streams' status_days (default 30): each is
# asked about. The log streams run first in a tap run (the SDK syncs streams in name order) and remember them.
VISIBLE = {1, 2, 3}  # the test token's accounts (4 is hidden)
# Written both ways on purpose: the var takes client ids as numbers or as strings.
PLAN_VARS = {"3": planted.PLAN_ROWS[3], 1: planted.PLAN_ROWS[1]}
PLANS = {1: planted.PLAN_ROWS[1], 3: planted.PLAN_ROWS[3]}
STATUS_SCHEMA = "tap_kondado"
PROJECTION_MIN_HOURS = 24  # the var kondado_projection_min_hours's default


def scenario_simulator(now: datetime.datetime | None = None) -> Simulator:
    """The planted scenario, served at the simulator's (scaled) Kondado limits. With `now` (aware UTC), its logs
    are generated as of that moment instead of the clock's: two simulators with one `now` serve the same logs."""
    if now is None:
        return Simulator(
            scenario=True, days=DAYS, tokens=TEST_TOKENS, rate_limits=DEFAULT_LIMITS, time_scale=DEMO_TIME_SCALE
        ).start()
    with mock.patch.object(simulator_server, "datetime", _FrozenDatetimeModule(now)):
        sim = Simulator(
            scenario=True, days=DAYS, tokens=TEST_TOKENS, rate_limits=DEFAULT_LIMITS, time_scale=DEMO_TIME_SCALE
        )
    return sim.start()


class _FrozenDatetimeModule:
    """The `datetime` module as the simulator's constructor sees it: `datetime.now()` is a fixed moment."""

    def __init__(self, now: datetime.datetime) -> None:
        frozen = now

        class _Datetime(datetime.datetime):
            @classmethod
            def now(cls, tz: datetime.tzinfo | None = None) -> datetime.datetime:  # noqa: ARG003
                return frozen

        self.datetime = _Datetime
        self.timezone = datetime.timezone
        self.timedelta = datetime.timedelta
        self.date = datetime.date
        self.time = datetime.time


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
        "stalled": {"stalled", "stopped"},
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
        elif anomaly in ("stalled", "stopped"):
            health["stalled"].add(item_id)
        else:
            health["on_time"].add(item_id)
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
        "slow": planted.flagged("slow", clients=VISIBLE),
    }


# --- the status tables, landed by the tap ---------------------

# The log streams and the status streams, as a user selects them for one run (README, "Pipelines that went
# quiet"): meltano.yml selects the log streams only.
SELECT_WITH_STATUSES = json.dumps(["pipeline_logs.*", "model_logs.*", "pipeline_status.*", "model_status.*"])
STATUS_TABLES = {"pipeline_status": "pipeline_id", "model_status": "model_id"}


def landed_statuses(warehouse: Any) -> dict[str, list[dict[str, Any]]]:
    """Every row of the two status tables the tap landed, oldest observation first."""
    return {
        table: warehouse.rows(f"SELECT * FROM {STATUS_SCHEMA}.{table} ORDER BY observed_at, {key}")  # noqa: S608
        for table, key in STATUS_TABLES.items()
    }


def with_statuses(env: dict[str, str]) -> dict[str, str]:
    """`env` for a run that selects the status streams too."""
    return {**env, "TAP_KONDADO__SELECT": SELECT_WITH_STATUSES}


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
        too_early = current and elapsed < PROJECTION_MIN_HOURS * 3600
        note = "too_early" if too_early else None if plan else "no_plan"
        projected = None if too_early else billable * month_seconds // elapsed if current else billable
        limit_date = None
        if current and billable > 0 and note is None:
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
            "projection_note": note,
            "projection_days": elapsed / 86_400 if current and projected is not None else None,
        }
    return expected


def monthly_as_loaded(rows: list[dict[str, Any]]) -> dict[tuple, dict]:
    """The model's rows in expected_monthly's form (numbers as ints and floats)."""
    loaded = {}
    for row in rows:
        pct, projected = row["plan_used_pct"], row["projected_billable_rows"]
        loaded[(int(row["client_id"]), row["month"])] = {
            "billable_rows": int(row["billable_rows"]),
            "free_rows": int(row["free_rows"]),
            "runs": int(row["runs"]),
            "is_current_month": bool(row["is_current_month"]),
            "projected_billable_rows": None if projected is None else int(projected),
            "plan_rows": None if row["plan_rows"] is None else int(row["plan_rows"]),
            "plan_used_pct": None if pct is None else round(float(pct), 2),
            "projected_limit_date": row["projected_limit_date"],
            "projection_note": row["projection_note"],
            "projection_days": None if row["projection_days"] is None else round(float(row["projection_days"]), 2),
        }
    return loaded


ROUNDED_COLUMNS = ("plan_used_pct", "projection_days")


def assert_monthly_matches(loaded: dict[tuple, dict], expected: dict[tuple, dict]) -> None:
    """Every row and column equal, the 2-place columns within their last place.

    The engines round an exact half as their casts do (PostgreSQL's numeric 4.885 -> 4.89, DuckDB's double 4.88),
    and the expectation is exact.
    """
    loaded = {key: dict(row) for key, row in loaded.items()}
    expected = {key: dict(row) for key, row in expected.items()}
    rounded = [
        (key, column, row.pop(column), expected[key].pop(column))
        for column in ROUNDED_COLUMNS
        for key, row in loaded.items()
        if key in expected
    ]
    assert loaded == expected
    for key, column, got, want in rounded:
        assert (got is None) == (want is None), (key, column, got, want)
        assert got is None or abs(got - want) <= 0.01 + 1e-9, (key, column, got, want)


# --- one tap run, the builds, and the checks both engines share -----------------

MODELS_SCHEMA = "analytics"  # the dbt utilities' default schema (meltano.yml)


def snapshot(warehouse: Any) -> dict[str, Any]:
    """The final models' contents, in a stable order."""
    return {
        "pipeline_health": sorted(warehouse.model("kondado_pipeline_health"), key=lambda r: r["pipeline_id"]),
        "model_health": sorted(warehouse.model("kondado_model_health"), key=lambda r: r["model_id"]),
        "monthly": sorted(warehouse.model("kondado_billable_rows_monthly"), key=lambda r: (r["client_id"], r["month"])),
        "runs": warehouse.rows(
            f"SELECT count(*) AS n, max(id) AS newest FROM {MODELS_SCHEMA}.kondado_pipeline_runs"  # noqa: S608
        )[0],
    }


def built_tables(warehouse: Any) -> dict[str, list[dict[str, Any]]]:
    """The incremental models' rows by id, without built_at (when each row was written)."""
    tables = {"kondado_pipeline_runs": "id", "kondado_model_runs": "id", "kondado_pipeline_deliveries": "log_id"}
    return {
        name: [
            {k: v for k, v in row.items() if k != "built_at"}
            for row in sorted(warehouse.model(name), key=lambda r: r[key])
        ]
        for name, key in tables.items()
    }


def edit_a_loaded_log(sim: Simulator) -> dict[str, Any]:
    """As Kondado edits a log after it was loaded: the newest pipeline log (created after the builds'
    kondado_as_of, so the answers checked against the simulator's logs stay as they were) moves 1,000 more rows,
    its updatedAt stamped now."""
    newest = max(
        (r for r in sim.visible("pipeline_logs", TEST_KEY) if to_integer(r.get("row_count")) is not None),
        key=lambda record: (parse_time(record["createdAt"]), record["id"]),
    )
    return sim.update_log("pipeline_logs", newest["id"], row_count=to_integer(newest["row_count"]) + 1000)


def utc_now() -> datetime.datetime:
    """Now, naive UTC (as the warehouses hold times)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def build_all(
    sim: Simulator,
    warehouse: Any,
    env: dict[str, str],
    loader: str,
    utility: str,
    *,
    after_scratch: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """As a user runs it: tap, target and build in one `meltano run`, first with the log streams only (no status
    tables); then the same with the status streams selected too (the tap asks about the ids the first run's logs
    named, remembered in its state); a build of that at a fixed kondado_as_of; then after an incremental run with
    new logs and new statuses, both after that as_of, the same build.
    `after_scratch()`, called once the build at the fixed kondado_as_of is done (before later tests rebuild
    parts of the models), gives results["report"]: what the report tests read."""
    # The tap's lookback from the first run on: the window it re-reads is placed from what earlier runs kept.
    env = {**env, "TAP_KONDADO_LOOKBACK_HOURS": "48"}
    results: dict[str, Any] = {"sim": sim, "warehouse": warehouse, "env": env, "utility": utility}
    results["started"] = as_of_of(sim)
    # The clock around the first run: its build's default kondado_as_of (dbt's start) falls between, however
    # long the run or the session before it took.
    before = utc_now()
    meltano("run", "tap-kondado", loader, f"{utility}:build", env=env)
    results["first_run"] = (before, utc_now())
    results["no_status"] = snapshot(warehouse)

    meltano("run", "tap-kondado", loader, f"{utility}:build", env=with_statuses(env))
    results["statuses"] = landed_statuses(warehouse)
    results["with_status"] = snapshot(warehouse)  # kondado_as_of: the build's start, after the statuses came

    # "Now" for the rest: after every status observed so far, before the logs and statuses still to come.
    as_of = utc_now().replace(microsecond=0) + datetime.timedelta(seconds=1)
    results["as_of"] = as_of
    vars_ = build_vars(as_of)
    started = time.monotonic()
    meltano("invoke", utility, "build", "--vars", vars_, env=env)
    results["build_seconds"] = time.monotonic() - started
    results["scratch"] = snapshot(warehouse)
    if after_scratch is not None:
        results["report"] = after_scratch()

    while utc_now() <= as_of:
        time.sleep(0.1)
    appended = {record["id"] for record in sim.append("pipeline_logs", 30)}  # created now, after as_of
    results["new_logs"] = len(appended & {record["id"] for record in sim.visible("pipeline_logs", TEST_KEY)})
    sim.append("model_logs", 10)
    meltano("run", "tap-kondado", loader, env=with_statuses(env))  # new statuses too, observed after as_of
    meltano("invoke", utility, "build", "--vars", vars_, env=env)
    results["incremental"] = snapshot(warehouse)
    results["statuses_after"] = landed_statuses(warehouse)

    # A log edited after it was loaded: the tap's lookback re-reads it, the target replaces it, the next build
    # rewrites its day; then the same build from scratch (--full-refresh) must answer the same.
    results["edited_log"] = edit_a_loaded_log(sim)
    meltano("run", "tap-kondado", loader, env=env)
    meltano("invoke", utility, "run", "--vars", vars_, env=env)  # the models only: their tests ran above
    results["edited"] = {**snapshot(warehouse), "tables": built_tables(warehouse)}
    meltano("invoke", utility, "run", "--full-refresh", "--vars", vars_, env=env)
    results["full_refresh"] = {**snapshot(warehouse), "tables": built_tables(warehouse)}
    return results


class PackageChecks:
    """The tests of the package; a subclass per engine gives the `built` fixture (build_all's results)."""

    def test_deliveries_are_the_runs_that_moved_rows(self, built):
        """kondado_pipeline_deliveries against the simulator's own logs, counted here."""
        logs = {}
        for record in built["sim"].visible("pipeline_logs", TEST_KEY):
            created = parse_time(record["createdAt"])
            pipeline = to_id(record.get("pipeline_id"))
            if created is not None and pipeline is not None:  # every loaded log, after kondado_as_of too
                logs[record["id"]] = (pipeline, created, record["id"], to_integer(record["row_count"]))
        expected, seen = {}, {}
        for pipeline, _, log_id, rows in sorted(logs.values()):
            count, cumulative, previous = seen.get(pipeline, (0, 0, None))
            cumulative += rows or 0
            if rows is not None and rows >= 1:
                delivered_before = expected[previous]["cumulative"] if previous is not None else 0
                expected[log_id] = {
                    "previous_log_id": previous,
                    "rows_since_previous_delivery": cumulative - delivered_before,
                    "delivery_number": count + 1,
                    "cumulative": cumulative,
                }
                count, previous = count + 1, log_id
            seen[pipeline] = (count, cumulative, previous)
        found = {
            row["log_id"]: {k: row[k] for k in ("previous_log_id", "rows_since_previous_delivery", "delivery_number")}
            for row in built["warehouse"].model("kondado_pipeline_deliveries")
        }
        for row in expected.values():
            del row["cumulative"]
        assert len(found) == len(expected) > 0
        assert found == expected

    def test_builds_without_the_status_tables(self, built):
        first = built["no_status"]
        health = first["pipeline_health"]
        assert by_health(health, "pipeline_id") == expected_health(with_statuses=False)
        assert all(row["status"] is None and row["status_message"] is None for row in health)
        assert by_health(first["model_health"], "model_id") == expected_model_health(with_statuses=False)
        # kondado_as_of defaulted to the run's start: the monthly numbers against it, no plan given.
        as_of = health[0]["kondado_as_of"]
        before, after = built["first_run"]
        assert before <= as_of <= after
        assert_monthly_matches(monthly_as_loaded(first["monthly"]), expected_monthly(built["sim"], as_of, plans={}))

    def test_the_tap_lands_the_planted_statuses(self, built):
        # One row per pipeline and model the token's logs named, as the simulator answers for it, observed by
        # the run (naive UTC, as the staging models compare it with kondado_as_of).
        statuses = built["sim"].statuses
        for table, kind, catalog in (
            ("pipeline_status", "pipelines", planted.PIPELINES),
            ("model_status", "models", planted.MODELS),
        ):
            key, name = STATUS_TABLES[table], STATUS_TABLES[table].replace("_id", "_name")
            visible = {item.item_id: item for item in catalog if item.client_id in VISIBLE}
            rows = built["statuses"][table]
            assert sorted(int(row[key]) for row in rows) == sorted(visible)
            for row in rows:
                item, served = visible[int(row[key])], statuses[kind][int(row[key])]
                assert (int(row["client_id"]), row[name]) == (item.client_id, item.name)
                landed = (row["status"], row["raw_msg"], row["is_running"], row["is_active"])
                assert landed == (served["status"], served["raw_msg"], served["is_running"], served["is_active"])
                assert built["started"] < row["observed_at"] < built["as_of"]

    def test_a_run_with_the_status_streams_selected_flags_the_failing_pipelines(self, built):
        # `meltano run tap-kondado <target> <dbt>:build` with the status streams selected, kondado_as_of now.
        health, models = built["with_status"]["pipeline_health"], built["with_status"]["model_health"]
        assert by_health(health, "pipeline_id") == expected_health(with_statuses=True)
        assert by_health(models, "model_id") == expected_model_health(with_statuses=True)
        landed = {int(row["pipeline_id"]): row["observed_at"] for row in built["statuses"]["pipeline_status"]}
        assert {row["pipeline_id"]: row["status_observed_at"] for row in health} == landed

    def test_flags_exactly_the_planted_pipelines(self, built):
        health = built["scratch"]["pipeline_health"]
        assert by_health(health, "pipeline_id") == expected_health(with_statuses=True)
        anomalies = planted_anomalies()
        streaks = {r["pipeline_id"]: r["zero_row_streak"] for r in health if r["zero_row_streak"]}
        assert streaks == dict.fromkeys(anomalies["zero_rows"], 6)
        assert {r["pipeline_id"] for r in health if r["volume_anomaly"]} == anomalies["spike"]
        assert {r["pipeline_id"] for r in health if r["savepoint_break"]} == anomalies["savepoint_break"]
        assert {r["pipeline_id"] for r in health if r["slow_run"]} == anomalies["slow"]
        failing = {r["pipeline_id"]: (r["status"], r["status_message"]) for r in health if r["health"] == "failing"}
        statuses = built["sim"].statuses["pipelines"]
        assert failing == {i: (statuses[i]["status"], statuses[i]["raw_msg"]) for i in failing}
        assert all(message for _, message in failing.values())
        models = built["scratch"]["model_health"]
        assert by_health(models, "model_id") == expected_model_health(with_statuses=True)

    def test_monthly_numbers_to_the_row(self, built):
        expected = expected_monthly(built["sim"], built["as_of"], PLANS)
        assert_monthly_matches(monthly_as_loaded(built["scratch"]["monthly"]), expected)
        assert any(row["projection_days"] for row in expected.values())
        assert any(key[0] == 3 and row["is_current_month"] for key, row in expected.items())

    def test_an_incremental_run_and_build_give_the_answers_of_the_build_from_scratch(self, built):
        scratch, incremental = built["scratch"], built["incremental"]
        # the new logs are in the runs model, and after kondado_as_of: the answers are unchanged
        assert incremental["runs"]["n"] == scratch["runs"]["n"] + built["new_logs"]
        assert built["new_logs"] > 0
        assert {k: v for k, v in incremental.items() if k != "runs"} == {
            k: v for k, v in scratch.items() if k != "runs"
        }
        loaded = built["warehouse"].rows("SELECT max(id) AS newest FROM tap_kondado.pipeline_logs")[0]["newest"]
        assert loaded == incremental["runs"]["newest"] > scratch["runs"]["newest"]
        # It observed every status again, after kondado_as_of: the build kept the observations made by then.
        before, after = built["statuses"]["pipeline_status"], built["statuses_after"]["pipeline_status"]
        assert len(after) == 2 * len(before)
        assert all(row["observed_at"] > built["as_of"] for row in after[len(before) :])
        kept = {row["pipeline_id"]: row["status_observed_at"] for row in incremental["pipeline_health"]}
        assert kept == {int(row["pipeline_id"]): row["observed_at"] for row in before}

    def test_an_incremental_build_after_an_edit_is_the_build_from_scratch(self, built):
        """The edited log merged by the incremental build: every model, row for row, as --full-refresh builds it."""
        edited, full_refresh = built["edited"], built["full_refresh"]
        assert edited == full_refresh
        log = built["edited_log"]
        for table, key in (("kondado_pipeline_runs", "id"), ("kondado_pipeline_deliveries", "log_id")):
            assert next(r["row_count"] for r in edited["tables"][table] if r[key] == log["id"]) == log["row_count"]
        assert edited["pipeline_health"] == built["incremental"]["pipeline_health"]  # the edit is after as_of

    def test_every_column_of_every_model_is_described(self, built):
        built_columns = defaultdict(set)
        query = "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'analytics'"
        for row in built["warehouse"].rows(query):
            built_columns[row["table_name"]].add(row["column_name"])
        described = {}
        for path in (PROJECT_ROOT / "transform" / "models").rglob("*.yml"):
            for model in yaml.safe_load(path.read_text()).get("models", []):
                assert all(column.get("description") for column in model["columns"]), model["name"]
                described[model["name"]] = {column["name"] for column in model["columns"]}
        assert dict(built_columns) == described

    def test_one_plan_for_every_account(self, built):
        as_of, plan = built["as_of"], 2_500_000
        vars_ = json.dumps({"kondado_as_of": as_of.isoformat(), "kondado_plan_rows": plan})
        meltano(
            "invoke",
            built["utility"],
            "run",
            "--select",
            "kondado_billable_rows_monthly",
            "--vars",
            vars_,
            env=built["env"],
        )
        loaded = monthly_as_loaded(built["warehouse"].model("kondado_billable_rows_monthly"))
        assert_monthly_matches(loaded, expected_monthly(built["sim"], as_of, dict.fromkeys(VISIBLE, plan)))

    def test_the_gate_fails_naming_the_stalled_and_failing_pipelines(self, built):
        # meltano.yml's `gate` command: both gating tests with kondado_health_severity error; as an orchestrator
        # runs it, it stops a `meltano run` before the steps after it.
        with pytest.raises(AssertionError) as failed:
            meltano("run", f"{built['utility']}:gate", env=built["env"])
        output = str(failed.value)
        assert "Failure in test kondado_no_stalled_pipelines" in output
        assert "Failure in test kondado_no_failing_pipelines" in output
        named = {(test, int(pipeline)) for test, pipeline in re.findall(GATE_LINE, output)}
        expected = expected_health(with_statuses=True)
        assert named == {("kondado_no_stalled_pipelines", i) for i in expected["stalled"]} | {
            ("kondado_no_failing_pipelines", i) for i in expected["failing"]
        }

    def test_gating_tests_only_warn_by_default(self, built):
        result = meltano(
            "invoke",
            built["utility"],
            "test",
            "--select",
            "kondado_no_stalled_pipelines",
            "--vars",
            build_vars(built["as_of"]),
            env=built["env"],
        )
        assert "Warning in test kondado_no_stalled_pipelines" in result.stdout + result.stderr

    def test_source_freshness_passes_on_fresh_logs(self, built):
        result = meltano("invoke", f"{built['utility']}:source-freshness", env=built["env"])
        output = result.stdout + result.stderr
        assert output.count("PASS freshness of kondado.") == 3, output[-3000:]
        assert "PASS freshness of kondado.pipeline_deliveries" in output


# The on-run-end lines: `kondado_no_stalled_pipelines: pipeline 724 (Kondado - RD Station - leads) is stalled`.
GATE_LINE = r"(kondado_no_\w+_pipelines): pipeline (\d+) \("
