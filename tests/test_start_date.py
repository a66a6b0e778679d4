"""`start_date` end to end: the real `tap-kondado` against the simulator's realistic mode.

A token's logs are sparse in one global id sequence over the last 90 days; the first
sync must emit exactly the logs created at or after the date, in a few requests.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable
from typing import Any

import pytest

from tap_kondado.logs.seek import MAX_PROBES
from tap_kondado.simulator import Simulator
from tap_kondado.times import created_at
from tests.tap_runner import TEST_KEY, bookmark, config_for, run_tap

STREAMS = ("pipeline_logs", "model_logs")
PAGE = 50


@pytest.fixture
def realistic(make_sim: Callable[..., Simulator]) -> Callable[..., Simulator]:
    """A 90-day account: ~3,000 pipeline and 1,000 model logs over ~1.5 million ids."""
    return lambda **kwargs: make_sim(pipeline_logs=3000, model_logs=1000, realistic=True, days=90, **kwargs)


def iso(moment: datetime.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def since(sim: Simulator, stream: str, date: datetime.datetime, client_id: int | None = None) -> list[int]:
    return [r["id"] for r in sim.visible(stream, TEST_KEY, client_id) if created_at(r) >= date.timestamp()]


def requests_of(sim: Simulator, stream: str, client_id: int | None = None) -> int:
    wanted = None if client_id is None else str(client_id)
    return sum(1 for e in sim.log if e["path"] == f"/{stream}" and e["client_id"] == wanted)


def assert_seek_budget(sim: Simulator, stream: str, emitted: int, client_id: int | None = None) -> None:
    """The seek's requests (its landing page included) plus the pages of what was emitted, plus one."""
    spent = requests_of(sim, stream, client_id)
    assert spent <= MAX_PROBES + math.ceil(emitted / PAGE) + 1, f"{stream} {client_id}: {spent} requests"


@pytest.mark.parametrize("reading", ["inclusive", "exclusive"])
@pytest.mark.parametrize("end_signal", ["last", "empty"])
@pytest.mark.parametrize("client_ids", [None, [1, 3]])
def test_first_sync_emits_exactly_the_logs_since_start_date(realistic, reading, end_signal, client_ids):
    sim = realistic(reading=reading, end_signal=end_signal)
    date = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=7)
    run = run_tap(config_for(sim.url, start_date=iso(date), client_ids=client_ids))
    assert run.returncode == 0, run.stderr[-3000:]
    for stream in STREAMS:
        for client_id in client_ids or [None]:
            expected = since(sim, stream, date, client_id)
            emitted = [r["id"] for r in run.records(stream) if client_id is None or r["client_id"] == client_id]
            assert emitted == expected, f"{stream} {client_id}"
            assert len(expected) < len(sim.visible(stream, TEST_KEY, client_id)) / 4  # the date cut most
            assert bookmark(run.final_state, stream, client_id) == expected[-1]
            assert_seek_budget(sim, stream, len(expected), client_id)
    assert "logs since start_date" in run.stderr


def test_a_date_alone_is_utc_midnight(realistic):
    sim = realistic()
    day = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=20)).date()
    midnight = datetime.datetime.combine(day, datetime.time(), datetime.timezone.utc)
    run = run_tap(config_for(sim.url, start_date=day.isoformat()))
    assert run.returncode == 0, run.stderr[-3000:]
    for stream in STREAMS:
        assert run.ids(stream) == since(sim, stream, midnight)


def test_the_bookmark_wins_over_start_date(realistic):
    sim = realistic()
    now = datetime.datetime.now(datetime.timezone.utc)
    first = run_tap(config_for(sim.url, start_date=iso(now - datetime.timedelta(days=3))))
    new = [r["id"] for r in sim.append("pipeline_logs", 5, client_id=1)]
    later = run_tap(config_for(sim.url, start_date=iso(now - datetime.timedelta(days=60))), first.final_state)
    assert later.returncode == 0, later.stderr[-3000:]
    assert later.ids("pipeline_logs") == new
    assert later.ids("model_logs") == []


