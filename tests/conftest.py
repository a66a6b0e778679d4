"""Shared fixtures: a simulator on 127.0.0.1 per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tap_kondado.simulator import Simulator
from tests.tap_runner import TEST_TOKENS


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
