"""One deadline for a whole HTTP answer: connecting, the headers and the body.

requests applies its timeout to each socket operation, so an answer dripped a byte at a
time never times out. A real-time interval timer interrupts whatever the request waits on
when the deadline passes. It needs the main thread (where the tap runs); elsewhere the
per-read timeout is all there is.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import TYPE_CHECKING

from tap_kondado.errors import AnswerTimeoutError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType


@contextlib.contextmanager
def answer_deadline(seconds: float | None) -> Iterator[None]:
    """Raise AnswerTimeoutError in the block if it runs longer than `seconds`."""
    if not seconds or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise AnswerTimeoutError(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    started = time.monotonic()
    host_delay, host_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if host_delay:  # a timer of the host program's: give back what is left of it
            left = host_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), host_interval)
