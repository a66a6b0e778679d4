"""The date seek against thousands of id/time layouts, with no HTTP.

A model account answers `probe(start)` as the API does (inclusive or exclusive reading,
null cursor on the last or on an empty page). The landing is then scrolled with the
real ScrollPaginator, dropping logs created before the date as the stream does: what
comes out must be exactly the logs created at or after the date.
"""

from __future__ import annotations

import bisect
import datetime
import random
import statistics
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tap_kondado.logs.pagination import ScrollPaginator
from tap_kondado.logs.seek import DEFAULT_TOLERANCE, MAX_PROBES, Landing, seek
from tap_kondado.simulator.data import generate_realistic
from tap_kondado.times import created_at, parse_start_date
from tap_kondado.transport.envelope import Page

NOW = datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.timezone.utc)
DAY = 86_400.0
TOLERANCE = DEFAULT_TOLERANCE.total_seconds()


def iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class Account:
    """The documented API over one token's logs: (id, createdAt) ascending by id."""

    ids: list[int]
    times: list[float]
    inclusive: bool = True
    end_on_empty: bool = False
    page_size: int = 50
    probes: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        # The times as the records carry them (ISO text), so the checks compare like with like.
        self.times = [created_at({"createdAt": iso(t)}) for t in self.times]

    def __call__(self, start: int) -> Page:
        self.probes.append(start)
        at = bisect.bisect_left(self.ids, start) if self.inclusive else bisect.bisect_right(self.ids, start)
        ids = self.ids[at : at + self.page_size]
        more = at + self.page_size < len(self.ids)
        cursor = ids[-1] if ids and (more or self.end_on_empty) else None
        records = [{"id": i, "createdAt": iso(self.times[at + n])} for n, i in enumerate(ids)]
        return Page(records, cursor)

    def since(self, date: datetime.datetime, lower: int = 0) -> list[int]:
        return [i for i, t in zip(self.ids, self.times, strict=True) if t >= date.timestamp() and i >= lower]


def scroll_from(landing: Landing, account: Account, date: datetime.datetime, start_element_id: int = 0) -> list[int]:
    """What the stream emits from a landing: the real paginator, logs before `date` dropped."""
    paginator = ScrollPaginator(
        "logs", max(landing.start - 1, start_element_id - 1), start=landing.start, first_page=landing.page
    )
    emitted = list(paginator.take_first_page())
    pages = 0
    while not paginator.finished:
        pages += 1
        assert pages < 10_000, "the scroll does not end"
        page = account(paginator.current_value)
        new = list(paginator.new_records(page))
        emitted += new
        if not new and not paginator.continue_if_empty(None):
            break
        paginator.advance(None)
    cut = date.timestamp()
    return [r["id"] for r in emitted if (created_at(r) or cut) >= cut]


def run_seek(account: Account, date: datetime.datetime, start_element_id: int = 0) -> tuple[Landing, list[int]]:
    landing = seek(account, date, lower=max(start_element_id - 1, 0), now=NOW)
    assert landing.probes == len(account.probes) <= MAX_PROBES
    seek_probes = len(account.probes)
    emitted = scroll_from(landing, account, date, start_element_id)
    del account.probes[seek_probes:]
    return landing, emitted


# --- layouts -----------------------------------------------------------------------


@st.composite
def layouts(draw: st.DrawFn) -> Account:
    """Sparse ids with gaps from 1 to 60,000 in phases; createdAt nearly ascending (jitter <= tolerance/2)."""
    count = draw(st.integers(0, 400))
    rng = random.Random(draw(st.integers(0, 2**32)))
    gap_scale = draw(st.sampled_from([1, 30, 500, 5_000]))
    seconds_scale = draw(st.sampled_from([5, 600, 3_600, 30_000]))
    jitter = draw(st.sampled_from([0.0, 1.0, 60.0, TOLERANCE / 2]))
    ids, base, times = [], [], []
    last_id, moment = draw(st.integers(0, 10_000_000)), NOW.timestamp() - 90 * DAY
    phase = 1.0
    for _ in range(count):
        if rng.random() < 0.03:
            phase = rng.choice([0.05, 0.3, 1, 4, 20])
        last_id += max(1, int(rng.expovariate(1 / gap_scale) * phase) + (1 if rng.random() < 0.5 else 0))
        moment += rng.expovariate(1 / seconds_scale) * phase
        ids.append(last_id)
        base.append(moment)
    times = [t + rng.uniform(-jitter, jitter) for t in base]
    return Account(ids, times, inclusive=draw(st.booleans()), end_on_empty=draw(st.booleans()))


