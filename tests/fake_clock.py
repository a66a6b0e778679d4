"""A fake clock for limiter tests: `clock()` reads it, `clock.sleep(s)` advances it."""

from __future__ import annotations

from typing import Protocol

MAX_SLEEPS = 10_000  # a limiter stalled for good would otherwise loop forever on a fake clock


class FakeClock:
    """time.monotonic (or time.time) and time.sleep in one: sleeping advances the clock."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        assert len(self.sleeps) < MAX_SLEEPS, "the limiter never lets the request go"
        self.sleeps.append(seconds)
        self.now += seconds


class _Limiter(Protocol):
    def acquire(self) -> object: ...

    def release(self, slot: object) -> None: ...


def send(limiter: _Limiter, clock: FakeClock, latency: float = 0.0) -> float:
    """One request: take a slot, spend `latency` in flight, release; returns when it left."""
    slot = limiter.acquire()
    left = clock.now
    clock.now += latency
    limiter.release(slot)
    return left
