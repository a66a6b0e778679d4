"""Property tests of the scroll: every record exactly once, ascending, bookmark = max id.

The tap's real streams (SDK loop, ScrollPaginator, envelope, post_process, state) run
in this process; only the HTTP transport is replaced, by an in-memory API. That makes
an example cost milliseconds, so hypothesis can try hundreds of data sets, page
boundaries, readings of `start_element_id`, appends between pages and bookmarks.
The `sync_in_process` harness is shared with the hostile-input and retention tests.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tap_kondado.simulator import Simulator
from tap_kondado.tap import TapKondado
from tests.responses import page_body
from tests.tap_runner import TEST_TOKENS, TapRun, bookmark, config_for, parse_messages

# Loopback, so the api_url check passes; nothing listens: the transport below answers.
FAKE_URL = "http://127.0.0.1:9"

# (path, query parameters) -> (HTTP status, JSON-able body or raw bytes)
Answer = Callable[[str, dict[str, str]], tuple[int, Any]]


class FakeTransport(requests.adapters.BaseAdapter):
    """A requests adapter that answers in-process, recording each request's parameters."""

    def __init__(self, answer: Answer) -> None:
        super().__init__()
        self.answer = answer
        self.requests: list[tuple[str, dict[str, str]]] = []

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:
        parts = urlsplit(request.url)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.requests.append((parts.path, params))
        status, body = self.answer(parts.path, params)
        response = requests.Response()
        response.status_code = status
        response.reason = HTTPStatus(status).phrase
        response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.url, response.request = request.url, request
        return response

    def close(self) -> None:
        pass


@dataclass
class InProcessRun(TapRun):
    """A TapRun of an in-process sync: `error` is what sync_all raised, if anything."""

    error: BaseException | None = None
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def sync_in_process(answer: Answer, state: dict | None = None, **config: Any) -> InProcessRun:
    """Run TapKondado.sync_all against `answer`; collect its Singer messages and any error."""
    tap = TapKondado(config=config_for(FAKE_URL, **config), state=state or {})
    transport = FakeTransport(answer)
    tap.paced_session.mount("http://", transport)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    error = None
    with contextlib.redirect_stdout(out):
        try:
            tap.sync_all()
        except Exception as exc:  # the outcome under test
            error = exc
        if flush := getattr(tap.message_writer, "flush", None):  # a buffering writer's tail
            flush()
        out.flush()
    stdout = out.buffer.getvalue().decode()
    return InProcessRun(1 if error else 0, stdout, "", parse_messages(stdout), error, transport.requests)


EMPTY_PAGE = page_body([], None)


# --- a pure model of the API ------------------------------------------------------


@dataclass
class ModelAPI:
    """The documented scroll, with the knobs the docs leave open."""

    ids: list[int]
    page_size: int
    inclusive: bool  # a page starts at id >= start (else > start)
    end_on_empty: bool  # null cursor only on an empty page (else on the last one)
    cursor_lag: int  # the cursor names the id `lag` records before the page's last
    appends: dict[int, int]  # before request n: this many new logs, above every id
    # Logs the token may not see, dropped *after* the page was cut: pages come out short
    # or empty while the cursor moves on (the docs do not say which way Kondado filters).
    hidden: frozenset[int] = frozenset()
    served: int = 0

    def __call__(self, path: str, params: dict[str, str]) -> tuple[int, dict]:
        if path != "/pipeline_logs":
            return 200, EMPTY_PAGE
        self.served += 1
        for _ in range(self.appends.get(self.served, 0)):
            self.ids.append((self.ids[-1] if self.ids else 0) + 1 + self.served % 3)
        start = int(params["start_element_id"])
        at = bisect.bisect_left(self.ids, start) if self.inclusive else bisect.bisect_right(self.ids, start)
        page = self.ids[at : at + self.page_size]
        more = at + self.page_size < len(self.ids)
        next_id = page[max(0, len(page) - 1 - self.cursor_lag)] if page and (more or self.end_on_empty) else None
        return 200, page_body([{"id": i, "client_id": 1} for i in page if i not in self.hidden], next_id)


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
