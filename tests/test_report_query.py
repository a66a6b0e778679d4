"""tap_kondado.report.query on a DuckDB file of the contract's tables (tests/report_fixture.py)."""

from __future__ import annotations

import datetime
import json
import os
import pickle
import subprocess
import sys

import duckdb
import pytest

from tap_kondado.report import layout, query
from tap_kondado.report.query import ReportError, load
from tests import report_fixture
from tests.report_fixture import AS_OF


@pytest.fixture
def db(tmp_path):
    return report_fixture.build_duckdb(tmp_path / "models.duckdb")


def test_health_worst_first_and_as_of_from_the_contract(db):
    data = load(duckdb_file=str(db))
    assert data.schema == "analytics"  # the dbt profiles' schema
    assert data.as_of == AS_OF
    assert data.as_of_origin == "last_run_at + hours_since_last_run"
    assert [(p.id, p.health) for p in data.pipelines[:4]] == [
        (102, "failing"),
        (103, "stalled"),
        (104, "late"),
        (108, "unknown"),
    ]
    assert {p.health for p in data.pipelines[4:]} == {"on_time"}
    assert data.pipelines[0].status_message == "could not connect to source: timeout (30 s)"
    assert [(m.id, m.health) for m in data.models] == [(202, "late"), (201, "on_time"), (203, "on_time")]
    assert data.pipelines[0].savepoint_break is False
    assert data.models[0].savepoint_break is None  # models have none


def test_runs_rows_per_day_and_plans_match_the_tables(db):
    data = load(duckdb_file=str(db))
    since = AS_OF - datetime.timedelta(days=query.STRIP_DAYS)
    for item in report_fixture.PIPELINES:
        expected = [(at, rows) for at, rows, _ in report_fixture.runs_of(item) if since < at <= AS_OF]
        assert data.runs.get(item.id, []) == expected
    first_day = AS_OF.date() - datetime.timedelta(days=query.ROWS_DAYS - 1)
    for client in (1, 2, 3):
        expected = sum(
            rows
            for item in report_fixture.PIPELINES
            if item.client_id == client
            for at, rows, _ in report_fixture.runs_of(item)
            if at.date() >= first_day
        )
        assert sum(data.rows_per_day[client].values()) == expected
        assert min(data.rows_per_day[client]) >= first_day
    plans = {p.client_id: p for p in data.plans}
    assert set(plans) == {1, 2, 3}
    assert plans[1].plan_rows == 1_050_000
    assert plans[1].projected_limit_date == datetime.date(2026, 11, 27)
    assert plans[2].projected_limit_date is None
    assert plans[3].plan_rows is None
    for plan in plans.values():  # the runs' billable rows day by day add up to the monthly model's
        assert sum(rows for _, rows in plan.daily) == plan.billable_rows
        assert all(day.month == 11 for day, _ in plan.daily)


def test_as_of_column_wins_when_the_model_has_it(db):
    with duckdb.connect(str(db)) as conn:
        conn.execute("ALTER TABLE analytics.kondado_pipeline_health ADD COLUMN kondado_as_of TIMESTAMP")
        conn.execute("UPDATE analytics.kondado_pipeline_health SET kondado_as_of = TIMESTAMP '2026-11-20 12:30:00'")
    data = load(duckdb_file=str(db))
    assert data.as_of == datetime.datetime(2026, 11, 20, 12, 30)
    assert data.as_of_origin == "kondado_pipeline_health.kondado_as_of"


def test_missing_file_model_or_column_is_one_clear_error(tmp_path, db):
    with pytest.raises(ReportError, match="no DuckDB file at"):
        load(duckdb_file=str(tmp_path / "absent.duckdb"))
    with pytest.raises(ReportError, match=r"schema 'main' lacks the kondado models kondado_pipeline_health, "):
        load(duckdb_file=str(db), schema="main")
    with duckdb.connect(str(db)) as conn:
        conn.execute("ALTER TABLE analytics.kondado_pipeline_runs RENAME COLUMN created_at TO createdat")
    with pytest.raises(ReportError, match="kondado_pipeline_runs has no column created_at"):
        load(duckdb_file=str(db))
    not_duckdb = tmp_path / "text.duckdb"
    not_duckdb.write_text("hello")
    with pytest.raises(ReportError, match="cannot open .* as DuckDB"):
        load(duckdb_file=str(not_duckdb))


