"""The same models in PostgreSQL and in DuckDB give the same report data (values, not HTML bytes).

For now both are loaded from tests/report_fixture.py; once the dbt package (issue 15) is merged this becomes
a `meltano run ... dbt-postgres:build` and `dbt-duckdb:build` on the same simulator data.
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
