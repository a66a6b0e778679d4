"""The `kondado` dbt package on DuckDB, as `make demo` runs it: the real tap into target-duckdb through
Meltano, then Meltano's dbt-duckdb utility, on the simulator's planted scenario (tests/dbt_scenario.py)."""

from __future__ import annotations

import json
import types

import pytest

from tests import dbt_scenario as scenario
from tests.dbt_builds import duckdb_env
from tests.meltano_helpers import ensure_installed, meltano

pytestmark = [pytest.mark.meltano, pytest.mark.slow]

pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def built(duckdb_built):
    """One build for the session (tests/dbt_builds.py): the report tests read it too."""
    return duckdb_built


class TestDuckDB(scenario.PackageChecks):
    """Every check of tests/dbt_scenario.py on this engine."""


NO_SIMULATOR = types.SimpleNamespace(url="http://127.0.0.1:9")  # compile never calls the API


@pytest.mark.parametrize(
    ("vars_", "message"),
    [
        ({"kondado_as_of": "yesterday"}, "kondado_as_of must be an ISO timestamp such as"),
        ({"kondado_plan_rows": {"acme": 5}}, "kondado_plan_rows: account 'acme' is not a client_id"),
        ({"kondado_plan_rows": "lots"}, "kondado_plan_rows must be a whole number of rows (2400000, 2.4e6)"),
        ({"kondado_health_severity": "fatal"}, "kondado_health_severity must be warn or error"),
        ({"kondado_delivery_min_rows": 0}, "kondado_delivery_min_rows must be a whole number of rows, at least 1"),
        ({"kondado_expected_gap_hours": {"acme": 24}}, "kondado_expected_gap_hours: 'acme' is not an id"),
        ({"kondado_time_zone": "UTC'; drop", "kondado_stalled_runs_missed": 3}, "kondado_time_zone must be a"),
        ({"kondado_stalled_runs_missed": "many"}, "kondado_stalled_runs_missed must be a number"),
    ],
)
def test_a_bad_var_stops_the_build_with_a_line_naming_it(vars_, message, tmp_path):
    """No build needed: a var is checked as the SQL is compiled, before any query (so any worker runs these)."""
    ensure_installed()
    env = duckdb_env(tmp_path, NO_SIMULATOR, tmp_path / "warehouse.duckdb")
    with pytest.raises(AssertionError) as failed:
        meltano("invoke", "dbt-duckdb", "compile", "--vars", json.dumps(vars_), env=env)
    assert message in str(failed.value)
