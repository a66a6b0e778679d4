"""The README's "Your own Meltano project, from `meltano init` to the report", line by line, as a team types it:
a fresh project, every plugin from hub/, no Meltano Hub, the tap against the simulator. Every row must land
(the DuckDB loader as the definition pins it), the package must build, and the report must be written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tap_kondado.simulator import Simulator
from tests.meltano_helpers import UV_CACHE
from tests.sim_process import simulator_process

pytestmark = [pytest.mark.meltano, pytest.mark.slow]

duckdb = pytest.importorskip("duckdb")

ROOT = Path(__file__).resolve().parent.parent
CHECKOUT_PLACEHOLDER = "/path/to/tap-kondado"
SECTION = "### Your own Meltano project, from `meltano init` to the report"
BIN = Path(sys.executable).parent
COUNTS = {"pipeline_logs": 400, "model_logs": 120}


def readme_blocks() -> list[list[str]]:
    """The section's sh blocks: DuckDB from `meltano init`, then PostgreSQL in the same project."""
    section = (ROOT / "README.md").read_text().split(SECTION, 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"^```sh\n(.*?)^```", section, flags=re.DOTALL | re.MULTILINE)
    return [[line for line in block.splitlines() if line.strip()] for block in blocks]


def script(lines: list[str]) -> str:
    return "\n".join(["set -euo pipefail", *(line.replace(CHECKOUT_PLACEHOLDER, str(ROOT)) for line in lines)])


@pytest.mark.postgres
def test_the_readme_walk_from_meltano_init_to_the_report(tmp_path, postgres):
    duckdb_lines, postgres_lines = readme_blocks()
    assert duckdb_lines[0].startswith("meltano init ")
    assert duckdb_lines[-1] == "meltano invoke kondado-report:duckdb"
    assert postgres_lines[-1].startswith("meltano invoke kondado-report --postgres ")
    database = postgres.create_database("own_project")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_KONDADO_", "TARGET_", "MELTANO_", "DBT_"))}
    counts = [f"--{stream.replace('_', '-')}={n}" for stream, n in COUNTS.items()]
    with simulator_process("--time-scale", "0.05", *counts) as sim:
        rate_limits = re.search(r"rate_limits to match: (\[.*\])", sim.banner).group(1)
        env.update(
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",  # `meltano` as the README types it
            MELTANO_SEND_ANONYMOUS_USAGE_STATS="false",
            MELTANO_CLI_DISABLE_VERSION_CHECK="true",
            XDG_CACHE_HOME=str(tmp_path / "cache"),
            UV_CACHE_DIR=UV_CACHE,
            TAP_KONDADO_KEY="demo-key",
            TAP_KONDADO_TOKEN="demo-token",
            TAP_KONDADO_API_URL=sim.url,
            TAP_KONDADO_RATE_LIMITS=rate_limits,
            **postgres.meltano_env(database),
            **postgres.meltano_env(database, prefix="DBT_POSTGRES"),
        )
        for lines, cwd in ((duckdb_lines, tmp_path), (postgres_lines, tmp_path / "kondado-warehouse")):
            result = subprocess.run(
                ["bash", "-c", script(lines)],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
    with Simulator(**COUNTS) as same_data:  # the simulator's data is seeded: the same, seen in-process
        visible = {stream: [r["id"] for r in same_data.visible(stream)] for stream in COUNTS}
    project = tmp_path / "kondado-warehouse"
    warehouse = project / "output" / "kondado.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        for stream, ids in visible.items():
            landed = [row[0] for row in conn.execute(f"SELECT id FROM tap_kondado.{stream}").fetchall()]  # noqa: S608
            assert sorted(landed) == sorted(ids), f"{stream}: {len(landed)} of {len(ids)} rows landed"
        pipelines = conn.execute("SELECT count(DISTINCT pipeline_id) FROM tap_kondado.pipeline_logs").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM analytics.kondado_pipeline_health").fetchone()[0] == pipelines
    import psycopg

    with psycopg.connect(postgres.dsn(database)) as conn:
        for stream, ids in visible.items():
            landed = [row[0] for row in conn.execute(f"SELECT id FROM tap_kondado.{stream}").fetchall()]  # noqa: S608
            assert sorted(landed) == sorted(ids), f"{stream} in PostgreSQL: {len(landed)} of {len(ids)} rows"
        assert conn.execute("SELECT count(*) FROM analytics.kondado_pipeline_health").fetchone()[0] == pipelines
    for name in ("kondado-report.html", "kondado-report-postgres.html"):
        assert (project / "output" / name).read_text().startswith("<!DOCTYPE html>")
