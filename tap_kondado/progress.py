"""Progress lines during a sync and a summary per stream at its end.

A first sync can take hours at Kondado's limits; the SDK's metric lines do not say how
far it is. Every `interval` seconds at most (and when a stream-partition ends), one INFO
line says how many logs and requests so far, the newest createdAt reached, how far behind
now that is, and an ETA from how fast createdAt advances against the clock. The same
facts go in the record's `extra` (under "progress" / "summary") for JSON logging.
Everything here runs once per page or per request, never per record.
"""

from __future__ import annotations

import datetime
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tap_kondado.lookback import comparable, parse_time

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

DEFAULT_INTERVAL = 30.0  # seconds between progress lines
INTERVAL_ENV = "KONDADO_PROGRESS_SECONDS"  # tests shorten it


def interval_from_env() -> float:
    """The progress interval: 30 s, or what the environment asks (tests)."""
    try:
        return max(0.0, float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL)))
    except ValueError:
        return DEFAULT_INTERVAL


def utc_now() -> datetime.datetime:
    """The wall clock, in UTC."""
    return datetime.datetime.now(datetime.timezone.utc)


@dataclass
class StreamStats:
    """What one stream did in this run, over all its partitions."""

    new: int = 0
    changed: int = 0
    requests: int = 0
    waited_seconds: float = 0.0
    rate_limited: int = 0

    @property
    def logs(self) -> int:
        """Logs emitted: new and changed."""
        return self.new + self.changed

    def summary(self, stream: str) -> tuple[str, dict[str, Any]]:
        """The end-of-run line and its structured fields."""
        fields = {
            "stream": stream,
            "logs": self.logs,
            "new": self.new,
            "changed": self.changed,
            "requests": self.requests,
            "rate_limit_wait_seconds": round(self.waited_seconds, 1),
            "rate_limit_answers": self.rate_limited,
        }
        text = (
            f"{stream}: run summary: {_count(self.logs, 'log')} emitted ({self.new:,} new, {self.changed:,} changed), "
            f"{_count(self.requests, 'request')}, {self.waited_seconds:,.1f} s waited for rate limits, "
            f"{_count(self.rate_limited, 'rate-limit answer')}"
        )
        return text, fields


class Progress:
    """Progress of one stream-partition: fed once per page, logs at most every `interval`."""

    def __init__(
        self,
        logger: logging.Logger,
        stream: str,
        stats: StreamStats,
        *,
        client_id: int | None = None,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime.datetime] = utc_now,
    ) -> None:
        """Start counting; `clock` (seconds) and `now` (UTC wall time) are injectable for tests."""
        self.logger, self.stream, self.stats, self.client_id = logger, stream, stats, client_id
        self.interval, self._clock, self._now = interval, clock, now
        self._logs_at_start, self._requests_at_start = stats.logs, stats.requests
        self._last_line = clock()
        self._first: tuple[float, datetime.datetime] | None = None  # (clock, createdAt) of the first page
        self._latest: tuple[float, datetime.datetime] | None = None
        self.newest_created: datetime.datetime | None = None

    def page(self, last_created_at: object) -> None:
        """A page was emitted; `last_created_at` is its last log's createdAt (as the API sent it)."""
        created = parse_time(last_created_at)
        if created is not None and (self.newest_created is None or created > self.newest_created):
            self.newest_created = created
            sample = (self._clock(), created)
            self._latest = sample
            if self._first is None:
                self._first = sample
        if self._clock() - self._last_line >= self.interval:
            self.log()

    def end(self) -> None:
        """The stream-partition is done: a last line."""
        self.log(final=True)

    def eta_seconds(self) -> float | None:
        """Seconds until the scroll reaches now, at the pace createdAt has advanced so far; None if unknown."""
        if self._first is None or self._latest is None:
            return None
        elapsed = self._latest[0] - self._first[0]
        advanced = (self._latest[1] - self._first[1]).total_seconds()
        if elapsed <= 0 or advanced <= 0:
            return None
        behind = (self._now() - self._latest[1]).total_seconds()
        return max(0.0, behind) * elapsed / advanced

    def fields(self, *, final: bool = False) -> dict[str, Any]:
        """The facts of a progress line."""
        behind = None if self.newest_created is None else (self._now() - self.newest_created).total_seconds()
        eta = 0.0 if final else self.eta_seconds()
        return {
            "stream": self.stream,
            "client_id": self.client_id,
            "logs": self.stats.logs - self._logs_at_start,
            "requests": self.stats.requests - self._requests_at_start,
            "newest_created_at": comparable(self.newest_created),
            "behind_seconds": None if behind is None else round(behind),
            "eta_seconds": None if eta is None else round(eta),
            "done": final,
        }

    def log(self, *, final: bool = False) -> None:
        """One INFO line, with the same facts in `extra`."""
        self._last_line = self._clock()
        facts = self.fields(final=final)
        where = self.stream if self.client_id is None else f"{self.stream} (client_id {self.client_id})"
        reached = (
            "no log yet"
            if self.newest_created is None
            else f"newest createdAt {facts['newest_created_at']}, {_duration(facts['behind_seconds'])} behind now"
        )
        if final:
            eta = "done"
        elif facts["eta_seconds"] is None:
            eta = "ETA unknown"
        else:
            eta = f"ETA {_duration(facts['eta_seconds'])}"
        self.logger.info(
            "%s: %s: %s, %s; %s; %s",
            "Finished" if final else "Progress",
            where,
            _count(facts["logs"], "log"),
            _count(facts["requests"], "request"),
            reached,
            eta,
            extra={"progress": facts},
        )


def _count(number: int, noun: str) -> str:
    """`1 request`, `2 requests`, `1,000 logs`."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _duration(seconds: float) -> str:
    """A duration a person reads at a glance: 45 s, 12 min, 3.4 h, 2.1 days."""
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
