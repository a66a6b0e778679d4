"""The dbt package's builds on the planted scenario, one per engine and per test session, shared by the dbt
tests (tests/test_dbt_*.py) and the report tests (tests/test_report_browser.py, tests/test_report_postgres.py),
so the suite pays for each engine's tap runs once. Registered in tests/conftest.py.

Both simulators generate their logs as of one moment (`scenario_now`): the two engines load the same data, and
the report tests compare their numbers.
"""

from __future__ import annotations

import datetime
import shutil

import pytest

from tests import dbt_scenario as scenario
from tests.meltano_helpers import base_env, ensure_installed
from tests.tap_runner import TEST_KEY, TEST_TOKEN


@pytest.fixture(scope="session")
def scenario_now() -> datetime.datetime:
    """The simulators' `now`: the moment the first build of the session starts."""
    return datetime.datetime.now(datetime.timezone.utc)


@pytest.fixture(scope="session")
def duckdb_built(tmp_path_factory, scenario_now):
    """build_all's results on DuckDB; results["report"]: a copy of the DuckDB file as the build left it."""
    duckdb = pytest.importorskip("duckdb")
    ensure_installed()
    tmp = tmp_path_factory.mktemp("dbt-duckdb")
    warehouse = DuckDBWarehouse(duckdb, tmp / "warehouse.duckdb")
    sim = scenario.scenario_simulator(now=scenario_now)
    env = duckdb_env(tmp, sim, warehouse.path)

    def copy_for_the_report():
        return shutil.copy(warehouse.path, tmp / "report.duckdb")  # DuckDB is closed between Meltano's runs

    try:
        yield scenario.build_all(sim, warehouse, env, "target-duckdb", "dbt-duckdb", after_scratch=copy_for_the_report)
    finally:
        sim.stop()


@pytest.fixture(scope="session")
def postgres_built(tmp_path_factory, scenario_now, postgres):
    """build_all's results in a database of the run's throwaway PostgreSQL (the conftest's `postgres`)."""
    psycopg = pytest.importorskip("psycopg")
    ensure_installed()
    tmp = tmp_path_factory.mktemp("dbt-postgres")
    sim = scenario.scenario_simulator(now=scenario_now)
    try:
        database = postgres.create_database("kondado_dbt")
        env = postgres_env(tmp, sim, postgres, database)
        warehouse = PostgresWarehouse(psycopg, postgres.dsn(database))
        yield scenario.build_all(sim, warehouse, env, "target-postgres", "dbt-postgres")
    finally:
        sim.stop()


def duckdb_env(tmp, sim, path) -> dict[str, str]:
    """Meltano's environment for the tap into `path` and dbt-duckdb on it."""
    return base_env(
        tmp,
        TAP_KONDADO_KEY=TEST_KEY,
        TAP_KONDADO_TOKEN=TEST_TOKEN,
        TAP_KONDADO_API_URL=sim.url,
        TARGET_DUCKDB_FILEPATH=str(path),
        DBT_DUCKDB_PATH=str(path),
        DBT_TARGET_PATH=str(tmp / "dbt-target"),  # not transform/target: another session may build at once
        DBT_LOG_PATH=str(tmp / "dbt-logs"),
    )


def postgres_env(tmp, sim, server, database) -> dict[str, str]:
    """Meltano's environment for the tap into `database` of `server` and dbt-postgres on it."""
    return base_env(
        tmp,
        TAP_KONDADO_KEY=TEST_KEY,
        TAP_KONDADO_TOKEN=TEST_TOKEN,
        TAP_KONDADO_API_URL=sim.url,
        **server.meltano_env(database),
        **server.meltano_env(database, prefix="DBT_POSTGRES"),
        DBT_TARGET_PATH=str(tmp / "dbt-target"),  # not transform/target: another session may build at once
        DBT_LOG_PATH=str(tmp / "dbt-logs"),
    )


class DuckDBWarehouse:
    """The DuckDB file, opened only between Meltano's runs (one writer at a time)."""

    def __init__(self, duckdb, path):
        self.duckdb, self.path = duckdb, path

    def rows(self, query, params=()):
        return self.many([query], params)[0]

    def many(self, queries, params=()):
        """Each query's rows, over one connection."""
        with self.duckdb.connect(str(self.path), read_only=True) as conn:
            found = []
            for query in queries:
                result = conn.execute(query, list(params))
                names = [d[0] for d in result.description]
                found.append([dict(zip(names, row, strict=True)) for row in result.fetchall()])
            return found

    def model(self, name):
        return self.rows(f"SELECT * FROM {scenario.MODELS_SCHEMA}.{name}")  # noqa: S608 (constants)


class PostgresWarehouse:
    """One database of the throwaway server."""

    def __init__(self, psycopg, dsn):
        self.psycopg, self.dsn = psycopg, dsn

    def rows(self, query, params=()):
        return self.many([query], params)[0]

    def many(self, queries, params=()):
        """Each query's rows, over one connection."""
        with self.psycopg.connect(self.dsn, row_factory=self.psycopg.rows.dict_row) as conn:
            return [conn.execute(query, params).fetchall() for query in queries]

    def model(self, name):
        return self.rows(f"SELECT * FROM {scenario.MODELS_SCHEMA}.{name}")  # noqa: S608 (constants)
