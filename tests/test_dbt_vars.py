"""A misspelt kondado_* var stops the build with one line naming the var meant, on both ways a user passes vars:
`meltano invoke dbt-duckdb build --vars ...` and dbt itself (`dbt build --vars ...`). Without the check dbt
ignores it, and the default (no plan, say) is used silently."""

from __future__ import annotations

import json
import re
import subprocess
import types

import pytest
import yaml

from tests.dbt_builds import duckdb_env
from tests.meltano_helpers import PROJECT_ROOT, ensure_installed, meltano

pytestmark = [pytest.mark.meltano]

TRANSFORM = PROJECT_ROOT / "transform"
DBT = PROJECT_ROOT / ".meltano" / "utilities" / "dbt-duckdb" / "venv" / "bin" / "dbt"
NO_SIMULATOR = types.SimpleNamespace(url="http://127.0.0.1:9")  # the check runs before any query or API call


def test_a_misspelt_var_through_meltano_names_the_one_meant(tmp_path):
    ensure_installed()
    env = duckdb_env(tmp_path, NO_SIMULATOR, tmp_path / "warehouse.duckdb")
    vars_ = json.dumps({"kondado_plan_row": 2400000, "kondado_as_of": "2026-11-29T06:00:00Z"})
    with pytest.raises(AssertionError) as failed:
        meltano("invoke", "dbt-duckdb", "build", "--vars", vars_, env=env)
    assert "unknown var kondado_plan_row (the kondado package would ignore it): did you mean kondado_plan_rows?" in (
        str(failed.value)
    )


def test_a_misspelt_var_through_dbt_itself_names_the_one_meant(tmp_path):
    ensure_installed()
    env = duckdb_env(tmp_path, NO_SIMULATOR, tmp_path / "warehouse.duckdb")
    command = [str(DBT), "build", "--profiles-dir", "profiles/duckdb", "--vars", "{kondado_health_severty: error}"]
    result = subprocess.run(command, cwd=TRANSFORM, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert "unknown var kondado_health_severty (the kondado package would ignore it): did you mean " \
        "kondado_health_severity?" in result.stdout  # fmt: skip
    assert "OK created" not in result.stdout  # stopped before any model


def test_the_check_knows_every_declared_var():
    declared = set(yaml.safe_load((TRANSFORM / "dbt_project.yml").read_text())["vars"])
    macro = (TRANSFORM / "macros" / "vars_check.sql").read_text().split("kondado_declared_vars() %}")[1]
    listed = set(re.findall(r"'(kondado_\w+)'", macro.split("{% endmacro %}")[0]))
    assert listed == declared
