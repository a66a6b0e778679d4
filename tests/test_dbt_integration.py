"""The `kondado` dbt package on the hand-made seeds of transform/integration_tests, on DuckDB and PostgreSQL (and
Spark, with `make spark`): no tap run, no Meltano run, only dbt (`deps`, `seed`, `build`), so a dbt-only change is
checked in seconds on each engine (Spark takes minutes: a JVM for each dbt command).

The build must pass: the package's own tests and the integration project's matches_model tests, which compare
each model with its expected seed. In the same build a seed with one wrong answer must be caught (its comparison
a warning): the check can fail, so its passing says something; one build, so Spark starts its JVM twice, not four
times.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import run_dir
from tests.meltano_helpers import PROJECT_ROOT, ensure_installed

pytestmark = [pytest.mark.slow]

PROJECT = PROJECT_ROOT / "transform" / "integration_tests"
# The comparisons the build must run and pass: each model with its expected seed (seeds/expected/).
COMPARED = {
    "kondado_pipeline_health_as_expected",
    "kondado_model_health_as_expected",
    "kondado_billable_rows_monthly_as_expected",
    "kondado_pipeline_deliveries_as_expected",
    "kondado_unreadable_logs_as_expected",
}
# seeds/expected/planted_wrong_pipeline_health.csv: one wrong answer, its comparison a warning in every build
PLANTED_WRONG = "planted_wrong_pipeline_health_is_caught"
SPARK_DBT = PROJECT_ROOT / ".venv-spark" / "bin" / "dbt"


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres), "spark"])
def engine(request, tmp_path) -> tuple[str, dict[str, str]]:
    """The engine's name and dbt's environment: every file it writes in tmp_path, a database of its own."""
    return request.param, _settings(request.param, request, tmp_path)


def _settings(name: str, request, tmp_path: Path) -> dict[str, str]:
    settings = {
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "DBT_PACKAGES_INSTALL_PATH": str(tmp_path / "dbt_packages"),
        "DBT_PROFILES_DIR": str(PROJECT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if name == "duckdb":
        settings["DBT_DUCKDB_PATH"] = str(tmp_path / "integration.duckdb")
    elif name == "postgres":
        server = request.getfixturevalue("postgres")
        settings.update(server.meltano_env(server.create_database("kondado_integration"), prefix="DBT_POSTGRES"))
    else:
        _require_spark()
        settings["DBT_SPARK_DIR"] = str(tmp_path / "spark")
    return settings


def _require_spark() -> None:
    """Skip without .venv-spark or Java, as tests/test_dbt_spark.py does (fail under TAP_KONDADO_REQUIRE_SPARK=1)."""
    reason = "no .venv-spark (make spark)" if not SPARK_DBT.exists() else None
    reason = reason or ("no Java runtime" if shutil.which("java") is None else None)
    if reason is not None:
        if os.environ.get("TAP_KONDADO_REQUIRE_SPARK") == "1":
            pytest.fail(f"TAP_KONDADO_REQUIRE_SPARK=1 but {reason}")
        pytest.skip(reason)


def test_the_package_answers_the_expected_seeds_and_a_wrong_one_fails(engine):
    name, settings = engine
    if name == "spark":
        binary = SPARK_DBT
    else:
        ensure_installed()  # the dbt of Meltano's dbt-<engine> utility: the one the package runs with
        binary = PROJECT_ROOT / ".meltano" / "utilities" / f"dbt-{name}" / "venv" / "bin" / "dbt"
    dbt = Dbt(binary, name, settings)

    with _one_at_a_time("dbt-integration-deps.lock"):  # `dbt deps` writes the project's package-lock.yml
        dbt.ok("deps")
    dbt.ok("seed")
    dbt.ok("build", "--exclude-resource-type", "seed")  # seeds first: the package reads the raw ones as sources
    results = dbt.results()
    passed = {test for test in COMPARED if results.get(test) == "pass"}
    assert passed == COMPARED, f"comparisons that did not pass: {sorted(COMPARED - passed)}: {results}"
    # The planted wrong answer is caught in the same build (a warning: matches_model found rows that differ).
    assert results.get(PLANTED_WRONG) == "warn", results
    assert not [node for node, status in results.items() if status not in ("pass", "success", "warn")]


def test_a_history_start_date_leaves_out_the_logs_before_it(request, tmp_path):
    """kondado_history_start_date bounds what the models read: the runs from that day on, numbered from 1 there.
    On DuckDB only: the var is read as the SQL is compiled, the same on every engine."""
    settings = _settings("duckdb", request, tmp_path)
    ensure_installed()
    dbt = Dbt(PROJECT_ROOT / ".meltano" / "utilities" / "dbt-duckdb" / "venv" / "bin" / "dbt", "duckdb", settings)
    with _one_at_a_time("dbt-integration-deps.lock"):
        dbt.ok("deps")
    dbt.ok("seed", "--select", "path:seeds/raw")
    start = {"kondado_history_start_date": "2026-12-01"}
    dbt.ok("run", "--select", "+kondado_pipeline_runs", "--vars", json.dumps(start))
    kept = dbt.show("select count(*) as logs, min(created_at) as first_log, min(run_number) as first_number "
                    "from {{ ref('kondado_pipeline_runs') }}")  # fmt: skip
    seeds = _seed_logs()
    december = {i for i, created in seeds.items() if created >= "2026-12-01"}
    assert (kept["logs"], kept["first_number"]) == (len(december), 1)
    assert str(kept["first_log"]) >= "2026-12-01"
    # then without it, the same warehouse rebuilt with --full-refresh: every log again
    dbt.ok("run", "--select", "+kondado_pipeline_runs", "--full-refresh")
    assert dbt.show("select count(*) as logs from {{ ref('kondado_pipeline_runs') }}")["logs"] == len(seeds)


def _seed_logs() -> dict[str, str]:
    """The readable pipeline logs of seeds/raw/pipeline_logs.csv: id -> createdAt (one per id)."""
    with (PROJECT / "seeds" / "raw" / "pipeline_logs.csv").open() as lines:
        rows = list(csv.DictReader(lines))
    return {r["id"]: r["createdAt"] for r in rows if r["id"] and r["pipeline_id"] and r["createdAt"]}


@contextlib.contextmanager
def _one_at_a_time(name: str) -> Iterator[None]:
    """A lock shared by the run's processes (pytest-xdist workers), in the run's directory."""
    directory = run_dir.current() or PROJECT_ROOT / ".pytest_cache"
    directory.mkdir(exist_ok=True)
    with (directory / name).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


class Dbt:
    """One engine's dbt on the integration project."""

    def __init__(self, binary: Path, target: str, settings: dict[str, str]) -> None:
        self.binary, self.target, self.settings = binary, target, settings

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        # Without a developer's own DBT_* settings (another profile, target or project).
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("DBT_")}, **self.settings}
        command = [str(self.binary), *args, "--project-dir", str(PROJECT), "--target", self.target]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)

    def ok(self, *args: str) -> None:
        result = self.run(*args)
        assert result.returncode == 0, f"dbt {' '.join(args)} exited {result.returncode}:\n{result.stdout[-8000:]}"

    def show(self, sql: str) -> dict:
        """The one row `sql` selects (`dbt show --inline`)."""
        result = self.run("show", "--inline", sql, "--output", "json", "--quiet")
        assert result.returncode == 0, f"dbt show exited {result.returncode}:\n{result.stdout[-8000:]}"
        return json.loads(result.stdout[result.stdout.index("{") :])["show"][0]

    def results(self) -> dict[str, str]:
        """{node name: status} of the last run (run_results.json)."""
        run = json.loads((Path(self.settings["DBT_TARGET_PATH"]) / "run_results.json").read_text())
        return {result["unique_id"].split(".")[2]: result["status"] for result in run["results"]}
