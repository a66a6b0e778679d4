"""Client-side pacing for Kondado's per-key limits (1 request/s and 20/min by default).

The server answers an excess with a 60-second penalty, so the cheapest request is the
one never rejected: every request waits here until it fits in every sliding window.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

import requests
from requests.utils import resolve_proxies

from tap_kondado.transport.deadline import answer_deadline

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

logger = logging.getLogger("tap-kondado.rate_limit")

DEFAULT_RATE_LIMITS = ({"max_requests": 1, "window_seconds": 1}, {"max_requests": 20, "window_seconds": 60})
MARGIN = 0.01  # of each window: clock skew and the server's window edges
LOG_WAITS_LONGER_THAN = 3.0  # seconds; shorter waits are routine pacing
_CLOCK_EPSILON = 1e-9  # seconds: float rounding in `now + wait`, not a real wait


@dataclass(frozen=True, slots=True)
class Window:
    """At most `max_requests` in any `seconds`-long sliding window."""

    max_requests: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.max_requests} request(s) per {self.seconds:g} s"


class SlidingWindowLimiter:
    """Blocks each request until it fits in every window; thread-safe, one per tap.

    A slot is stamped when the request leaves and stamped again when its answer
    arrives: the server saw it somewhere in between, so the later stamp is the safe one.
    With stamps taken that way, the next request reaches the server at least a full
    window after the one it is paced against, however long either spent in transit.
    """

    def __init__(
        self,
        windows: Iterable[Window],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Build a limiter; `clock` and `sleep` are injectable for tests."""
        self.windows = tuple(windows)
        depth = max((w.max_requests for w in self.windows), default=0)
        self._slots: deque[list[float]] = deque(maxlen=depth)
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._penalty_until = -math.inf
        self.waited_seconds = 0.0

    @classmethod
    def from_config(cls, limits: Iterable[Mapping[str, float]] | None) -> SlidingWindowLimiter:
        """From the `rate_limits` setting (None: Kondado's documented limits)."""
        return cls(
            Window(int(item["max_requests"]), float(item["window_seconds"]))
            for item in (DEFAULT_RATE_LIMITS if limits is None else limits)
        )

    def acquire(self) -> list[float]:
        """Wait for a free slot and take it; returns the slot to `release` later."""
        with self._lock:  # held while sleeping: requests leave one at a time, in order
            logged = False
            while True:
                now = self._clock()
                at, window = self._ready_at(now)
                wait = at - now
                if wait <= _CLOCK_EPSILON:
                    break
                if wait > LOG_WAITS_LONGER_THAN and not logged:
                    logger.info("Rate limit: waiting %.1f s %s", wait, _reason(window))
                    logged = True
                self._sleep(wait)
                self.waited_seconds += wait
                # Loop: a request still in flight may have been re-stamped meanwhile.
            slot = [max(now, at)]
            self._slots.append(slot)
            return slot

    def wait_seconds(self) -> float:
        """Seconds until a request would fit every window and any penalty (0: now); takes no slot."""
        with self._lock:
            now = self._clock()
            return max(0.0, self._ready_at(now)[0] - now)

    def sent(self) -> list[float]:
        """Note a request paced elsewhere (the shared budget), so this limiter can take over at once."""
        slot = [self._clock()]
        self._slots.append(slot)
        return slot

    def release(self, slot: list[float]) -> None:
        """Re-stamp a slot when its answer (or failure) arrives.

        Takes no lock: only the request's own thread writes its slot, and it must not
        wait behind another thread that sleeps in `acquire` holding the lock.
        """
        slot[0] = max(slot[0], self._clock())

    def penalize(self, seconds: float) -> None:
        """The API answered RATE_LIMIT_EXCEEDED: send nothing until `seconds` from now."""
        self._penalty_until = max(self._penalty_until, self._clock() + seconds)

    def _ready_at(self, now: float) -> tuple[float, Window | None]:
        """Earliest time a new request fits every window, and the window that binds."""
        at, binding = ready_at(self.windows, [slot[0] for slot in self._slots], now)
        if self._penalty_until > at:
            return self._penalty_until, None
        return at, binding


def _reason(window: Window | None) -> str:
    return f"to stay within {window}" if window else "until the key's rate-limit penalty ends"


def ready_at(windows: Iterable[Window], stamps: Iterable[float], now: float) -> tuple[float, Window | None]:
    """Earliest time from `now` a new request fits every window after `stamps`, and the window that binds."""
    at, binding = now, None
    ordered = sorted(stamps, reverse=True)
    for window in windows:
        if len(ordered) >= window.max_requests:
            # the max_requests-th most recent request must have left the window
            free_at = ordered[window.max_requests - 1] + window.seconds * (1 + MARGIN)
            if free_at > at:
                at, binding = free_at, window
    return at, binding


def earliest_times(windows: Iterable[Window], count: int) -> list[float]:
    """When `count` back-to-back requests could reach the server at the earliest, from 0.

    The floor the limiter is measured against: each request goes as soon as every
    window allows (the `max_requests`-th previous one is a full window back).
    """
    windows = tuple(windows)
    times: list[float] = []
    for i in range(count):
        at = times[-1] if times else 0.0
        for window in windows:
            if i >= window.max_requests:
                at = max(at, times[i - window.max_requests] + window.seconds)
        times.append(at)
    return times


class Limiter(Protocol):
    """What PacedSession needs: SlidingWindowLimiter here, or rate_budget.SharedRateBudget."""

    waited_seconds: float

    def acquire(self) -> object: ...
    def release(self, slot: object) -> None: ...
    def penalize(self, seconds: float) -> None: ...


class PacedSession(requests.Session):
    """A requests session whose every send, retries included, goes through the limiter."""

    def __init__(self, limiter: Limiter) -> None:
        """Wrap `limiter` around every request this session sends."""
        super().__init__()
        self.limiter = limiter
        self._proxies: dict[tuple[str, str], dict[str, str]] = {}

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        """Wait for a slot, send, and re-stamp the slot when the answer is in."""
        if "proxies" not in kwargs:
            kwargs["proxies"] = self._proxies_for(request)
        timeout = kwargs.get("timeout")
        slot = self.limiter.acquire()
        try:
            with answer_deadline(timeout if isinstance(timeout, (int, float)) else None):
                return super().send(request, **kwargs)
        finally:
            self.limiter.release(slot)

    def _proxies_for(self, request: requests.PreparedRequest) -> dict[str, str]:
        """The proxies for a request's host, from the environment, read once per host.

        requests scans every environment variable three times per send to find them,
        which costs more than the page's records; the environment does not change mid-run.
        """
        parts = urlsplit(str(request.url))
        key = (parts.scheme, parts.netloc)
        if key not in self._proxies:
            self._proxies[key] = resolve_proxies(request, self.proxies, self.trust_env)
        return self._proxies[key]
