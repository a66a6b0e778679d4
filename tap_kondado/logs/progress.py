"""Progress lines during a sync and a summary per stream at its end.

A first sync can take hours at Kondado's limits; the SDK's metric lines do not say how
far it is. Every `interval` seconds at most (and when a stream-partition ends), one INFO
line says how many logs and requests so far, the newest createdAt reached, how far behind
now that is, and an ETA. The same facts go in the record's `extra` (under "progress" /
"summary") for JSON logging. Everything here runs once per page or per request, never per
record.

The ETA is the time the requests still to make take. Requests left: the createdAt still
to cover (up to now) over the createdAt a page covered lately (the last RECENT_PAGES
pages). Their time: the rate limits' windows played forward from the times the last pages
came back (a run's first burst is not repeated), each request also taking what the
fastest recent page took beyond the pacing; without limits, what the recent pages took.
It stays "unknown" until MIN_PAGES pages have been read and the recent pages' density
agrees with the whole scroll's within DENSITY_AGREEMENT: logs thinning or thickening make
any extrapolation wrong. The API does not say where the logs end: the first time an ETA
is due, a few probes ahead find out (scroll_end.py). If the logs run on to about now, the
createdAt still to cover runs to now; if they stop earlier, the pages left are the ids
to the end over the ids a page covered lately, and the ETA is "unknown" while the end is
not known to within END_PRECISION of the ids left.
"""

from __future__ import annotations

import collections
import datetime
import itertools
import math
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tap_kondado.errors import KondadoAPIError
from tap_kondado.logs.scroll_end import END_PRECISION, ScrollEnd, find_end
from tap_kondado.times import parse_time, sortable_time
from tap_kondado.transport.rate_limit import Window, ready_at

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from tap_kondado.transport.envelope import Page

DEFAULT_INTERVAL = 30.0  # seconds between progress lines
INTERVAL_ENV = "KONDADO_PROGRESS_SECONDS"  # tests shorten it
MIN_PAGES = 10  # pages read before an ETA is given
RECENT_PAGES = 20  # the pages the density and the pace are measured over
DENSITY_AGREEMENT = 1.5  # recent vs whole-scroll createdAt per page: within this factor, or no ETA
PLAYED_REQUESTS = 200  # requests the windows are played forward for; the rest at the long-run pace


