"""The sliding-window limiter, on a fake clock: no test here sleeps."""

from __future__ import annotations

import logging

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_kondado.transport.rate_limit import MARGIN, PacedSession, SlidingWindowLimiter, Window, earliest_times
from tests.fake_clock import FakeClock, send

PER_SECOND = Window(1, 1.0)
PER_MINUTE = Window(20, 60.0)


def limiter(*windows: Window, clock: FakeClock) -> SlidingWindowLimiter:
    return SlidingWindowLimiter(windows, clock=clock, sleep=clock.sleep)


def test_without_windows_nothing_waits():
    clock = FakeClock()
    lim = limiter(clock=clock)
    assert [send(lim, clock) for _ in range(100)] == [0.0] * 100
    assert clock.sleeps == []


def test_default_limits_are_kondados():
    lim = SlidingWindowLimiter.from_config(None)
    assert lim.windows == (PER_SECOND, PER_MINUTE)
    custom = SlidingWindowLimiter.from_config([{"max_requests": 3, "window_seconds": 0.05}])
    assert custom.windows == (Window(3, 0.05),)
    assert SlidingWindowLimiter.from_config([]).windows == ()


def test_burst_of_20_then_the_wait_for_the_minute_window(caplog):
    clock = FakeClock()
    lim = limiter(PER_SECOND, PER_MINUTE, clock=clock)
    with caplog.at_level(logging.INFO, logger="tap-kondado.rate_limit"):
        times = [send(lim, clock) for _ in range(41)]
    second = 1 + MARGIN
    minute = 60 * (1 + MARGIN)
    # 20 at one a second, then the 21st waits for the 1st to leave the minute window.
    assert times[:20] == pytest.approx([i * second for i in range(20)])
    assert times[20] == pytest.approx(minute)
    assert times[21:40] == pytest.approx([minute + i * second for i in range(1, 20)])
    assert times[40] == pytest.approx(2 * minute)
    # One line per long wait (two of them), none for the one-second pacing.
    waits = [r.getMessage() for r in caplog.records]
    assert waits == [
        f"Rate limit: waiting {minute - 19 * second:.1f} s to stay within 20 request(s) per 60 s",
        f"Rate limit: waiting {minute - 19 * second:.1f} s to stay within 20 request(s) per 60 s",
    ]
    assert lim.waited_seconds == pytest.approx(sum(clock.sleeps))


def test_minute_window_alone_lets_a_burst_of_20_through_at_once():
    clock = FakeClock()
    lim = limiter(PER_MINUTE, clock=clock)
    times = [send(lim, clock) for _ in range(41)]
    assert times[:20] == [0.0] * 20
    assert times[20:40] == pytest.approx([60 * (1 + MARGIN)] * 20)
    assert times[40] == pytest.approx(120 * (1 + MARGIN))
    assert clock.sleeps == pytest.approx([60 * (1 + MARGIN)] * 2)


def test_a_slot_is_restamped_when_the_answer_arrives():
    clock = FakeClock()
    lim = limiter(PER_SECOND, clock=clock)
    send(lim, clock, latency=0.3)  # left at 0, answered at 0.3
    # Paced from the answer, not from the departure: the server may have seen it at 0.3.
    assert send(lim, clock) == pytest.approx(0.3 + 1 + MARGIN)


def test_a_failed_request_still_counts_and_is_restamped():
    clock = FakeClock()
    lim = limiter(PER_SECOND, clock=clock)
    session = PacedSession(lim)

    class Refused(requests.adapters.BaseAdapter):
        def send(self, *_, **__):
            clock.now += 0.5  # the attempt took half a second to fail
            raise requests.exceptions.ConnectionError("refused")

        def close(self):
            pass

    session.mount("http://", Refused())
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get("http://kondado.test/pipeline_logs")
    assert send(lim, clock) == pytest.approx(0.5 + 1 + MARGIN)


def test_every_send_of_the_session_goes_through_the_limiter():
    clock = FakeClock()
    lim = limiter(PER_SECOND, clock=clock)
    session = PacedSession(lim)
    departures = []

    class Answer(requests.adapters.BaseAdapter):
        def send(self, request, **_):
            departures.append(clock.now)
            clock.now += 0.01
            response = requests.Response()
            response.status_code, response._content, response.request = 200, b"{}", request
            return response

        def close(self):
            pass

    session.mount("http://", Answer())
    for _ in range(3):
        session.get("http://kondado.test/model_logs")
    step = 0.01 + 1 + MARGIN
    assert departures == pytest.approx([0, step, 2 * step])