@st.composite
def dates(draw: st.DrawFn, account: Account) -> datetime.datetime:
    """Before, inside (at a log's time or between two) and after the account's logs."""
    times = account.times or [NOW.timestamp()]
    first, last = min(times), max(times)
    kind = draw(st.sampled_from(["before", "at_log", "inside", "after", "future"]))
    if kind == "before":
        moment = first - draw(st.floats(0, 30 * DAY))
    elif kind == "at_log":
        moment = times[draw(st.integers(0, len(times) - 1))]
    elif kind == "inside":
        moment = draw(st.floats(first, last)) if last > first else first
    elif kind == "after":
        moment = last + draw(st.floats(0.001, TOLERANCE * 3))
    else:
        moment = NOW.timestamp() + draw(st.floats(1, 30 * DAY))
    return datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), account=layouts(), start_element_id=st.sampled_from([0, 0, 0, 5_000_000]))
def test_the_landing_never_passes_the_first_log_since_the_date(data, account, start_element_id):
    """The scroll from the landing emits exactly the logs created at or after the date."""
    date = data.draw(dates(account))
    landing, emitted = run_seek(account, date, start_element_id)
    expected = account.since(date, start_element_id)
    assert emitted == expected
    if expected:
        first = [r["id"] for r in landing.page.records]
        assert not first or first[0] <= expected[0], "the landing page starts after the first log since the date"


def realistic_account(seed: int, count: int, client_share: float = 1.0) -> Account:
    """A token's logs as the simulator's realistic mode makes them (90 days, ~1.5 million ids)."""
    records, _, _ = generate_realistic(
        "pipeline_logs",
        count,
        seed=seed,
        client_ids=[1, 2, 3, 4],
        days=90,
        now=NOW,
        ids_per_day=random.Random(seed).uniform(10_000, 25_000),
    )
    rng = random.Random(seed)
    mine = [r for r in records if rng.random() < client_share]
    return Account(
        [r["id"] for r in mine],
        [created_at(r) for r in mine],
        inclusive=seed % 2 == 0,
        end_on_empty=seed % 3 == 0,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    count=st.sampled_from([1_000, 2_500, 5_000]),
    client_share=st.sampled_from([1.0, 0.3]),
    days_back=st.floats(0, 92),
)
def test_realistic_accounts_seek_within_budget(seed, count, client_share, days_back):
    account = realistic_account(seed, count, client_share)
    date = NOW - datetime.timedelta(days=days_back)
    landing, emitted = run_seek(account, date)
    assert landing.probes <= MAX_PROBES
    assert emitted == account.since(date)


def pages_before_the_date(landing: Landing, account: Account, date: datetime.datetime) -> tuple[int, int]:
    """(pages read whose every log predates the date, before the first that does not; all pages read)."""
    cut = date.timestamp()
    pages = [landing.page.records]
    paginator = ScrollPaginator("logs", landing.start - 1, start=landing.start, first_page=landing.page)
    list(paginator.take_first_page())
    while not paginator.finished:
        page = account(paginator.current_value)
        pages.append(page.records)
        if not list(paginator.new_records(page)) and not paginator.continue_if_empty(None):
            break
        paginator.advance(None)
    before = 0
    for records in pages:
        if not records or any(created_at(r) >= cut for r in records):
            break
        before += 1
    return before, len(pages)


