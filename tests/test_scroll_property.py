"""Property tests of the scroll: every record exactly once, ascending, bookmark = max id.

The tap's real streams (SDK loop, ScrollPaginator, envelope, post_process, state) run
in this process; only the HTTP transport is replaced, by an in-memory API. That makes
an example cost milliseconds, so hypothesis can try hundreds of data sets, page
boundaries, readings of `start_element_id`, appends between pages and bookmarks.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tap_kondado.simulator import Simulator
from tests.in_process import EMPTY_PAGE, InProcessRun, ModelAPI, sync_in_process
from tests.tap_runner import TEST_TOKENS, bookmark


@st.composite
def starts(draw: st.DrawFn) -> tuple[dict | None, dict, int]:
    """(state, config, after_id): a bookmark, a start_element_id, or neither."""
    kind = draw(st.sampled_from(["fresh", "start_element_id", "bookmark"]))
    if kind == "fresh":
        return None, {}, -1
    value = draw(st.integers(0, 450))
    if kind == "start_element_id":
        return None, {"start_element_id": value}, value - 1
    state = {"bookmarks": {"pipeline_logs": {"replication_key": "id", "replication_key_value": value}}}
    return state, {}, value


def assert_exactly_once(run: InProcessRun, expected: list[int], state: dict | None, stream: str) -> None:
    assert run.error is None, run.error
    assert run.ids(stream) == expected  # each once, ascending, none missing
    start_bookmark = bookmark(state or {}, stream)
    assert bookmark(run.final_state, stream) == (max(expected) if expected else start_bookmark)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    # Ids from 1: under the exclusive reading nothing can ask for id 0 (start_element_id >= 0).
    ids=st.lists(st.integers(1, 400), max_size=180, unique=True).map(sorted),
    page_size=st.integers(2, 60),
    inclusive=st.booleans(),
    end_on_empty=st.booleans(),
    cursor_lag=st.integers(0, 3),
    appends=st.dictionaries(st.integers(2, 8), st.integers(1, 70), max_size=3),
    # Runs of hidden ids, so whole pages can come out empty.
    hidden=st.lists(st.tuples(st.integers(1, 400), st.integers(1, 120)), max_size=3).map(
        lambda runs: frozenset(i for first, length in runs for i in range(first, first + length))
    ),
    start=starts(),
)
def test_scroll_emits_each_record_once_against_the_model(
    *, ids, page_size, inclusive, end_on_empty, cursor_lag, appends, hidden, start
):
    state, config, after_id = start
    # A lagging cursor over a page filtered to nothing would not move: the API's own loop.
    lag = 0 if hidden else min(cursor_lag, page_size - 1)
    api = ModelAPI(list(ids), page_size, inclusive, end_on_empty, lag, appends, hidden)
    run = sync_in_process(api, state, **config)
    assert_exactly_once(run, [i for i in api.ids if i > after_id and i not in hidden], state, "pipeline_logs")


# --- the simulator's own page logic, without HTTP ----------------------------------


@pytest.fixture(scope="module")
def module_sim() -> Iterator[Simulator]:
    sim = Simulator(pipeline_logs=0, model_logs=0, tokens=TEST_TOKENS).start()
    yield sim
    sim.stop()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ids=st.lists(st.integers(1, 2000), max_size=260, unique=True).map(sorted),
    clients=st.lists(st.integers(1, 4), min_size=1, max_size=8),
    reading=st.sampled_from(["inclusive", "exclusive"]),
    end_signal=st.sampled_from(["last", "empty"]),
    appends=st.dictionaries(st.integers(2, 7), st.integers(1, 60), max_size=2),
    start=starts(),
)
def test_scroll_emits_each_record_once_against_the_simulator(
    module_sim, *, ids, clients, reading, end_signal, appends, start
):
    """Client 4's logs are invisible to the test token: gaps the scroll must cross."""
    sim = module_sim
    state, config, after_id = start
    stamp = "2026-01-02T03:04:05.678Z"
    sim.load({"pipeline_logs": [{"id": i, "client_id": clients[i % len(clients)], "createdAt": stamp} for i in ids]})
    sim.reading, sim.end_signal = reading, end_signal
    served = {"n": 0}

    def answer(path: str, params: dict[str, str]) -> tuple[int, dict]:
        if path != "/pipeline_logs":
            return 200, EMPTY_PAGE
        served["n"] += 1
        if count := appends.get(served["n"]):
            sim.append("pipeline_logs", count, client_id=clients[served["n"] % len(clients)])
        _, status, body = sim.answer(path, {k: [v] for k, v in params.items()}, "127.0.0.1")
        return status, body

    run = sync_in_process(answer, state, **config)
    visible = sim.visible("pipeline_logs", key=next(iter(TEST_TOKENS)))
    expected = [r for r in visible if r["id"] > after_id]
    assert_exactly_once(run, [r["id"] for r in expected], state, "pipeline_logs")
    if expected:  # the createdAt kept next to the bookmark is the bookmarked record's
        assert run.final_state["bookmarks"]["pipeline_logs"]["last_created_at"] == expected[-1]["createdAt"]