def test_start_element_id_later_than_the_date_wins(realistic):
    sim = realistic()
    now = datetime.datetime.now(datetime.timezone.utc)
    later_id = since(sim, "model_logs", now - datetime.timedelta(days=10))[0]
    run = run_tap(config_for(sim.url, start_date=iso(now - datetime.timedelta(days=40)), start_element_id=later_id))
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.ids("model_logs") == [r["id"] for r in sim.visible("model_logs", TEST_KEY) if r["id"] >= later_id]
    # And the date wins when it is the later of the two.
    early_id = sim.visible("model_logs", TEST_KEY)[10]["id"]
    date = now - datetime.timedelta(days=5)
    run = run_tap(config_for(sim.url, start_date=iso(date), start_element_id=early_id))
    assert run.ids("model_logs") == since(sim, "model_logs", date)


@pytest.mark.parametrize(("reading", "end_signal"), [("inclusive", "empty"), ("exclusive", "last")])
def test_a_future_start_date_emits_nothing_within_budget(realistic, reading, end_signal):
    sim = realistic(reading=reading, end_signal=end_signal)
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)
    run = run_tap(config_for(sim.url, start_date=iso(future), client_ids=[2]))
    assert run.returncode == 0, run.stderr[-3000:]
    for stream in STREAMS:
        assert run.records(stream) == []
        assert requests_of(sim, stream, 2) <= MAX_PROBES + 1


def test_a_date_older_than_every_log_costs_at_most_two_more_requests(realistic):
    plain_sim, dated_sim = realistic(), realistic()
    plain = run_tap(config_for(plain_sim.url))
    dated = run_tap(config_for(dated_sim.url, start_date="2020-01-01"))
    assert dated.returncode == plain.returncode == 0
    for stream in STREAMS:
        assert plain.ids(stream) == [r["id"] for r in plain_sim.visible(stream, TEST_KEY)]
        assert dated.ids(stream) == [r["id"] for r in dated_sim.visible(stream, TEST_KEY)]
        assert requests_of(dated_sim, stream) <= requests_of(plain_sim, stream) + 2


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param({2: "502", 3: "reset"}, id="transient"),
        pytest.param({3: "rate_limit:0.2"}, id="rate-limited"),
    ],
)
def test_seek_requests_are_retried_like_any_other(realistic, faults):
    sim = realistic(faults=faults)
    date = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=7)
    run = run_tap(config_for(sim.url, start_date=iso(date), max_retries=3))
    assert run.returncode == 0, run.stderr[-3000:]
    for stream in STREAMS:
        assert run.ids(stream) == since(sim, stream, date)
    assert all(e["outcome"] != "served" for e in sim.log if e["n"] in faults)


def test_a_fatal_error_mid_seek_ends_the_run_in_one_line(realistic):
    sim = realistic(faults={2: "error:INVALID_TOKEN"})
    date = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=7)
    run = run_tap(config_for(sim.url, start_date=iso(date)))
    assert run.returncode == 1
    assert len(sim.log) == 2  # no retry
    assert run.stderr.rstrip().endswith("Kondado API error INVALID_TOKEN: Simulated error.")
    assert "Traceback" not in run.stderr
    assert run.records("model_logs") == run.records("pipeline_logs") == []


def test_a_bad_start_date_stops_before_any_request(realistic):
    sim = realistic()
    run = run_tap(config_for(sim.url, start_date="last week"))
    assert run.returncode == 1
    errors = [line.split(" | ", 3)[-1] for line in run.stderr.splitlines() if "| ERROR " in line]
    assert errors == [
        "Invalid configuration: setting 'start_date' is not an ISO-8601 date or date-time; "
        "e.g. 2026-01-31 or 2026-01-31T12:00:00Z"
    ]
    assert sim.log == []


def _state_floor(state: dict[str, Any], stream: str) -> Any:
    return state.get("bookmarks", {}).get(stream, {}).get("start_date_floor")


