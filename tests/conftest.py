"""Shared fixtures: a simulator on 127.0.0.1 per test; the tap's cache in a temp dir; one PostgreSQL server a run.

`make test` runs the suite in two parts: every test not marked `serial` on several pytest-xdist
workers at once, then the `serial` tests alone (see SERIAL_MODULES). A test that waits (a simulator
with limits, a tap process, Meltano, a database) is parallel-safe as long as it keeps to its own
temp dirs, simulators on port 0 and the fixtures here.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tap_kondado.simulator import Simulator
from tests import postgres as pg
from tests import run_dir
from tests.tap_runner import TEST_TOKENS

# Modules whose every test asserts how long something takes, or the time between events (pacing
# gaps, spans against the rate limits' floor): CPU load from concurrent tests stretches those, so
# they run alone, after the parallel part. A timing test elsewhere gets @pytest.mark.serial itself.
SERIAL_MODULES = ("test_pacing", "test_shared_budget")

# The dbt package's builds, one per engine for the whole session (the dbt and report tests share them).
pytest_plugins = ["tests.dbt_builds"]

# Set at import, before any tap runs, and inherited by every tap process the tests start:
# no test touches the user's real ~/.cache (the shared rate budget lives there).
# Tests that need a cache of their own set XDG_CACHE_HOME themselves.
_CACHE = tempfile.mkdtemp(prefix="tap-kondado-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the main process, before it starts any worker
        run_dir.create()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput") and (directory := run_dir.current()):  # every worker is done
        pg.stop_shared_server(directory)
        shutil.rmtree(directory, ignore_errors=True)


# Fixtures that build a dbt warehouse (minutes each) live once per process. Under xdist's `--dist loadgroup`
# every test that reads one runs on the worker that builds it, so each is built once a run, not once a worker:
# the session builds by fixture, a module's own build by module and parameter (test_dbt_edges' two engines).
SESSION_BUILDS = ("duckdb_built", "postgres_built")
MODULE_BUILDS = {"test_time_zones": "built", "test_dbt_edges": "engine", "test_dbt_spark": "spark_built"}


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker, and before xdist reads the group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        name = module.__name__.rsplit(".", 1)[-1] if module is not None else ""
        if name in SERIAL_MODULES:
            item.add_marker(pytest.mark.serial)
        if group := build_group(item, name):
            item.add_marker(pytest.mark.xdist_group(group))


def build_group(item: pytest.Item, module: str) -> str | None:
    """The xdist group of a test that reads a shared dbt build, or None."""
    fixtures = getattr(item, "fixturenames", ())
    for fixture in SESSION_BUILDS:
        if fixture in fixtures:
            return fixture
    fixture = MODULE_BUILDS.get(module)
    if fixture in fixtures:
        callspec = getattr(item, "callspec", None)
        param = callspec.params.get(fixture) if callspec is not None else None
        return f"{module}-{param}" if param is not None else module
    return None


@pytest.fixture(scope="session")
def postgres() -> pg.PostgresServer:
    """The run's throwaway PostgreSQL server, shared by every worker; give each test a database of its own.

    Skips where no server can be started, unless TAP_KONDADO_REQUIRE_POSTGRES=1 (CI): then it fails.
    """
    reason = pg.unavailable_reason()
    if reason is not None:
        if os.environ.get(pg.REQUIRE_ENV) == "1":
            pytest.fail(f"{pg.REQUIRE_ENV}=1 but {reason}")
        pytest.skip(reason)
    return pg.shared_server(run_dir.current())


@pytest.fixture
def make_sim() -> Iterator[Callable[..., Simulator]]:
    """Factory: start a simulator with the test token; every one is stopped afterwards."""
    started: list[Simulator] = []

    def make(**kwargs: Any) -> Simulator:
        kwargs.setdefault("tokens", TEST_TOKENS)
        sim = Simulator(**kwargs).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    """A small simulator, inclusive reading, null cursor on the last page, no limits."""
    return make_sim(pipeline_logs=240, model_logs=130)
