"""Run the real tap in this process against an in-memory API: milliseconds per sync.

The tap's streams (SDK loop, ScrollPaginator, envelope, post_process, state) run as in
production; only the HTTP transport is replaced. `ModelAPI` is the documented scroll with
the knobs the docs leave open.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from tap_kondado.tap import TapKondado
from tests.responses import page_body
from tests.tap_runner import TapRun, config_for, parse_messages

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


def sync_in_process(
    answer: Answer, state: dict | None = None, selected: tuple[str, ...] | None = None, **config: Any
) -> InProcessRun:
    """Run TapKondado.sync_all against `answer`; collect its Singer messages and any error.

    `selected`: the streams to run (as a catalog would select them); else those selected by default.
    """
    tap = TapKondado(config=config_for(FAKE_URL, **config), state=state or {})
    for stream in tap.streams.values() if selected is not None else ():
        stream.selected = stream.name in selected
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