def test_a_resumed_first_sync_still_drops_logs_before_the_date(realistic):
    """A run stopped right after the date resumes from its bookmark, and the date still holds.

    Logs created just before the date can follow one created just after it (createdAt is
    only nearly ascending): the state keeps the date until the scroll is past that risk.
    """
    sim = realistic()
    records = sim.records["model_logs"]
    date = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=7)
    target = next(i for i, r in enumerate(records) if created_at(r) >= date.timestamp() and r["client_id"] in (1, 2, 3))
    # The next visible log is made to predate the date by a few seconds, as jitter would.
    follower = next(r for r in records[target + 1 :] if r["client_id"] in (1, 2, 3))
    follower["createdAt"] = iso(date - datetime.timedelta(seconds=3))
    state = {
        "bookmarks": {
            "model_logs": {
                "replication_key": "id",
                "replication_key_value": records[target]["id"],
                "start_date_floor": iso(date),
            }
        }
    }
    run = run_tap(config_for(sim.url, start_date=iso(date), client_ids=None), state)
    assert run.returncode == 0, run.stderr[-3000:]
    emitted = run.ids("model_logs")
    assert follower["id"] not in emitted
    assert emitted == [i for i in since(sim, "model_logs", date) if i > records[target]["id"]]
    assert _state_floor(run.final_state, "model_logs") is None  # dropped once past the risk


def test_seek_requests_are_paced_like_the_scroll(realistic):
    """At Kondado's limits (time x 0.05) the probes and pages together draw no rate-limit answer."""
    limits = ((1, 1.0), (20, 60.0))
    sim = realistic(rate_limits=limits, time_scale=0.05)
    date = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=45)
    paced = [{"max_requests": n, "window_seconds": seconds * 0.05} for n, seconds in limits]
    run = run_tap(config_for(sim.url, start_date=iso(date), rate_limits=paced, client_ids=[1, 2]))
    assert run.returncode == 0, run.stderr[-3000:]
    assert sim.rate_limited == 0
    assert len(sim.log) > 20  # more than one window's worth: the 20-per-minute limit was in play
    for stream in STREAMS:
        for client_id in (1, 2):
            assert [r["id"] for r in run.records(stream) if r["client_id"] == client_id] == since(
                sim, stream, date, client_id
            )


# --- the start_date filter's edges -----------------------------------------------------


def test_a_log_created_exactly_at_a_bare_dates_midnight_is_emitted(realistic):
    """`start_date: 2026-01-31` means from 00:00:00.000 on, that instant included."""
    sim = realistic()
    day = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=20)).date()
    midnight = datetime.datetime.combine(day, datetime.time(), datetime.timezone.utc)
    at_midnight = next(r for r in sim.visible("pipeline_logs", TEST_KEY) if created_at(r) >= midnight.timestamp())
    at_midnight["createdAt"] = f"{day.isoformat()}T00:00:00.000Z"
    run = run_tap(config_for(sim.url, start_date=day.isoformat()))
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.ids("pipeline_logs")[0] == at_midnight["id"]
    assert run.ids("pipeline_logs") == since(sim, "pipeline_logs", midnight)


def test_logs_just_before_the_date_are_dropped_even_after_one_created_just_past_it(realistic):
    """createdAt runs back by up to the seek's tolerance: a log 5 minutes before the date may follow
    one created a second after it. The filter holds until a log created a tolerance past the date."""
    sim = realistic()
    date = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=7)
    visible = sim.visible("pipeline_logs", TEST_KEY)
    first = next(i for i, r in enumerate(visible) if created_at(r) >= date.timestamp())
    visible[first]["createdAt"] = iso(date + datetime.timedelta(seconds=1))
    follower = visible[first + 1]
    follower["createdAt"] = iso(date - datetime.timedelta(minutes=5))
    run = run_tap(config_for(sim.url, start_date=iso(date)))
    assert run.returncode == 0, run.stderr[-3000:]
    emitted = run.ids("pipeline_logs")
    assert emitted[0] == visible[first]["id"]
    assert follower["id"] not in emitted
    assert emitted == since(sim, "pipeline_logs", date)
