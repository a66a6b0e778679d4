"""The `kondado` dbt package on DuckDB, as `make demo` runs it: the real tap into target-duckdb through
Meltano, then Meltano's dbt-duckdb utility, on the simulator's planted scenario (tests/dbt_scenario.py)."""

from __future__ import annotations

import json

import pytest

from tests import dbt_scenario as scenario
from tests.meltano_helpers import base_env, ensure_installed, meltano
from tests.tap_runner import TEST_KEY, TEST_TOKEN

pytestmark = [pytest.mark.meltano, pytest.mark.slow]

duckdb = pytest.importorskip("duckdb")


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
        return self.rows(f"SELECT * FROM {scenario.MODELS_SCHEMA}.{name}")  # noqa: S608 (constants)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    ensure_installed()
    tmp = tmp_path_factory.mktemp("dbt-duckdb")
    warehouse = Warehouse(tmp / "warehouse.duckdb")
    sim = scenario.scenario_simulator()
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
    try:
        yield scenario.build_all(sim, warehouse, env, "target-duckdb", "dbt-duckdb")
    finally:
        sim.stop()


class TestDuckDB(scenario.PackageChecks):
    """Every check of tests/dbt_scenario.py on this engine."""

    @pytest.mark.parametrize(
        ("vars_", "message"),
        [
            ({"kondado_as_of": "yesterday"}, "kondado_as_of must be an ISO timestamp such as"),
            ({"kondado_plan_rows": {"acme": 5}}, "kondado_plan_rows: account 'acme' is not a client_id"),
            ({"kondado_plan_rows": "lots"}, "kondado_plan_rows must be a number of rows or a map of them"),
            ({"kondado_health_severity": "fatal"}, "kondado_health_severity must be warn or error"),
        ],
    )
    def test_a_bad_var_stops_the_build_with_a_line_naming_it(self, built, vars_, message):
        with pytest.raises(AssertionError) as failed:
            meltano("invoke", "dbt-duckdb", "compile", "--vars", json.dumps(vars_), env=built["env"])
        assert message in str(failed.value)