def test_realistic_seeks_cost_what_the_benchmark_measures():
    """Over 200 account/date pairs (seeded: the same every run), the figures of `benchmarks/bench_seek.py`
    today: median 4 requests, max 11, 892 in all; the landing straddles the date (at most 1 page read wholly before it,
    2 in all); the whole first sync, seek and scroll, 3,464 requests. A less efficient seek fails here."""
    probes, before, requests = [], [], 0
    for seed in range(50):
        account = realistic_account(seed, 3_000, 1.0 if seed % 2 else 0.3)
        for days_back in (0.5, 7, 30, 80):
            account.probes.clear()
            date = NOW - datetime.timedelta(days=days_back)
            landing = seek(account, date, now=NOW)
            probes.append(landing.probes)
            early, _ = pages_before_the_date(landing, account, date)
            before.append(early)
            requests += len(account.probes)
    assert statistics.median(probes) <= 4
    assert max(probes) <= 11
    assert sum(probes) <= 892 * 1.01  # today's 892 seek requests in all
    assert max(before) <= 1
    assert sum(before) <= 3
    assert requests <= 3_464 * 1.01


# --- the edges -----------------------------------------------------------------------


def test_an_empty_account_costs_one_request():
    account = Account([], [])
    landing, emitted = run_seek(account, NOW - datetime.timedelta(days=3))
    assert (landing.probes, landing.start, emitted) == (1, 0, [])


def test_a_date_older_than_every_log_lands_on_the_first_page_for_free():
    account = realistic_account(3, 3_000)
    landing, emitted = run_seek(account, NOW - datetime.timedelta(days=200))
    assert landing.probes == 1
    assert landing.start == 0
    assert emitted == account.ids


@pytest.mark.parametrize(("inclusive", "end_on_empty"), [(True, False), (True, True), (False, False), (False, True)])
def test_a_future_date_emits_nothing_within_budget(inclusive, end_on_empty):
    account = realistic_account(11, 3_000)
    account.inclusive, account.end_on_empty = inclusive, end_on_empty
    landing, emitted = run_seek(account, NOW + datetime.timedelta(days=2))
    assert emitted == []
    assert landing.probes <= MAX_PROBES


def test_start_element_id_later_than_the_date_wins():
    account = realistic_account(5, 2_000)
    date = NOW - datetime.timedelta(days=60)
    later = account.since(NOW - datetime.timedelta(days=20))[0]
    _, emitted = run_seek(account, date, start_element_id=later)
    assert emitted == [i for i in account.ids if i >= later]


def test_logs_without_a_readable_time_never_make_it_land_late():
    account = realistic_account(8, 1_000)
    date = NOW - datetime.timedelta(days=10)
    expected = account.since(date)
    hidden_times = Account(account.ids, account.times)
    original = hidden_times.__call__

    def probe(start: int) -> Page:
        page = original(start)
        return Page(
            [{**r, "createdAt": "soon"} if r["id"] % 7 == 0 else r for r in page.records], page.next_start_element_id
        )

    landing = seek(probe, date, now=NOW)
    first = [r["id"] for r in landing.page.records]
    assert first[0] <= expected[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31", "2026-01-31T00:00:00+00:00"),
        ("2026-01-31T12:30:00", "2026-01-31T12:30:00+00:00"),
        ("2026-01-31T12:30:00Z", "2026-01-31T12:30:00+00:00"),
        ("2026-01-31T12:30:00.250Z", "2026-01-31T12:30:00.250000+00:00"),
        ("2026-01-31T09:30:00-03:00", "2026-01-31T12:30:00+00:00"),
    ],
)
def test_start_date_forms(text, expected):
    assert parse_start_date(text).isoformat() == expected


@pytest.mark.parametrize("text", ["yesterday", "31/01/2026", "2026-02-30", "", 20260131])
def test_bad_start_dates_are_refused_in_one_line(text):
    with pytest.raises(ValueError, match="ISO-8601") as caught:
        parse_start_date(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("budget", [1, 2, 3, 5])
def test_a_spent_budget_lands_early_never_late(budget):
    """Out of probes, the seek lands on its best proven page: more pages to read, nothing missed."""
    account = realistic_account(21, 3_000)
    date = NOW - datetime.timedelta(days=7)
    landing = seek(account, date, now=NOW, max_probes=budget)
    assert landing.probes == len(account.probes) <= budget
    assert scroll_from(landing, account, date) == account.since(date)
