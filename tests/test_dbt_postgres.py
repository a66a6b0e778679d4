"""The `kondado` dbt package on PostgreSQL: `meltano run tap-kondado target-postgres dbt-postgres:build`
against a throwaway server, on the simulator's planted scenario (tests/dbt_scenario.py)."""

from __future__ import annotations

import os

import pytest

from tests import dbt_scenario as scenario
from tests.meltano_helpers import base_env, ensure_installed
from tests.postgres import REQUIRE_ENV, find_bin_dir, start_server, unavailable_reason
from tests.tap_runner import TEST_KEY, TEST_TOKEN

pytestmark = [pytest.mark.meltano, pytest.mark.postgres, pytest.mark.slow]

psycopg = pytest.importorskip("psycopg")


class Warehouse:
    """One database of the throwaway server."""

    def __init__(self, dsn):
        self.dsn = dsn

    def rows(self, query, params=()):
        with psycopg.connect(self.dsn, row_factory=psycopg.rows.dict_row) as conn:
            return conn.execute(query, params).fetchall()

    def model(self, name):
        return self.rows(f"SELECT * FROM {scenario.MODELS_SCHEMA}.{name}")  # noqa: S608 (constants)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
        pytest.skip(reason)
    ensure_installed()
    server = start_server(find_bin_dir())
    tmp = tmp_path_factory.mktemp("dbt-postgres")
    sim = scenario.scenario_simulator()
    try:
        database = server.create_database("kondado_dbt")
        env = base_env(
            tmp,
            TAP_KONDADO_KEY=TEST_KEY,
            TAP_KONDADO_TOKEN=TEST_TOKEN,
            TAP_KONDADO_API_URL=sim.url,
            TARGET_POSTGRES_HOST=server.host,
            TARGET_POSTGRES_PORT=str(server.port),
            TARGET_POSTGRES_USER=server.user,
            TARGET_POSTGRES_PASSWORD="",
            TARGET_POSTGRES_DATABASE=database,
            DBT_POSTGRES_HOST=server.host,
            DBT_POSTGRES_PORT=str(server.port),
            DBT_POSTGRES_USER=server.user,
            DBT_POSTGRES_PASSWORD="",
            DBT_POSTGRES_DBNAME=database,
            DBT_TARGET_PATH=str(tmp / "dbt-target"),  # not transform/target: another session may build at once
            DBT_LOG_PATH=str(tmp / "dbt-logs"),
        )
        yield scenario.build_all(sim, Warehouse(server.dsn(database)), env, "target-postgres", "dbt-postgres")
    finally:
        sim.stop()
        server.stop()


class TestPostgres(scenario.PackageChecks):
    """Every check of tests/dbt_scenario.py on this engine."""
