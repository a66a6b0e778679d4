"""The `kondado` dbt package on Apache Spark (local mode, dbt-spark's session method), on the planted scenario.

As a team lands the tap's records there: the real tap's stdout (Singer messages, JSON lines) read into Parquet
tables by scripts/spark_land.py, then `dbt build` with transform/profiles/spark. The flagged sets and the monthly
numbers are checked against the same Python truth as on PostgreSQL and DuckDB (tests/dbt_scenario.py), from
logs generated as of the session's one `scenario_now`. The models' Parquet files are read back with DuckDB
(no second JVM). Needs `make spark` (.venv-spark) and Java; TAP_KONDADO_REQUIRE_SPARK=1 (CI) fails without them.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import shutil
import subprocess
import time

import pytest

from tests import dbt_scenario as scenario
from tests.meltano_helpers import PROJECT_ROOT
from tests.tap_runner import config_for, run_tap

pytestmark = [pytest.mark.slow]

duckdb = pytest.importorskip("duckdb")

SPARK_BIN = PROJECT_ROOT / ".venv-spark" / "bin"
DEMO_LIMITS = [{"max_requests": 1, "window_seconds": 0.05}, {"max_requests": 20, "window_seconds": 3.0}]
STREAMS = ("pipeline_logs", "model_logs", "pipeline_status", "model_status")


def spark_unavailable() -> str | None:
    if not (SPARK_BIN / "dbt").exists():
        return "no .venv-spark (make spark)"
    if shutil.which("java") is None:
        return "no Java runtime"
    return None


@pytest.fixture(scope="module")
def spark_built(tmp_path_factory, scenario_now):
    reason = spark_unavailable()
    if reason is not None:
        if os.environ.get("TAP_KONDADO_REQUIRE_SPARK") == "1":
            pytest.fail(f"TAP_KONDADO_REQUIRE_SPARK=1 but {reason}")
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("dbt-spark")
    sim = scenario.scenario_simulator(now=scenario_now)
    try:
        # with the lookback from the first run: the window it re-reads is placed from what earlier runs kept
        config = {**config_for(sim.url, rate_limits=DEMO_LIMITS), "lookback_hours": 48}
        catalog = json.loads(run_tap(config, args=("--discover",)).stdout)
        for entry in catalog["streams"]:  # the log streams and the status streams, as a user selects them
            root = next(m for m in entry["metadata"] if m["breadcrumb"] == [])
            root["metadata"]["selected"] = entry["tap_stream_id"] in STREAMS
        (tmp / "catalog.json").write_text(json.dumps(catalog))
        tap = run_tap(config, args=("--catalog", str(tmp / "catalog.json")), timeout=300)
        assert tap.returncode == 0, tap.stderr[-3000:]
        (tmp / "messages.jsonl").write_text(tap.stdout)
        env = {
            **os.environ,
            "DBT_SPARK_DIR": str(tmp / "spark"),
            "DBT_PROFILES_DIR": str(PROJECT_ROOT / "transform" / "profiles" / "spark"),
            "DBT_TARGET_PATH": str(tmp / "dbt-target"),
            "DBT_LOG_PATH": str(tmp / "dbt-logs"),
        }
        started = time.monotonic()
        spark(
            [str(SPARK_BIN / "python"), str(PROJECT_ROOT / "scripts" / "spark_land.py"), str(tmp / "messages.jsonl")],
            env,
        )
        landed = time.monotonic() - started
        # "Now": after every status the run observed.
        as_of = scenario.utc_now().replace(microsecond=0) + datetime.timedelta(seconds=1)
        dbt = [str(SPARK_BIN / "dbt"), "build", "--vars", scenario.build_vars(as_of)]
        spark(dbt, env, cwd=PROJECT_ROOT / "transform")
        built = {
            "sim": sim,
            "as_of": as_of,
            "models": tmp / "spark" / "warehouse" / f"{scenario.MODELS_SCHEMA}.db",
            "land_seconds": landed,
            "build_seconds": time.monotonic() - started - landed,
        }
        built["scratch"] = answers(built)
        # Then new logs and an edited one, an incremental tap run (its lookback re-reads the edit) appended to the
        # tables, an incremental build (insert_overwrite of the days it rewrites), and --full-refresh.
        sim.append("pipeline_logs", 30)
        sim.append("model_logs", 10)
        built["edited_log"] = scenario.edit_a_loaded_log(sim)
        state = tap.final_state
        tap = run_tap(config, state, args=("--catalog", str(tmp / "catalog.json")))
        assert tap.returncode == 0, tap.stderr[-3000:]
        (tmp / "messages.jsonl").write_text(tap.stdout)
        spark(
            [str(SPARK_BIN / "python"), str(PROJECT_ROOT / "scripts" / "spark_land.py"), str(tmp / "messages.jsonl")],
            env,
        )
        # the models only (`dbt run`): their tests ran in the first build
        run = [dbt[0], "run", *dbt[2:]]
        spark(run, env, cwd=PROJECT_ROOT / "transform")
        built["incremental"] = {**answers(built), "tables": tables(built)}
        spark([*run, "--full-refresh"], env, cwd=PROJECT_ROOT / "transform")
        built["full_refresh"] = {**answers(built), "tables": tables(built)}
        yield built
    finally:
        sim.stop()


def spark(command, env, cwd=PROJECT_ROOT):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"{command[1]} exited {result.returncode}:\n{result.stdout[-6000:]}"


def model(built, name):
    """A model's rows, from the Parquet files Spark wrote (in a folder per day when it is partitioned)."""
    with duckdb.connect() as conn:
        files = f"{built['models'] / name}/**/*.parquet"
        result = conn.execute(f"SELECT * FROM read_parquet('{files}', hive_partitioning = true)")  # noqa: S608
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def answers(built):
    """The health and monthly models, in a stable order."""
    return {
        "pipeline_health": sorted(model(built, "kondado_pipeline_health"), key=lambda r: r["pipeline_id"]),
        "model_health": sorted(model(built, "kondado_model_health"), key=lambda r: r["model_id"]),
        "monthly": sorted(model(built, "kondado_billable_rows_monthly"), key=lambda r: (r["client_id"], r["month"])),
    }


