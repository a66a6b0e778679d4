"""The same models in PostgreSQL and in DuckDB give the same report data (values, not HTML bytes): from real
runs of the tap and the dbt package on the same simulator data (tests/dbt_builds.py), and from the hand-made
models of tests/report_fixture.py (which also check the PG* variables).
"""

from __future__ import annotations

import dataclasses
import os

import pytest

from tap_kondado.report import layout
from tap_kondado.report.query import load
from tests import report_fixture
from tests.postgres import REQUIRE_ENV, find_bin_dir, start_server, unavailable_reason

pytestmark = [pytest.mark.postgres]


@pytest.fixture(scope="module")
def postgres():
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
        pytest.skip(reason)
    server = start_server(find_bin_dir())
    yield server
    server.stop()


@pytest.mark.meltano
@pytest.mark.slow
def test_real_runs_on_postgres_and_duckdb_give_the_same_report(postgres_built, duckdb_built):
    # `meltano run tap-kondado target-postgres dbt-postgres:build`, then the build with the status tables and
    # kondado_as_of fixed; the same on DuckDB; both simulators serve the same logs (one `now`, one seed).
    assert postgres_built["as_of"] == duckdb_built["as_of"]
    from_postgres = postgres_built["report"]
    from_duckdb = load(duckdb_file=str(duckdb_built["report"]))
    assert from_duckdb.as_of == duckdb_built["as_of"]
    assert from_duckdb.as_of_origin == "kondado_pipeline_health.kondado_as_of"
    assert {p.health for p in from_duckdb.pipelines} >= {"failing", "stalled", "late", "on_time"}
    assert sum(len(runs) for runs in from_duckdb.runs.values()) > 1000
    assert _zscores_rounded(from_postgres) == _zscores_rounded(from_duckdb)
    assert layout.render(dataclasses.replace(from_postgres, source="x")) == layout.render(
        dataclasses.replace(from_duckdb, source="x")
    )


def _zscores_rounded(data):
    """The data but its source, z-scores to 9 decimals: the engines' stddev_pop differ in the last bit of a
    double (0.6827338331852449 and ...448); every other value must be equal exactly."""

    def rounded(items):
        return [dataclasses.replace(i, row_count_zscore=_round(i.row_count_zscore)) for i in items]

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
