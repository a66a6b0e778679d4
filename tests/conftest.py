"""Shared fixtures: a simulator on 127.0.0.1 per test; the tap's cache in a temp dir."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tap_kondado.simulator import Simulator
from tests.tap_runner import TEST_TOKENS

# The dbt package's builds, one per engine for the whole session (the dbt and report tests share them).
pytest_plugins = ["tests.dbt_builds"]

# Set at import, before any tap runs, and inherited by every tap process the tests start:
# no test touches the user's real ~/.cache (the shared rate budget lives there).
# Tests that need a cache of their own set XDG_CACHE_HOME themselves.
_CACHE = tempfile.mkdtemp(prefix="tap-kondado-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)


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
