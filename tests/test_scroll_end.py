"""Where the scroll ends (scroll_end.find_end), and the ETA it gives when the logs stopped long ago."""

from __future__ import annotations

import bisect
import datetime
import logging

import pytest

from tap_kondado.logs.progress import Progress, StreamStats
from tap_kondado.logs.scroll_end import END_PRECISION, MAX_PROBES, find_end
from tap_kondado.transport.envelope import Page
from tests.fake_clock import FakeClock

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
HOUR = 3600.0


class Account:
    """Logs at ids 10, 20, 30 ... one an hour from T0, read inclusively in pages of 50; counts the probes."""

    def __init__(self, logs: int) -> None:
        self.ids = [10 * (n + 1) for n in range(logs)]
        self.probes: list[int] = []

    def created(self, log_id: int) -> str:
        moment = T0 + datetime.timedelta(hours=log_id / 10)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def __call__(self, start: int) -> Page:
        self.probes.append(start)
        at = bisect.bisect_left(self.ids, start)
        page = self.ids[at : at + 50]
        more = at + 50 < len(self.ids)
        return Page([{"id": i, "createdAt": self.created(i)} for i in page], page[-1] if more else None)


def epoch(hours: float) -> float:
    return (T0 + datetime.timedelta(hours=hours)).timestamp()


def test_logs_that_reach_now_cost_one_probe():
    account = Account(10_000)  # ids to 100,000, the last created at hour 10,000: "now"
    end = find_end(account, 5_000, 99_000, recent=epoch(9_000), page_ids=500)
    assert end.high is None
    assert len(account.probes) == 1


@pytest.mark.parametrize("far", [200_000, 1_000_000, 10_000_000])
def test_logs_that_stopped_long_ago_are_bracketed_within_the_precision(far):
    account = Account(10_000)
    position = 20_000
    end = find_end(account, position, far, recent=epoch(far / 10), page_ids=500)
    assert end.probes == len(account.probes) <= MAX_PROBES
    left = end.ids_left(position)
    assert left is not None
    assert abs(left - (100_000 - position)) <= END_PRECISION * left


def test_a_probe_on_the_last_page_names_the_end_exactly():
    account = Account(1_000)  # ids to 10,000
    end = find_end(account, 9_000, 9_990, recent=epoch(2_000), page_ids=500)
    assert (end.low, end.high) == (10_000, 10_001)
    assert end.ids_left(9_000) == 1_000


def test_logs_older_than_now_beyond_the_first_probe_send_the_next_twice_as_far():
    account = Account(10_000)  # denser than the guess: the far probe lands mid-way
    end = find_end(account, 1_000, 40_000, recent=epoch(50_000), page_ids=500)
    assert account.probes[:2] == [40_000, 79_000]
    left = end.ids_left(1_000)
    assert left is not None
    assert abs(left - 99_000) <= END_PRECISION * left


def test_the_eta_runs_to_where_the_logs_end_not_to_now(caplog):
    """Logs end at hour 10,000; now is 40 days later. A page every 10 s of 50 logs (500 ids, 50 h)."""
    account = Account(10_000)
    clock = FakeClock(now=0.0)
    now = T0 + datetime.timedelta(hours=10_000, days=40)
    progress = Progress(
        logging.getLogger("test.scroll_end"),
        "pipeline_logs",
        StreamStats(),
        clock=clock,
        now=lambda: now,
        probe=account,
    )
    for page in range(1, 41):
        clock.now += 10
        last_id = 500 * page
        progress.page(account.created(last_id), last_id)
    # at id 20,000: 80,000 ids to the end, 160 pages of 10 s; to now it would be 179 more pages
    eta = progress.eta_seconds()
    assert eta is not None
    assert abs(eta - 1600) <= END_PRECISION * 1600 + 10
    probes = len(account.probes)
    assert 1 <= probes <= MAX_PROBES
    assert progress.eta_seconds() == eta  # probed once
    assert len(account.probes) == probes
