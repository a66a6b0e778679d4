"""The `kondado` dbt package on DuckDB, as `make demo` runs it: the real tap into target-duckdb through
Meltano, then Meltano's dbt-duckdb utility, on the simulator's planted scenario."""

from __future__ import annotations

import datetime
import re

import pytest

from tests import dbt_scenario as scenario
from tests.meltano_helpers import base_env, ensure_installed, meltano
from tests.tap_runner import TEST_KEY, TEST_TOKEN

pytestmark = [pytest.mark.meltano, pytest.mark.slow]

duckdb = pytest.importorskip("duckdb")

MODELS = "analytics"  # the dbt-duckdb utility's schema (meltano.yml)


class Warehouse:
    """The DuckDB file, opened only between Meltano's runs (one writer at a time)."""

    def __init__(self, path):
        self.path = path

    def rows(self, query, params=()):
        with duckdb.connect(str(self.path), read_only=True) as conn:
            result = conn.execute(query, list(params))
            names = [d[0] for d in result.description]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    def model(self, name):
        return self.rows(f"SELECT * FROM {MODELS}.{name}")  # noqa: S608 (constants)

    def write_statuses(self, rows):
        with duckdb.connect(str(self.path)) as conn:
            for table, items in rows.items():
                conn.execute(f"CREATE TABLE {scenario.STATUS_SCHEMA}.{table} ({scenario.STATUS_DDL[table]})")
                marks = ", ".join("?" * len(items[0]))
                conn.executemany(f"INSERT INTO {scenario.STATUS_SCHEMA}.{table} VALUES ({marks})", items)  # noqa: S608


