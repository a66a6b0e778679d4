"""The simulator: Kondado's logs and status API on 127.0.0.1, with its limits and its faults."""

from __future__ import annotations

import bisect
import datetime
import functools
import json
import re
import socket
import struct
import sys
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tap_kondado.simulator import scenario as planted
from tap_kondado.simulator.data import (
    DEFAULT_IDS_PER_DAY,
    STREAMS,
    GlobalSequence,
    LogFactory,
    generate,
    generate_realistic,
    stamp,
)
from tap_kondado.simulator.faults import Fault, parse_schedule
from tap_kondado.simulator.statuses import KINDS as STATUS_KINDS
from tap_kondado.simulator.statuses import answer_body, envelope_modes, ids_in_logs, not_found, status_entry

PAGE_SIZE = 50
DEFAULT_LIMITS = ((1, 1.0), (20, 60.0))
PENALTY_SECONDS = 60.0
DEFAULT_TOKENS = {"demo-key": ("demo-token", [1, 2, 3])}
ALL_CLIENTS = [1, 2, 3, 4]  # client 4: logs no demo token may see
_STATUS_PATH = re.compile(r"/(pipelines|models)/([^/]+)/status")


class Simulator:
    """A running (or ready to run) local Kondado API.

    - `reading`: "inclusive" (a page starts at id >= start_element_id) or "exclusive" (> it).
    - `end_signal`: "last" (next_start_element_id is null on the last page) or "empty"
      (null only on an empty page: under the inclusive reading the API then answers
      with the last record and the same cursor forever).
    - `rate_limits`: (max_requests, window_seconds) pairs per key and IP, or () for none;
      rejected requests count too, and an excess blocks the key for the penalty.
    - `time_scale`: multiplies every window and the penalty (0.05: a minute lasts 3 s).
    - `faults`: {request number: fault} (see faults.py); requests are numbered from 1.
    - `realistic`: ids from one sequence shared with other customers (gaps of a few to tens
      of thousands, density changing over time), createdAt over the last `days` ending now,
      nearly but not strictly ascending with id; `ids_per_day` sets how fast that sequence
      runs (default: ~1.5 million ids in 90 days).
    - `scenario`: realistic ids and times, the logs made from scenario.py's catalog (pipelines on
      cadences, each anomaly the dbt package must find) instead of `pipeline_logs`/`model_logs`
      random ones; `statuses` holds what the status endpoints report for them.
    - `statuses`: {"pipelines": {id: {...}}, "models": {id: {...}}}, what the status endpoints
      serve (see statuses.py); an id of the key's logs with no entry answers `active`.
    - `status_envelope`: the status answers' shape: "vendor" (pipelines bare, models
      wrapped, as the vendor's examples), "flipped", "bare", "wrapped", or a dict per kind.
    """

    def __init__(
        self,
        *,
        pipeline_logs: int = 1200,
        model_logs: int = 600,
        tokens: dict[str, tuple[str, list[int]]] | None = None,
        reading: str = "inclusive",
        end_signal: str = "last",
        rate_limits: tuple[tuple[int, float], ...] | list = (),
        time_scale: float = 1.0,
        penalty_seconds: float = PENALTY_SECONDS,
        faults: dict[Any, Any] | None = None,
        seed: int = 7,
        start: datetime.datetime | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        realistic: bool = False,
        days: float = 90,
        ids_per_day: float = DEFAULT_IDS_PER_DAY,
        scenario: bool = False,
        statuses: dict[str, dict[int, dict[str, Any]]] | None = None,
        status_envelope: str | dict[str, str] | None = None,
    ) -> None:
        """Generate the data; nothing listens until `start()`."""
        if reading not in {"inclusive", "exclusive"} or end_signal not in {"last", "empty"}:
            msg = f"reading must be inclusive/exclusive and end_signal last/empty, not {reading}/{end_signal}"
            raise ValueError(msg)
        self.reading, self.end_signal = reading, end_signal
        self.tokens = dict(tokens or DEFAULT_TOKENS)
        self.windows = [(int(n), float(w) * time_scale) for n, w in rate_limits]
        self.penalty = penalty_seconds * time_scale
        self.faults = parse_schedule(faults or {})
        start = start or datetime.datetime.now(datetime.timezone.utc).replace(
            hour=0, minute=0, second=0, microsecond=0
        ) - datetime.timedelta(days=30)
        self.records: dict[str, list[dict[str, Any]]] = {}
        self._ids: dict[str, list[int]] = {}
        self._factories: dict[str, LogFactory] = {}
        self._sequences: dict[str, GlobalSequence] = {}
        self.realistic = realistic or scenario
        self.scenario = scenario
        self.now = now = datetime.datetime.now(datetime.timezone.utc)
        for stream, count in (("pipeline_logs", pipeline_logs), ("model_logs", model_logs)):
            if scenario:
                self.records[stream], self._sequences[stream] = planted.generate_scenario(
                    stream, seed=seed, days=days, now=now, ids_per_day=ids_per_day
                )
                self._factories[stream] = LogFactory(stream, seed, ALL_CLIENTS, now)
            elif realistic:
                self.records[stream], self._factories[stream], self._sequences[stream] = generate_realistic(
                    stream, count, seed=seed, client_ids=ALL_CLIENTS, days=days, now=now, ids_per_day=ids_per_day
                )
            else:
                self.records[stream], self._factories[stream] = generate(
                    stream, count, seed=seed, client_ids=ALL_CLIENTS, start=start
                )
            self._ids[stream] = [r["id"] for r in self.records[stream]]
        self.statuses: dict[str, dict[int, dict[str, Any]]] = {kind: {} for kind in STATUS_KINDS}
        # The scenario's planted statuses, then any given here on top.
        for source in (planted.planted_statuses() if scenario else {}, statuses or {}):
            for kind, entries in source.items():
                self.statuses[kind].update(entries)
        self.status_envelope = envelope_modes(status_envelope)
        self._lock = threading.Lock()
        self._arrivals: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._penalty_until: dict[tuple[str, str], float] = {}
        self.request_count = 0
        self.served = 0
        self.rate_limited = 0
        self.log: list[dict[str, Any]] = []  # one entry per request: number, time, path, outcome
        self._server = _Server((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.simulator = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL to give the tap as `api_url`."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Simulator:
        """Serve in a background thread."""
        # A short poll interval: stop() waits for the serving loop to notice, 0.5 s by default.
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)
        self._thread = threading.Thread(target=serve, name="kondado-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- data ------------------------------------------------------------------

    def append(self, stream: str, count: int, client_id: int | None = None) -> list[dict[str, Any]]:
        """Add `count` new logs, created now, after every existing one."""
        with self._lock:
            factory = self._factories[stream]
            sequence = self._sequences.get(stream)
            new = []
            for _ in range(count):
                last = self._ids[stream][-1] if self._ids[stream] else 1_000_000
                now = datetime.datetime.now(datetime.timezone.utc)
                if sequence is not None:  # as many global ids as the clock handed out meanwhile
                    record_id = sequence.next_id(max(1.0, (now - factory.moment).total_seconds()), now)
                    factory.moment = now
                else:
                    record_id = factory.next_id(last)
                if self.scenario and client_id is None:  # the next run of one of the catalog's steady items
                    record = {"id": record_id, **planted.next_run(stream, self.records[stream], factory.rng, now)}
                else:
                    record = factory.make(record_id, client_id, moment=now)
                record["updatedAt"] = record["createdAt"]  # new, so not edited yet: no updatedAt in the future
                self.records[stream].append(record)
                self._ids[stream].append(record["id"])
                new.append(record)
            return new

    def update_log(self, stream: str, record_id: int, **fields: Any) -> dict[str, Any]:
        """Change a log as Kondado may after its creation: set `fields`, stamp updatedAt now."""
        with self._lock:
            ids = self._ids[stream]
            index = bisect.bisect_left(ids, record_id)
            if index == len(ids) or ids[index] != record_id:  # unsorted (hostile) data: look everywhere
                index = next((i for i, other in enumerate(ids) if other == record_id), -1)
            if index < 0:
                msg = f"no {stream} log with id {record_id}"
                raise KeyError(msg)
            record = self.records[stream][index]
            record.update(fields)
            if "updatedAt" not in fields:
                record["updatedAt"] = stamp(datetime.datetime.now(datetime.timezone.utc))
            return dict(record)

    def set_status(self, kind: str, object_id: int, status: str, raw_msg: str | None = None, **extra: Any) -> dict:
        """Set what `GET /{kind}/{object_id}/status` answers; the flags follow from `status`."""
        if kind not in STATUS_KINDS:
            msg = f"kind must be one of {', '.join(STATUS_KINDS)}, not {kind!r}"
            raise KeyError(msg)
        entry = status_entry(kind, status, raw_msg, **extra)
        with self._lock:
            self.statuses[kind][int(object_id)] = entry
        return dict(entry)

    def page(
        self, stream: str, start_element_id: int, *, key: str | None = None, client_id: int | None = None
    ) -> dict[str, Any]:
        """The answer to one request, in process and uncounted (benchmarks' probes)."""
        key = key or next(iter(self.tokens))
        params = {"key": key, "token": self.tokens[key][0], "start_element_id": str(start_element_id)}
        if client_id is not None:
            params["client_id"] = str(client_id)
        return self._page(f"/{stream}", params)[1]

    def add_records(self, stream: str, records: list[dict[str, Any]]) -> None:
        """Append records as given (hostile-input tests); served in the order added."""
        with self._lock:
            self.records[stream].extend(records)
            self._ids[stream] = [_sort_key(r) for r in self.records[stream]]

    def load(self, records: dict[str, list[dict[str, Any]]]) -> None:
        """Replace the data with saved records (see `--data-file`)."""
        with self._lock:
            for stream, items in records.items():
                self.records[stream] = list(items)
                self._ids[stream] = [_sort_key(r) for r in items]
                # The sequence was made for the data generated at this start (realistic and scenario modes),
                # whose last id may fall below the saved data's: new logs continue after the saved ones.
                if (sequence := self._sequences.get(stream)) is not None and self._ids[stream]:
                    sequence.last_id = max(sequence.last_id, *self._ids[stream])

    def visible(self, stream: str, key: str = "demo-key", client_id: int | None = None) -> list[dict[str, Any]]:
        """Every record the key may see (of one account), in id order: what a full sync emits."""
        clients = set(self.tokens[key][1])
        return [
            r
            for r in self.records[stream]
            if r.get("client_id") in clients and (client_id is None or r.get("client_id") == client_id)
        ]

    def schedule(self, faults: dict[Any, Any], *, relative: bool = False) -> None:
        """Add faults by request number (or, `relative`, counted from the next request)."""
        with self._lock:
            offset = self.request_count if relative else 0
            self.faults.update({n + offset: f for n, f in parse_schedule(faults).items()})

    def stats(self) -> dict[str, Any]:
        """Counters for tests and benchmarks."""
        with self._lock:
            by_path: dict[str, int] = defaultdict(int)
            for entry in self.log:
                by_path[entry["path"]] += 1
            return {
                "requests": self.request_count,
                "served": self.served,
                "rate_limited": self.rate_limited,
                "by_path": dict(by_path),
                "records": {s: len(r) for s, r in self.records.items()},
            }

    # --- answering -------------------------------------------------------------

    def answer(self, path: str, query: dict[str, list[str]], ip: str) -> tuple[Fault | None, int, dict]:
        """Decide one log request: (fault or None, status, body)."""
        params = {k: v[-1] for k, v in query.items()}
        key = params.get("key", "")
        with self._lock:
            self.request_count += 1
            number = self.request_count
            now = time.monotonic()
            entry = {
                "n": number,
                "t": now,
                "path": path,
                "start": params.get("start_element_id"),
                "client_id": params.get("client_id"),
                "outcome": "served",
            }
            self.log.append(entry)
            limited = self._rate_limited(key, ip, now)
            if limited is not None:
                self.rate_limited += 1
                entry["outcome"] = "rate_limited"
                return None, 200, limited
            fault = self.faults.pop(number, None)
            if fault is not None:
                entry["outcome"] = f"fault:{fault.kind}"
            match = _STATUS_PATH.fullmatch(path)
            status, body = self._status(*match.groups(), params) if match else self._page(path, params)
            if fault is None and body.get("success") is not False:
                self.served += 1
            return fault, status, body

    def _rate_limited(self, key: str, ip: str, now: float) -> dict | None:
        if not self.windows:
            return None
        who = (key, ip)
        arrivals = self._arrivals[who]
        arrivals.append(now)  # rejected requests count too
        longest = max(w for _, w in self.windows)
        while arrivals and arrivals[0] <= now - longest:
            arrivals.popleft()
        if now < self._penalty_until.get(who, 0.0):
            return rate_limit_body(self.penalty)
        for max_requests, window in self.windows:
            if sum(1 for t in arrivals if t > now - window) > max_requests:
                self._penalty_until[who] = now + self.penalty
                return rate_limit_body(self.penalty)
        return None

    def _page(self, path: str, params: dict[str, str]) -> tuple[int, dict]:
        stream = path.strip("/")
        if stream not in STREAMS:
            return 404, {"success": False, "error": "NOT_FOUND", "message": f"no endpoint {path}"}
        token_and_clients = self.tokens.get(params.get("key", ""))
        if token_and_clients is None or token_and_clients[0] != params.get("token"):
            return 200, {"success": False, "error": "INVALID_TOKEN", "message": "Invalid key or token."}
        try:
            start = int(params["start_element_id"])
            client_id = int(params["client_id"]) if "client_id" in params else None
        except (KeyError, ValueError):
            return 200, {
                "success": False,
                "error": "INVALID_PARAMETERS",
                "message": "start_element_id (integer) is required; client_id must be an integer.",
            }
        clients = set(token_and_clients[1])
        if client_id is not None:
            clients &= {client_id}
        records, ids = self.records[stream], self._ids[stream]
        index = bisect.bisect_left(ids, start) if self.reading == "inclusive" else bisect.bisect_right(ids, start)
        page: list[dict[str, Any]] = []
        more = False
        for record in records[index:]:
            if record.get("client_id") in clients:
                if len(page) == PAGE_SIZE:
                    more = True
                    break
                page.append(record)
        if not page:
            next_id = None
        elif self.end_signal == "empty" or more:
            next_id = page[-1]["id"]
        else:
            next_id = None
        return 200, {
            "success": True,
            "data": {"success": True, "data": page, "pagination": {"next_start_element_id": next_id}},
        }

    def _status(self, kind: str, id_text: str, params: dict[str, str]) -> tuple[int, dict]:
        """One status answer: set, `active` for an id of the key's logs, else NOT_FOUND (lock held)."""
        token_and_clients = self.tokens.get(params.get("key", ""))
        if token_and_clients is None or token_and_clients[0] != params.get("token"):
            return 200, {"success": False, "error": "INVALID_TOKEN", "message": "Invalid key or token."}
        if not id_text.isdigit():
            return 200, not_found(kind, id_text)
        object_id = int(id_text)
        stream, id_field = STATUS_KINDS[kind]
        visible, anywhere = ids_in_logs(self.records[stream], id_field, set(token_and_clients[1]))
        entry = self.statuses[kind].get(object_id, self.statuses[kind].get(str(object_id)))  # type: ignore[call-overload]
        if object_id in visible or (entry is not None and object_id not in anywhere):
            entry = entry if entry is not None else status_entry(kind, "active")
            return 200, answer_body(object_id, entry, self.status_envelope[kind])
        return 200, not_found(kind, id_text)


def rate_limit_body(seconds: float) -> dict:
    """Kondado's answer to an excess, naming the wait."""
    return {
        "success": False,
        "error": "RATE_LIMIT_EXCEEDED",
        "message": f"Too many requests. Please try again in {seconds:g} seconds.",
    }


def _sort_key(record: dict[str, Any]) -> int:
    record_id = record.get("id")
    return record_id if isinstance(record_id, int) else -1


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet when a client hung up first (it timed out on a `slow` fault, or was reset)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "KondadoSimulator/1.0"
    # Headers and body go out in two writes: with Nagle on, the body waits ~40 ms for the
    # client's delayed ACK, which would dominate every timing the tests and benchmark take.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the default prints request lines, and they carry the token."""

    @property
    def sim(self) -> Simulator:
        return self.server.simulator  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path.startswith("/_admin/stats"):
            self._send(200, json.dumps(self.sim.stats()).encode())
            return
        fault, status, body = self.sim.answer(parts.path, parse_qs(parts.query), self.client_address[0])
        payload = json.dumps(body).encode()
        if fault is None:
            self._send(status, payload)
        else:
            self._fault(fault, status, payload)

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
            if parts.path == "/_admin/append":
                new = self.sim.append(request["stream"], int(request.get("count", 1)), request.get("client_id"))
                self._send(200, json.dumps({"appended": len(new), "last_id": new[-1]["id"] if new else None}).encode())
            elif parts.path == "/_admin/update":
                record = self.sim.update_log(request["stream"], int(request["id"]), **dict(request.get("fields") or {}))
                self._send(200, json.dumps({"updated": record}).encode())
            elif parts.path == "/_admin/status":
                extra = {k: v for k, v in request.items() if k not in {"kind", "id", "status", "raw_msg"}}
                entry = self.sim.set_status(
                    request["kind"], int(request["id"]), request["status"], request.get("raw_msg"), **extra
                )
                self._send(200, json.dumps({"status": entry}).encode())
            elif parts.path == "/_admin/faults":
                self.sim.schedule(request.get("faults", {}), relative=bool(request.get("relative")))
                self._send(200, b'{"ok": true}')
            else:
                self._send(404, b'{"error": "unknown admin path"}')
        except (ValueError, KeyError) as exc:
            self._send(400, json.dumps({"error": str(exc)}).encode())

    def _send(
        self, status: int, payload: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _drip(self, status: int, payload: bytes, every: float) -> None:
        """The whole answer a byte at a time: each read is quick, the answer never ends."""
        self.close_connection = True
        for byte in _drip_bytes(status, payload):
            self.wfile.write(bytes((byte,)))
            time.sleep(every)

    def _fault(self, fault: Fault, status: int, payload: bytes) -> None:
        kind, arg = fault.kind, fault.argument
        html = b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"
        if kind in {"500", "502", "503"}:
            self._send(int(kind), html, "text/html")
        elif kind == "429":
            self._send(429, b"", "text/plain", {"Retry-After": arg} if arg else None)
        elif kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
        elif kind == "slow":
            time.sleep(float(arg or 5))
            self._send(status, payload)
        elif kind == "drip":
            self._drip(status, payload, float(arg or 0.5))
        elif kind == "malformed":
            self._send(200, b'{"success": true, "data": {"success": tru')
        elif kind == "truncated":
            self._send(200, payload[: len(payload) // 2])
        elif kind == "html":
            self._send(200, html, "text/html")
        elif kind in {"rate_limit", "inner_rate_limit"}:
            body = rate_limit_body(float(arg) if arg else self.sim.penalty)
            self._send(200, json.dumps(_wrap(body, inner=kind.startswith("inner"))).encode())
        elif kind in {"error", "inner_error"}:
            body = {"success": False, "error": arg or "INTERNAL_ERROR", "message": "Simulated error."}
            self._send(200, json.dumps(_wrap(body, inner=kind.startswith("inner"))).encode())
        elif kind == "body":
            self._send(fault.status, fault.body.encode(), fault.content_type)


def _drip_bytes(status: int, payload: bytes) -> bytes:
    head = f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    return head.encode() + payload


def _wrap(error: dict, *, inner: bool) -> dict:
    return {"success": True, "data": error} if inner else error
