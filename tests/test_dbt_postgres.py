"""The `kondado` dbt package on PostgreSQL: `meltano run tap-kondado target-postgres dbt-postgres:build`
against a throwaway server, on the simulator's planted scenario (tests/dbt_scenario.py)."""

from __future__ import annotations

import pytest

from tests import dbt_scenario as scenario

pytestmark = [pytest.mark.meltano, pytest.mark.postgres, pytest.mark.slow]

pytest.importorskip("psycopg")


@pytest.fixture(scope="module")
def built(postgres_built):
    """One build for the session (tests/dbt_builds.py): the report tests read it too."""
    return postgres_built


class TestPostgres(scenario.PackageChecks):
    """Every check of tests/dbt_scenario.py on this engine."""
