"""docs/recipes/prefect_retrain.py, run by real Prefect (a temporary server): retrains once per delivery, not on
an idle run, and a failing job fails the flow run and leaves the deliveries for the next one."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("prefect")
duckdb = pytest.importorskip("duckdb")

from prefect.testing.utilities import prefect_test_harness  # noqa: E402

from tests.test_trigger_dagster import add_logs  # noqa: E402

pytestmark = [pytest.mark.slow]

RECIPE = Path(__file__).resolve().parent.parent / "docs" / "recipes" / "prefect_retrain.py"


def load_recipe():
    spec = importlib.util.spec_from_file_location("prefect_retrain", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_prefect_recipe_retrains_once_per_delivery(tmp_path, monkeypatch):
    recipe = load_recipe()
    path = tmp_path / "warehouse.duckdb"
    add_logs(path, [(10, 702, 5), (11, 702, 0), (12, 703, 9)])
    log = tmp_path / "retrain.log"
    job = [sys.executable, "-c", f"import os; open({str(log)!r}, 'a').write(os.environ['KONDADO_LOG_IDS'] + '\\n')"]
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    arguments = {"warehouse": ["--duckdb", str(path)], "selection": ["--pipeline", "702"]}
    with prefect_test_harness(server_startup_timeout=180):  # a loaded machine starts Prefect's server slowly
        recipe.kondado_retrain(**arguments, job=job)
        assert log.read_text().splitlines() == ["10"]
        idle = recipe.kondado_retrain(**arguments, job=job)
        assert idle.startswith("nothing new for retrain since log 10")
        add_logs(path, [(13, 702, 4)])
        with pytest.raises(RuntimeError, match="offered on the next run"):
            recipe.kondado_retrain(**arguments, job=[sys.executable, "-c", "raise SystemExit(1)"])
        recipe.kondado_retrain(**arguments, job=job)
    assert log.read_text().splitlines() == ["10", "13"]
