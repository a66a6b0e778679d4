"""answer_deadline: one deadline for a whole answer."""

from __future__ import annotations

import signal
import time

import pytest

from tap_kondado.errors import AnswerTimeoutError
from tap_kondado.transport.deadline import answer_deadline


def drip(seconds: float) -> None:
    with answer_deadline(seconds):
        for _ in range(50):
            time.sleep(0.1)  # each wait short, like a dripped byte: only the total is bounded


@pytest.mark.serial  # times how soon the deadline interrupts
def test_a_block_past_its_deadline_is_interrupted():
    started = time.monotonic()
    with pytest.raises(AnswerTimeoutError, match="request timed out"):
        drip(0.2)
    assert time.monotonic() - started < 1


def test_a_block_within_its_deadline_runs_and_leaves_no_timer():
    with answer_deadline(5):
        pass
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_timer_of_the_host_program_is_given_back():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with answer_deadline(5):
            pass
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 0.5
        time.sleep(0.7)
        assert fired == [True]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_the_host_timer_given_back_is_less_the_time_the_block_took():
    previous = signal.signal(signal.SIGALRM, lambda *_: None)
    try:
        signal.setitimer(signal.ITIMER_REAL, 2.0)
        with answer_deadline(5):
            time.sleep(0.6)
        left = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 0 < left <= 2.0 - 0.6 + 0.05
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