def test_a_restamp_during_a_wait_is_honoured():
    """A request answered while another waits pushes that wait out (no lock on release)."""
    clock = FakeClock()
    lim = limiter(PER_SECOND, clock=clock)
    first = lim.acquire()  # in flight at 0
    late_answer = 0.4

    def sleep(seconds):
        clock.sleep(seconds)
        if first[0] == 0.0:  # the answer to the first request arrives during the wait
            clock.now, stamp = late_answer, clock.now
            lim.release(first)
            clock.now = stamp

    lim._sleep = sleep
    lim.acquire()
    assert clock.now == pytest.approx(late_answer + 1 + MARGIN)


def test_the_floor_of_the_default_limits():
    times = earliest_times([PER_SECOND, PER_MINUTE], 300)
    assert times[:21] == [*map(float, range(20)), 60.0]
    assert times[-1] == 60 * 14 + 19  # 15 bursts of 20, a minute apart


def test_pacing_costs_no_more_than_the_margin_over_the_floor():
    """With instant answers the limiter's schedule is the floor, stretched by MARGIN only."""
    clock = FakeClock()
    windows = [Window(1, 0.05), Window(20, 3.0)]  # the tests' compressed limits
    lim = limiter(*windows, clock=clock)
    times = [send(lim, clock) for _ in range(300)]
    floor = earliest_times(windows, 300)
    assert times == pytest.approx([t * (1 + MARGIN) for t in floor])


windows_strategy = st.lists(
    st.builds(Window, st.integers(1, 5), st.floats(0.05, 5.0)), min_size=1, max_size=3, unique_by=lambda w: w
)


@settings(max_examples=150, deadline=None)
@given(
    windows=windows_strategy,
    trips=st.lists(
        st.tuples(st.floats(0, 0.5), st.floats(0, 0.5), st.floats(0, 2.0)),  # to server, back, pause
        min_size=1,
        max_size=40,
    ),
)
def test_the_server_never_sees_an_excess(windows, trips):
    """Whatever the transit times, no window as the server counts arrivals is exceeded."""
    clock = FakeClock()
    lim = limiter(*windows, clock=clock)
    arrivals = []
    for to_server, back, pause in trips:
        slot = lim.acquire()
        clock.now += to_server
        arrivals.append(clock.now)
        clock.now += back
        lim.release(slot)
        clock.now += pause
    for window in windows:
        for i, arrival in enumerate(arrivals):
            # the simulator's rule: requests that arrived within the last window, this one included
            in_window = sum(1 for earlier in arrivals[: i + 1] if earlier > arrival - window.seconds)
            assert in_window <= window.max_requests


def test_proxies_come_from_the_environment_once_per_host(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("NO_PROXY", "direct.test")
    session = PacedSession(SlidingWindowLimiter(()))
    seen = []

    class Answer(requests.adapters.BaseAdapter):
        def send(self, request, **kwargs):
            seen.append(kwargs["proxies"])
            response = requests.Response()
            response.status_code, response._content, response.request = 200, b"{}", request
            return response

        def close(self):
            pass

    def send(url):  # as the SDK does: a prepared request, straight to send()
        session.send(session.prepare_request(requests.Request("GET", url)))

    session.mount("http://", Answer())
    send("http://kondado.test/model_logs")
    send("http://direct.test/model_logs")
    monkeypatch.setenv("HTTP_PROXY", "http://other-proxy.test:8080")  # read once per host: not seen
    send("http://kondado.test/pipeline_logs")
    assert seen == [{"http": "http://proxy.test:3128"}, {}, {"http": "http://proxy.test:3128"}]


def test_a_penalty_blocks_the_next_request_until_it_ends(caplog):
    clock = FakeClock()
    lim = limiter(PER_SECOND, clock=clock)
    send(lim, clock)
    lim.penalize(60.0)
    with caplog.at_level(logging.INFO):
        assert send(lim, clock) == pytest.approx(60.0)
    assert "Rate limit: waiting 60.0 s until the key's rate-limit penalty ends" in caplog.text
    assert lim.waited_seconds == pytest.approx(60.0)
    lim.penalize(5.0)
    lim.penalize(2.0)  # a shorter one never shortens what is in force
    assert send(lim, clock) == pytest.approx(65.0)
