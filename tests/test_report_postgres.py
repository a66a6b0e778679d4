"""The same models in PostgreSQL and in DuckDB give the same report data (values, not HTML bytes): from real
runs of the tap and the dbt package on the same simulator data (tests/dbt_builds.py), and from the hand-made
models of tests/report_fixture.py (which also check the PG* variables).
"""

from __future__ import annotations

import dataclasses
import datetime

import pytest

from tap_kondado.report import layout
from tap_kondado.report.query import load
from tests import dbt_builds, report_fixture
from tests import dbt_scenario as scenario
from tests.meltano_helpers import ensure_installed, meltano

pytestmark = [pytest.mark.postgres]


@pytest.mark.meltano
@pytest.mark.slow
def test_real_runs_on_postgres_and_duckdb_give_the_same_report(postgres, tmp_path_factory):
    # The same simulated logs (one `now`, one seed) through `meltano run tap-kondado target-X` with the status
    # streams selected, into both engines; then both builds at one kondado_as_of, after both runs observed
    # their statuses: the report's numbers must agree.
    pytest.importorskip("duckdb")
    ensure_installed()
    now = datetime.datetime.now(datetime.timezone.utc)
    duck_tmp, pg_tmp = tmp_path_factory.mktemp("compare-duckdb"), tmp_path_factory.mktemp("compare-postgres")
    duck_file = duck_tmp / "warehouse.duckdb"
    database = postgres.create_database("report_real_runs")
    sims = [scenario.scenario_simulator(now=now), scenario.scenario_simulator(now=now)]
    try:
        runs = [
            (dbt_builds.duckdb_env(duck_tmp, sims[0], duck_file), "target-duckdb", "dbt-duckdb"),
            (dbt_builds.postgres_env(pg_tmp, sims[1], postgres, database), "target-postgres", "dbt-postgres"),
        ]
        for env, loader, _ in runs:
            meltano("run", "tap-kondado", loader, env=scenario.with_statuses(env))
    finally:
        for sim in sims:
            sim.stop()
    as_of = scenario.utc_now().replace(microsecond=0) + datetime.timedelta(seconds=1)
    for env, _, utility in runs:
        meltano("invoke", utility, "build", "--vars", scenario.build_vars(as_of), env=env)

    from_duckdb = load(duckdb_file=str(duck_file))
    from_postgres = load(postgres_url=f"postgresql://{postgres.user}@{postgres.host}:{postgres.port}/{database}")
    assert from_duckdb.as_of == from_postgres.as_of == as_of
    assert from_duckdb.as_of_origin == "kondado_pipeline_health.kondado_as_of"
    assert {p.health for p in from_duckdb.pipelines} >= {"failing", "inactive", "stalled", "late", "on_time"}
    assert sum(len(strip) for strip in from_duckdb.runs.values()) > 1000
    assert _comparable(from_postgres) == _comparable(from_duckdb)
    assert layout.render(dataclasses.replace(from_postgres, source="x")) == layout.render(
        dataclasses.replace(from_duckdb, source="x")
    )


def _comparable(data):
    """The data but its source, z-scores and mean run times to 9 decimals (the engines' stddev_pop and avg differ
    in the last bit of a double: 0.6827338331852449 and ...448), and the moments each run observed its statuses
    (two runs, two clocks); every other value must be equal exactly."""

    def rounded(items):
        return [
            dataclasses.replace(
                i,
                row_count_zscore=_round(i.row_count_zscore),
                usual_execution_seconds=_round(i.usual_execution_seconds),  # a mean: the last bit differs too
                status_observed_at=None,
            )
            for i in items
        ]

    return dataclasses.replace(data, source="", pipelines=rounded(data.pipelines), models=rounded(data.models))


def _round(value):
    return None if value is None else round(value, 9)


def test_postgres_and_duckdb_give_the_same_numbers(postgres, tmp_path, monkeypatch):
    database = postgres.create_database("report_compare")
    report_fixture.build_postgres(postgres.dsn(database))
    db = report_fixture.build_duckdb(tmp_path / "models.duckdb")

    from_duckdb = load(duckdb_file=str(db))
    url = f"postgresql://{postgres.user}@{postgres.host}:{postgres.port}/{database}"
    from_postgres = load(postgres_url=url)
    assert from_postgres.schema == "analytics"  # Meltano's dbt-postgres default
    assert dataclasses.replace(from_postgres, source="") == dataclasses.replace(from_duckdb, source="")
    # And so do the pages, but for the line naming the source.
    assert layout.render(dataclasses.replace(from_postgres, source="x")) == layout.render(
        dataclasses.replace(from_duckdb, source="x")
    )

    # The PG* variables when no URL is given.
    for name, value in {"PGHOST": postgres.host, "PGPORT": str(postgres.port), "PGUSER": postgres.user}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PGDATABASE", database)
    assert load(postgres_url="").pipelines == from_duckdb.pipelines