def limiter_windows(limiter: object) -> tuple[Window, ...]:
    """The rate-limit windows a paced session's limiter keeps (none without limits)."""
    return tuple(getattr(limiter, "windows", ()) or ())


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
        windows: tuple[Window, ...] = (),
        probe: Callable[[int], Page] | None = None,
    ) -> None:
        """Start counting; `clock` (seconds) and `now` (UTC wall time) are injectable for tests.

        `windows`: the rate limits the requests are paced by (limiter_windows); `probe`: one
        page at a `start_element_id`, to find where the scroll ends (None: no ETA past now's).
        """
        self.logger, self.stream, self.stats, self.client_id = logger, stream, stats, client_id
        self.interval, self._clock, self._now = interval, clock, now
        self.windows = tuple(w for w in windows if w.max_requests > 0)
        depth = max((w.max_requests for w in self.windows), default=0)
        self._answers: collections.deque[float] = collections.deque(maxlen=max(depth, RECENT_PAGES) + 1)
        self._logs_at_start, self._requests_at_start = stats.logs, stats.requests
        self._last_line = clock()
        self._pages = 0
        # (page number, clock, createdAt seconds, last id) of pages that moved createdAt forward
        self._first: tuple[int, float, float, int | None] | None = None
        self._recent: collections.deque[tuple[int, float, float, int | None]] = collections.deque(
            maxlen=RECENT_PAGES + 1
        )
        self.newest_created: datetime.datetime | None = None
        self._probe = probe
        #: Where the scroll ends, once probed (None: not yet, no probe, or the probe failed).
        self.scroll_end: ScrollEnd | None = None
        self._end_probed = False

    def page(self, last_created_at: object, last_id: int | None = None) -> None:
        """A page was emitted; `last_created_at` is its last log's createdAt (as the API sent it), `last_id` its id."""
        self._pages += 1
        self._answers.append(self._clock())
        created = parse_time(last_created_at)
        if created is not None and (self.newest_created is None or created > self.newest_created):
            self.newest_created = created
            sample = (self._pages, self._clock(), created.timestamp(), last_id)
            self._recent.append(sample)
            if self._first is None:
                self._first = sample
        if self._clock() - self._last_line >= self.interval:
            self.log()

    def end(self) -> None:
        """The stream-partition is done: a last line."""
        self.log(final=True)

    def eta_seconds(self) -> float | None:
        """Requests left (to where the scroll ends, at the recent density) times the time one takes; None: unknown."""
        if self._first is None or self._pages < MIN_PAGES:
            return None
        (page_a, clock_a, created_a, id_a), (page_b, clock_b, created_b, id_b) = self._recent[0], self._recent[-1]
        pages, whole = page_b - page_a, page_b - self._first[0]
        if pages <= 0 or created_b <= created_a:
            return None
        per_page = (created_b - created_a) / pages  # createdAt seconds a page covers lately
        overall = (created_b - self._first[2]) / whole
        if not 1 / DENSITY_AGREEMENT <= per_page / overall <= DENSITY_AGREEMENT:
            return None  # the logs grow denser or sparser: no extrapolation holds
        now = self._now().timestamp()
        left: int | None = math.ceil(max(0.0, now - created_b) / per_page)
        if self._probe is not None:
            ids_per_page = (id_b - id_a) / pages if id_a is not None and id_b is not None else 0.0
            left = self._pages_to_the_end(left, id_b, ids_per_page, now - END_PRECISION * (now - created_b))
        if left is None:
            return None
        if not self.windows:
            return left * (clock_b - clock_a) / pages
        return self._paced_seconds(left)

    def _pages_to_the_end(self, to_now: int, position: int | None, ids_per_page: float, recent: float) -> int | None:
        """The pages left where the scroll ends (probed once): `to_now` if the logs run on to now; None: unknown."""
        if position is None or ids_per_page <= 0:
            return None
        if not self._end_probed:
            self._end_probed = True
            far = position + math.ceil(to_now * ids_per_page)  # where the logs would be by now
            self.scroll_end = self._find_end(position, far, recent=recent, page_ids=ids_per_page)
        if self.scroll_end is None:
            return None
        if self.scroll_end.high is None:
            return to_now
        ids_left = self.scroll_end.ids_left(position, ids_per_page)  # the logs stop before now: the ids to the end
        return None if ids_left is None else max(1, math.ceil(ids_left / ids_per_page))  # still running: one more

    def _find_end(self, position: int, far: int, **search: Any) -> ScrollEnd | None:
        """Probe where the scroll ends (once); each probe counted among the answers the pacing plays forward."""
        assert self._probe is not None  # noqa: S101

        def probe(start: int) -> Page:
            page = self._probe(start)
            self._answers.append(self._clock())
            return page

        try:
            return find_end(probe, position, far, **search)
        except KondadoAPIError as exc:  # the scroll's own next request will say what is wrong
            self.logger.info("%s: where the logs end is unknown (%s): no ETA this run", self.stream, exc)
            return None

    def _paced_seconds(self, count: int) -> float:
        """Seconds `count` more requests take under the windows, from the times the last pages came back."""
        answers = list(self._answers)
        gaps = [b - a for a, b in itertools.pairwise(answers)]
        single = min((w.seconds for w in self.windows if w.max_requests == 1), default=0.0)
        latency = max(0.0, min(gaps, default=0.0) - single)  # a request's own time, beyond the pacing
        start = answer = answers[-1] if answers else self._clock()
        played = min(count, PLAYED_REQUESTS)
        for _ in range(played):
            leave = max(answer, ready_at(self.windows, answers, answer)[0])
            answer = leave + latency
            answers.append(answer)
        steady = max(w.seconds / w.max_requests for w in self.windows)
        return answer - start + (count - played) * max(steady, latency)

    def fields(self, *, final: bool = False) -> dict[str, Any]:
        """The facts of a progress line."""
        behind = None if self.newest_created is None else (self._now() - self.newest_created).total_seconds()
        eta = 0.0 if final else self.eta_seconds()
        return {
            "stream": self.stream,
            "client_id": self.client_id,
            "logs": self.stats.logs - self._logs_at_start,
            "requests": self.stats.requests - self._requests_at_start,
            "newest_created_at": sortable_time(self.newest_created),
            "behind_seconds": None if behind is None else round(behind),
            "eta_seconds": None if eta is None else round(eta),
            "done": final,
        }

    def log(self, *, final: bool = False) -> None:
        """One INFO line, with the same facts in `extra`."""
        facts = self.fields(final=final)
        self._last_line = self._clock()  # after the facts: finding where the logs end takes requests
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
