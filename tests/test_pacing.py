"""Pacing and rate-limit answers, end to end against the simulator at compressed time."""

from __future__ import annotations

import itertools
import time

import pytest
import requests

from tests.tap_runner import TEST_KEY, TEST_TOKEN, bookmark, config_for, run_tap

pytestmark = pytest.mark.slow
STREAMS = ("model_logs", "pipeline_logs")
KONDADO_LIMITS = ((1, 1.0), (20, 60.0))


def scaled(limits, time_scale):
    """The `rate_limits` setting matching the simulator's limits at `time_scale`."""
    return [{"max_requests": n, "window_seconds": seconds * time_scale} for n, seconds in limits]


def gaps_after(sim, outcome):
    """Seconds between each request with `outcome` and the next request."""
    log = sim.log
    return [log[i + 1]["t"] - log[i]["t"] for i in range(len(log) - 1) if log[i]["outcome"] == outcome]


def test_a_long_sync_is_never_told_off(make_sim):
    """300 pages over both streams and six partitions share one limiter; none is rejected.

    Kondado's 1/s and 20/min at 1/100 of real time: 10 ms and 0.6 s windows, about 9 s.
    """
    time_scale = 0.01
    sim = make_sim(pipeline_logs=12000, model_logs=8000, rate_limits=KONDADO_LIMITS, time_scale=time_scale)
    run = run_tap(config_for(sim.url, rate_limits=scaled(KONDADO_LIMITS, time_scale), client_ids=[1, 2, 3]))

    assert run.returncode == 0, run.stderr[-2000:]
    stats = sim.stats()
    assert stats["rate_limited"] == 0
    assert stats["requests"] == stats["served"] >= 300
    for stream in STREAMS:
        for client_id in (1, 2, 3):
            expected = [r["id"] for r in sim.visible(stream, TEST_KEY, client_id)]
            assert [r["id"] for r in run.records(stream) if r["client_id"] == client_id] == expected
            assert bookmark(run.final_state, stream, client_id) == expected[-1]
    # the arrivals as the server saw them: never more than 20 in 0.6 s, never 2 in 10 ms
    arrivals = [entry["t"] for entry in sim.log]
    assert min(b - a for a, b in itertools.pairwise(arrivals)) >= 0.01
    assert min(b - a for a, b in zip(arrivals, arrivals[20:], strict=False)) >= 0.6
    # routine pacing is not logged, request by request
    assert "Rate limit: waiting" not in run.stderr


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        ("rate_limit:1.5", "RATE_LIMIT_EXCEEDED: Too many requests. Please try again in 1.5 seconds."),
        ("inner_rate_limit:1.5", "RATE_LIMIT_EXCEEDED: Too many requests. Please try again in 1.5 seconds."),
        ("429:1.5", "HTTP 429, Retry-After 1.5s"),
    ],
    ids=["outer", "inner", "429"],
)
def test_a_rate_limit_answer_is_waited_out_exactly(make_sim, fault, named):
    sim = make_sim(pipeline_logs=240, model_logs=130, faults={2: fault})
    run = run_tap(config_for(sim.url, rate_limits=scaled(KONDADO_LIMITS, 0.05)))

    assert run.returncode == 0
    [gap] = gaps_after(sim, f"fault:{fault.split(':')[0]}")
    assert 1.5 <= gap < 2.0  # the named seconds, no jitter, no backoff
    assert sim.log[1]["start"] == sim.log[2]["start"]  # then the same request again
    assert f"model_logs: {named}; retrying in 1.5 s (try 2)" in run.stderr
    for stream in STREAMS:
        assert run.ids(stream) == [r["id"] for r in sim.visible(stream, TEST_KEY)]


