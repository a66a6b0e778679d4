"""The warehouses the package is checked on, not run on: Snowflake, BigQuery, Redshift, Databricks.

Each real dbt adapter (its own environment, scripts/dialect_venvs.py) renders every node with `dbt compile
--no-populate-cache` and a profile of fake credentials (transform/profiles/checked/), the var kondado_offline
keeping dbt from asking a warehouse anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import dialect_venvs

sys.path.pop(0)

TRANSFORM = dialect_venvs.PROJECT_ROOT / "transform"
PROFILES = TRANSFORM / "profiles" / "checked"

ADAPTERS = tuple(dialect_venvs.ADAPTERS)
pytestmark = pytest.mark.slow


def compile_package(adapter: str, out: Path, *, offline: bool = True) -> subprocess.CompletedProcess[str]:
    """`dbt compile` of the package with `adapter`, into `out` (its target and log folders)."""
    dbt = dialect_venvs.dbt_executable(adapter)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    command = [str(dbt), "compile", "--no-populate-cache", "--project-dir", str(TRANSFORM)]
    command += ["--profiles-dir", str(PROFILES), "--target", adapter]
    command += ["--target-path", str(out / "target"), "--log-path", str(out / "logs")]
    if offline:
        command += ["--vars", "{kondado_offline: true}"]
    return subprocess.run(command, cwd=out, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="session", params=ADAPTERS)
def rendered(request, tmp_path_factory) -> tuple[str, dict]:
    """(adapter, manifest.json) of one offline compile with that adapter."""
    adapter = request.param
    out = tmp_path_factory.mktemp(f"dialect-{adapter}")
    result = compile_package(adapter, out)
    assert result.returncode == 0, f"dbt compile on {adapter}:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    return adapter, json.loads((out / "target" / "manifest.json").read_text())


def package_nodes(manifest: dict) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["package_name"] == "kondado" and n["resource_type"] != "seed"]


def test_every_node_renders(rendered):
    adapter, manifest = rendered
    nodes = package_nodes(manifest)
    models = [n for n in nodes if n["resource_type"] == "model"]
    assert len(models) == len(list((TRANSFORM / "models").rglob("*.sql")))
    assert [n for n in nodes if n["resource_type"] == "test"], "no test rendered"
    assert [n["unique_id"] for n in nodes if not (n.get("compiled") and n.get("compiled_code", "").strip())] == []
    status = manifest["nodes"]["model.kondado.stg_kondado__pipeline_status"]["compiled_code"]
    assert "pipeline_status" in status, f"{adapter}: the status table's SQL was not rendered"


def test_offline_needs_no_connection(tmp_path):
    """Without kondado_offline the lookups ask the warehouse and the fake credentials fail: the var is what helps."""
    result = compile_package("redshift", tmp_path, offline=False)
    assert result.returncode != 0
    assert "communication error" in result.stdout, result.stdout[-3000:]