def test_bad_postgres_url_is_one_clear_error():
    with pytest.raises(ReportError, match="not a PostgreSQL URL"):
        load(postgres_url="mysql://u:secret@h/db")
    with pytest.raises(ReportError, match=r"cannot connect to postgresql://u:\*\*\*@127.0.0.1:1/db") as caught:
        load(postgres_url="postgresql://u:secret@127.0.0.1:1/db")
    assert "secret" not in str(caught.value)


def _manifest(folder, schema, adapter="duckdb"):
    """A target/manifest.json as dbt writes it, cut to what the report reads."""
    folder.mkdir(parents=True, exist_ok=True)
    node = {"resource_type": "model", "schema": schema, "name": "kondado_pipeline_health"}
    manifest = {"metadata": {"adapter_type": adapter}, "nodes": {"model.kondado.kondado_pipeline_health": node}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_default_schema_comes_from_the_dbt_manifest(tmp_path, monkeypatch):
    target = _manifest(tmp_path / "target", "marts")
    assert query.manifest_schema("duckdb", target) == "marts"
    assert query.manifest_schema("postgres", target) is None  # built by another engine: says nothing of this one
    monkeypatch.setenv("DBT_TARGET_PATH", str(_manifest(tmp_path / "from-env", "from_env", adapter="postgres")))
    assert query.manifest_schema("postgres") == "from_env"
    assert query.manifest_schema("postgres", tmp_path / "absent") is None
    monkeypatch.delenv("DBT_TARGET_PATH")
    monkeypatch.chdir(tmp_path)
    _manifest(tmp_path / "transform" / "target", "relative")
    assert query.manifest_schema("duckdb") == "relative"  # transform/target under the working directory


def test_a_manifest_without_the_model_or_not_json_names_no_schema(tmp_path):
    target = _manifest(tmp_path / "target", "marts")
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["nodes"] = {"model.kondado.kondado_model_health": {"schema": "marts"}}
    (target / "manifest.json").write_text(json.dumps(manifest))
    assert query.manifest_schema("duckdb", target) is None
    (target / "manifest.json").write_text("{not json")
    assert query.manifest_schema("duckdb", target) is None


def test_the_manifests_schema_is_read_and_schema_still_wins(db, tmp_path):
    with duckdb.connect(str(db)) as conn:
        conn.execute("CREATE SCHEMA marts")
        for table in query.MODELS:
            conn.execute(f"CREATE TABLE marts.{table} AS SELECT * FROM analytics.{table}")  # noqa: S608
    target = _manifest(tmp_path / "target", "marts")
    assert load(duckdb_file=str(db), dbt_target_path=target).schema == "marts"
    assert load(duckdb_file=str(db), dbt_target_path=target, schema="analytics").schema == "analytics"


def test_timestamps_with_a_time_zone_read_as_utc_whatever_the_machines_zone(db, tmp_path):
    expected = load(duckdb_file=str(db))
    with duckdb.connect(str(db)) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        for table, column in [
            ("kondado_pipeline_runs", "created_at"),
            ("kondado_pipeline_health", "last_run_at"),
            ("kondado_model_health", "last_run_at"),
        ]:
            conn.execute(f"ALTER TABLE analytics.{table} ALTER {column} TYPE TIMESTAMPTZ")
    code = (
        "import pickle, sys; from tap_kondado.report.query import load; "
        f"sys.stdout.buffer.write(pickle.dumps(load(duckdb_file={str(db)!r})))"
    )
    env = {**os.environ, "TZ": "America/Sao_Paulo"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True, timeout=60)
    assert pickle.loads(result.stdout) == expected  # noqa: S301 (our own child's output)


def test_empty_models_still_make_a_page(db):
    with duckdb.connect(str(db)) as conn:
        for table in query.MODELS:
            conn.execute(f"DELETE FROM analytics.{table}")  # noqa: S608
    data = load(duckdb_file=str(db))
    assert data.as_of_origin == "the report's build time"
    page = layout.render(data)
    assert "All 0 pipelines ran on time" in page
    assert "No billable row this month." in page