def test_an_unpaced_tap_is_told_off_and_waits_the_penalty(make_sim):
    """The simulator's own limit: an excess is rejected and blocks the key for the penalty.

    One request per 0.5 s and a 1 s penalty; the tap is configured without pacing.
    """
    sim = make_sim(pipeline_logs=100, model_logs=40, rate_limits=((1, 10.0),), time_scale=0.05, penalty_seconds=20)
    run = run_tap(config_for(sim.url, rate_limits=[]))

    assert run.returncode == 0
    # model_logs' one page, then each pipeline_logs page rejected once, waited for, sent again
    assert [(e["path"], e["outcome"]) for e in sim.log] == [
        ("/model_logs", "served"),
        ("/pipeline_logs", "rate_limited"),
        ("/pipeline_logs", "served"),
        ("/pipeline_logs", "rate_limited"),
        ("/pipeline_logs", "served"),
    ]
    for gap in gaps_after(sim, "rate_limited"):
        assert 1.0 <= gap < 1.5
    retries = [line for line in run.stderr.splitlines() if "; retrying in " in line]
    assert len(retries) == 2
    assert all(
        line.endswith(
            "pipeline_logs: RATE_LIMIT_EXCEEDED: Too many requests. Please try again in 1 seconds.; "
            "retrying in 1.0 s (try 2)"
        )
        for line in retries
    )
    for stream in STREAMS:
        assert run.ids(stream) == [r["id"] for r in sim.visible(stream, TEST_KEY)]


def test_rate_limit_answers_in_a_row_are_bounded(make_sim):
    sim = make_sim(faults=dict.fromkeys(range(1, 11), "rate_limit:0.1"))
    run = run_tap(config_for(sim.url))

    assert run.returncode == 1
    assert len(sim.log) == 5
    assert run.stderr.rstrip().endswith(
        "model_logs: still rate limited after 5 tries: "
        "RATE_LIMIT_EXCEEDED: Too many requests. Please try again in 0.1 seconds."
    )
    assert run.records("model_logs") == []


def test_the_simulator_counts_rejected_requests_too(make_sim):
    """One request per 0.5 s, 0.05 s penalty: a rejected request still fills the window."""
    sim = make_sim(rate_limits=((1, 50.0),), time_scale=0.01, penalty_seconds=5)
    params = {"key": TEST_KEY, "token": TEST_TOKEN, "start_element_id": 0}

    def get():
        return requests.get(f"{sim.url}/model_logs", params=params, timeout=5).json()

    assert get()["success"] is True  # t = 0
    time.sleep(0.3)
    assert get() == {  # t = 0.3: the first is still in the window
        "success": False,
        "error": "RATE_LIMIT_EXCEEDED",
        "message": "Too many requests. Please try again in 0.05 seconds.",
    }
    time.sleep(0.3)
    # t = 0.6: the penalty is over and the first has left the window, but the rejected one has not
    assert get()["error"] == "RATE_LIMIT_EXCEEDED"
    time.sleep(0.6)
    assert get()["success"] is True
    assert [e["outcome"] for e in sim.log] == ["served", "rate_limited", "rate_limited", "served"]


def test_a_named_wait_over_the_cap_stops_the_run_in_one_line_with_its_state(make_sim):
    """A wait of a day named by the API: no sleep, one line naming it, exit 1, the state to resume from."""
    sim = make_sim(pipeline_logs=240, model_logs=130, faults={2: "rate_limit:86400"})
    started = time.monotonic()
    run = run_tap(config_for(sim.url))
    assert time.monotonic() - started < 30
    assert run.returncode == 1
    last_line = run.stderr.rstrip().splitlines()[-1]
    assert last_line.endswith(
        "model_logs: the API asks to wait 86400 s (RATE_LIMIT_EXCEEDED: Too many requests. Please try again "
        "in 86400 seconds.), more than the 15-minute cap; stopping, run again later"
    )
    assert "Traceback" not in run.stderr
    model = [r["id"] for r in sim.visible("model_logs", TEST_KEY)]
    assert run.ids("model_logs") == model[:50]
    assert bookmark(run.final_state, "model_logs") == model[49]