def tables(built):
    """The incremental models' rows by id, without built_at."""
    keys = {"kondado_pipeline_runs": "id", "kondado_model_runs": "id", "kondado_pipeline_deliveries": "log_id"}
    return {
        name: [
            {k: v for k, v in r.items() if k != "built_at"} for r in sorted(model(built, name), key=lambda r: r[key])
        ]
        for name, key in keys.items()
    }


def test_flags_exactly_the_planted_pipelines_and_models(spark_built):
    health = model(spark_built, "kondado_pipeline_health")
    assert scenario.by_health(health, "pipeline_id") == scenario.expected_health(with_statuses=True)
    anomalies = scenario.planted_anomalies()
    streaks = {r["pipeline_id"]: r["zero_row_streak"] for r in health if r["zero_row_streak"]}
    assert streaks == dict.fromkeys(anomalies["zero_rows"], 6)
    assert {r["pipeline_id"] for r in health if r["volume_anomaly"]} == anomalies["spike"]
    assert {r["pipeline_id"] for r in health if r["savepoint_break"]} == anomalies["savepoint_break"]
    assert {r["pipeline_id"] for r in health if r["slow_run"]} == anomalies["slow"]
    models = model(spark_built, "kondado_model_health")
    assert scenario.by_health(models, "model_id") == scenario.expected_model_health(with_statuses=True)


def test_monthly_numbers_to_the_row(spark_built):
    expected = scenario.expected_monthly(spark_built["sim"], spark_built["as_of"], scenario.PLANS)
    loaded = scenario.monthly_as_loaded(model(spark_built, "kondado_billable_rows_monthly"))
    scenario.assert_monthly_matches(loaded, expected)
    assert any(key[0] == 3 and row["is_current_month"] for key, row in expected.items())


def test_an_incremental_build_is_the_build_from_scratch(spark_built):
    """New logs after kondado_as_of leave the answers as they were; the edited log is merged; every model equals
    --full-refresh's, row for row."""
    incremental, full_refresh = spark_built["incremental"], spark_built["full_refresh"]
    # Spark sums a model's doubles in the order its files are read, which the two builds lay out differently
    assert same(incremental, full_refresh), differences(incremental, full_refresh)
    log = spark_built["edited_log"]
    for table, key in (("kondado_pipeline_runs", "id"), ("kondado_pipeline_deliveries", "log_id")):
        rows = incremental["tables"][table]
        assert next(r["row_count"] for r in rows if r[key] == log["id"]) == log["row_count"]
        assert len(rows) == len({r[key] for r in rows})  # every version landed, one row per log
    # the new logs and the edit are after kondado_as_of: the answers are the first build's
    answers = {k: v for k, v in incremental.items() if k != "tables"}
    assert same(answers, spark_built["scratch"]), differences(answers, spark_built["scratch"])


def same(left, right) -> bool:
    """Equal, floats within a relative 1e-9 of each other, in lists and dicts."""
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9) or (math.isnan(left) and math.isnan(right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    return left == right


def differences(left, right):
    """The first few (model, row, column, left, right) that differ, to read in a failure."""
    found = []
    for name in sorted(set(left) | set(right)):
        tables = left.get(name), right.get(name)
        if name == "tables":
            found += differences(*tables)
            continue
        for index, (a, b) in enumerate(zip(*tables, strict=False)):
            found += [
                (name, index, k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if not same(a.get(k), b.get(k))
            ]
        if len(tables[0]) != len(tables[1]):
            found.append((name, "rows", len(tables[0]), len(tables[1])))
    return found[:20]