def snapshot(warehouse):
    return {
        "pipeline_health": sorted(warehouse.model("kondado_pipeline_health"), key=lambda r: r["pipeline_id"]),
        "model_health": sorted(warehouse.model("kondado_model_health"), key=lambda r: r["model_id"]),
        "monthly": sorted(warehouse.model("kondado_billable_rows_monthly"), key=lambda r: (r["client_id"], r["month"])),
        "runs": warehouse.rows(f"SELECT count(*) AS n, max(id) AS newest FROM {MODELS}.kondado_pipeline_runs")[0],  # noqa: S608
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One scenario, one tap run, four builds: without statuses, with them, after an incremental run, gated."""
    ensure_installed()
    tmp = tmp_path_factory.mktemp("dbt-duckdb")
    sim = scenario.scenario_simulator()
    warehouse = Warehouse(tmp / "warehouse.duckdb")
    env = base_env(
        tmp,
        TAP_KONDADO_KEY=TEST_KEY,
        TAP_KONDADO_TOKEN=TEST_TOKEN,
        TAP_KONDADO_API_URL=sim.url,
        TARGET_DUCKDB_FILEPATH=str(warehouse.path),
        DBT_DUCKDB_PATH=str(warehouse.path),
        DBT_TARGET_PATH=str(tmp / "dbt-target"),  # not transform/target: another session may build at once
        DBT_LOG_PATH=str(tmp / "dbt-logs"),
    )
    as_of = scenario.as_of_of(sim)
    results = {"sim": sim, "as_of": as_of, "warehouse": warehouse, "env": env}
    try:
        # As a user runs it: the tap, the target and the build in one `meltano run`; no status tables yet.
        meltano("run", "tap-kondado", "target-duckdb", "dbt-duckdb:build", env=env)
        results["no_status"] = snapshot(warehouse)

        warehouse.write_statuses(scenario.status_rows(sim, observed_at=as_of - datetime.timedelta(minutes=5)))
        vars_ = scenario.build_vars(as_of)
        started = datetime.datetime.now()
        meltano("invoke", "dbt-duckdb", "build", "--vars", vars_, env=env)
        results["build_seconds"] = (datetime.datetime.now() - started).total_seconds()
        results["scratch"] = snapshot(warehouse)

        # Time passes: new logs (created after as_of), loaded incrementally, and the same build again.
        sim.append("pipeline_logs", 30)
        sim.append("model_logs", 10)
        meltano("run", "tap-kondado", "target-duckdb", env=env)
        meltano("invoke", "dbt-duckdb", "build", "--vars", vars_, env=env)
        results["incremental"] = snapshot(warehouse)
        yield results
    finally:
        sim.stop()


def test_builds_without_the_status_tables(built):
    first = built["no_status"]
    health = first["pipeline_health"]
    assert scenario.by_health(health, "pipeline_id") == scenario.expected_health(with_statuses=False)
    assert all(row["status"] is None and row["status_message"] is None for row in health)
    assert scenario.by_health(first["model_health"], "model_id") == scenario.expected_model_health(with_statuses=False)
    # kondado_as_of defaulted to the run's start: the monthly numbers against it, no plan given.
    as_of = health[0]["kondado_as_of"]
    assert abs(as_of - built["as_of"]) < datetime.timedelta(minutes=5)
    expected = scenario.expected_monthly(built["sim"], as_of, plans={})
    assert scenario.monthly_as_loaded(first["monthly"]) == expected


def test_flags_exactly_the_planted_pipelines(built):
    health = built["scratch"]["pipeline_health"]
    assert scenario.by_health(health, "pipeline_id") == scenario.expected_health(with_statuses=True)
    planted = scenario.planted_anomalies()
    assert {r["pipeline_id"]: r["zero_row_streak"] for r in health if r["zero_row_streak"]} == dict.fromkeys(
        planted["zero_rows"], 6
    )
    assert {r["pipeline_id"] for r in health if r["volume_anomaly"]} == planted["spike"]
    assert {r["pipeline_id"] for r in health if r["savepoint_break"]} == planted["savepoint_break"]
    failing = {r["pipeline_id"]: (r["status"], r["status_message"]) for r in health if r["health"] == "failing"}
    statuses = built["sim"].statuses["pipelines"]
    assert failing == {i: (statuses[i]["status"], statuses[i]["raw_msg"]) for i in failing}
    assert all(message for _, message in failing.values())
    assert scenario.by_health(built["scratch"]["model_health"], "model_id") == scenario.expected_model_health(
        with_statuses=True
    )


def test_monthly_numbers_to_the_row(built):
    expected = scenario.expected_monthly(built["sim"], built["as_of"], scenario.PLANS)
    assert scenario.monthly_as_loaded(built["scratch"]["monthly"]) == expected
    current = [row for key, row in expected.items() if key[0] == 3 and row["is_current_month"]]
    assert current, "account 3 ran this month"


def test_an_incremental_run_and_build_give_the_answers_of_the_build_from_scratch(built):
    scratch, incremental = built["scratch"], built["incremental"]
    assert incremental["runs"]["newest"] == scratch["runs"]["newest"]  # the new logs are after kondado_as_of
    assert {k: v for k, v in incremental.items() if k != "runs"} == {k: v for k, v in scratch.items() if k != "runs"}
    loaded = built["warehouse"].rows("SELECT max(id) AS newest FROM tap_kondado.pipeline_logs")[0]["newest"]
    assert loaded > scratch["runs"]["newest"], "the incremental run loaded the new logs"


def test_gating_tests_fail_with_error_severity_naming_the_pipelines(built):
    vars_ = scenario.build_vars(built["as_of"], kondado_health_severity="error")
    with pytest.raises(AssertionError) as failed:
        meltano(
            "invoke",
            "dbt-duckdb",
            "test",
            "--select",
            "kondado_no_stalled_pipelines kondado_no_failing_pipelines",
            "--vars",
            vars_,
            env=built["env"],
        )
    output = str(failed.value)
    assert "Failure in test kondado_no_stalled_pipelines" in output
    assert "Failure in test kondado_no_failing_pipelines" in output
    named = {(test, int(pipeline)) for test, pipeline in _named(output)}
    expected = scenario.expected_health(with_statuses=True)
    assert named == {("kondado_no_stalled_pipelines", i) for i in expected["stalled"]} | {
        ("kondado_no_failing_pipelines", i) for i in expected["failing"]
    }


def test_source_freshness_passes_on_fresh_logs(built):
    result = meltano("invoke", "dbt-duckdb", "source", "freshness", env=built["env"])
    output = result.stdout + result.stderr
    assert output.count("PASS freshness of kondado.") == 2, output[-3000:]


def _named(output):
    """(test, pipeline id) from the on-run-end lines `kondado_no_...: pipeline N (name) is ...`."""
    return re.findall(r"(kondado_no_\w+_pipelines): pipeline (\d+) \(", output)
