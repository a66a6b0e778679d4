"""Progress lines (at most every interval, and at each partition's end) and the run summary."""

from __future__ import annotations

import datetime
import itertools
import json
import logging
import re

import pytest

from tap_kondado.logs.progress import INTERVAL_ENV, Progress, StreamStats, _duration
from tap_kondado.simulator import Simulator
from tap_kondado.times import parse_time
from tap_kondado.transport.rate_limit import Window
from tests.fake_clock import FakeClock
from tests.tap_runner import TEST_KEY, TEST_TOKENS, config_for, json_log_config, run_tap

T0 = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
STREAMS = ("pipeline_logs", "model_logs")
ONE_MINUTE = datetime.timedelta(minutes=1)


def stamp(hours: float) -> str:
    moment = T0 + datetime.timedelta(hours=hours)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def progress_and_clock(caplog):
    caplog.set_level(logging.INFO, logger="test.progress")
    clock = FakeClock(now=1000.0)
    stats = StreamStats()
    now = T0 + datetime.timedelta(hours=100)
    progress = Progress(
        logging.getLogger("test.progress"),
        "pipeline_logs",
        stats,
        client_id=2,
        interval=30,
        clock=clock,
        now=lambda: now,
    )
    return progress, clock, stats


def test_eta_is_the_pages_left_at_the_recent_density_and_pace_unknown_until_ten_pages(progress_and_clock):
    progress, clock, _ = progress_and_clock
    assert progress.eta_seconds() is None
    for page in range(10):  # a page every 10 s, each 2 hours of logs
        assert progress.eta_seconds() is None  # fewer than MIN_PAGES pages: unknown
        clock.now += 10
        progress.page(stamp(2 * page))
    # newest at hour 18, now is hour 100: 82 hours left, 41 pages of 10 s
    assert progress.eta_seconds() == pytest.approx(410)
    progress.page("not a time")  # ignored, not an error
    assert progress.newest_created == T0 + datetime.timedelta(hours=18)


def test_no_eta_while_the_logs_grow_denser_or_sparser():
    clock = FakeClock(now=1000.0)
    now = T0 + datetime.timedelta(days=400)
    progress = Progress(logging.getLogger("test.progress"), "p", StreamStats(), clock=clock, now=lambda: now)
    hour = 0
    for _ in range(30):  # an hour a page
        clock.now += 10
        hour += 1
        progress.page(stamp(hour))
    assert progress.eta_seconds() is not None
    for _ in range(10):  # twenty hours a page now: the recent density is far from the scroll's
        clock.now += 10
        hour += 20
        progress.page(stamp(hour))
    assert progress.eta_seconds() is None


def test_the_eta_plays_the_rate_limits_forward_not_the_first_burst():
    """At 1 request/s and 20/min, 20 pages came back a second apart (the burst); the 81 left take ~3 s each."""
    clock = FakeClock(now=1000.0)
    now = T0 + datetime.timedelta(hours=100)
    windows = (Window(1, 1.0), Window(20, 60.0))
    progress = Progress(
        logging.getLogger("test.progress"), "p", StreamStats(), clock=clock, now=lambda: now, windows=windows
    )
    for hour in range(20):
        progress.page(stamp(hour))
        clock.now += 1
    clock.now -= 1
    eta = progress.eta_seconds()
    # the 21st request waits for the first to leave the minute window (1000 + 60.6), then 20 a minute:
    # the 81st leaves 4 windows later. Not 81 s, the burst's pace.
    assert eta == pytest.approx(1000 + 60.6 + 4 * 60.6 - 1019, abs=0.1)


def test_a_line_at_most_every_interval_and_one_at_the_end(progress_and_clock, caplog):
    progress, clock, stats = progress_and_clock
    lines = lambda: [r for r in caplog.records if r.name == "test.progress"]  # noqa: E731
    for hour in range(10):
        clock.now += 7  # a page every 7 s: a line every 5th page (35 s)
        stats.requests += 1
        stats.new += 50
        progress.page(stamp(hour))
    assert len(lines()) == 2
    first = lines()[0]
    assert first.progress == {
        "stream": "pipeline_logs",
        "client_id": 2,
        "logs": 250,
        "requests": 5,
        "newest_created_at": "2026-11-01T04:00:00.000Z",
        "behind_seconds": 96 * 3600,
        "eta_seconds": None,  # 5 pages: too few to tell
        "done": False,
    }
    assert first.getMessage() == (
        "Progress: pipeline_logs (client_id 2): 250 logs, 5 requests; newest createdAt "
        "2026-11-01T04:00:00.000Z, 4.0 days behind now; ETA unknown"
    )
    second = lines()[1]
    # 10 pages, 7 s and an hour each: 91 hours left, 91 pages of 7 s
    assert second.progress["eta_seconds"] == 91 * 7
    assert second.getMessage().endswith("3.8 days behind now; ETA 11 min")
    progress.end()
    assert len(lines()) == 3
    assert lines()[-1].progress["done"] is True
    assert lines()[-1].getMessage().endswith("; done")


def test_before_any_log_the_eta_is_unknown(progress_and_clock, caplog):
    progress, clock, _ = progress_and_clock
    clock.now += 31
    progress.page(None)
    assert caplog.records[-1].getMessage().endswith("no log yet; ETA unknown")


def test_the_summary_names_every_figure():
    stats = StreamStats(new=1200, changed=3, requests=26, waited_seconds=61.25, rate_limited=1)
    text, fields = stats.summary("model_logs")
    assert text == (
        "model_logs: run summary: 1,203 logs emitted (1,200 new, 3 changed), 26 requests, "
        "61.2 s waited for rate limits, 1 rate-limit answer"
    )
    assert fields["rate_limit_wait_seconds"] == 61.2
    assert fields["logs"] == 1203


# --- the real tap ------------------------------------------------------------------

LINE_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def _when(line: str) -> datetime.datetime:
    return datetime.datetime.strptime(LINE_TIME.match(line).group(1), "%Y-%m-%d %H:%M:%S,%f")


@pytest.mark.slow
@pytest.mark.serial  # the time between lines and the seconds waited, against the pacing's windows
def test_progress_lines_come_every_scaled_interval_and_the_summary_adds_up(make_sim):
    sim = make_sim(pipeline_logs=1500, model_logs=300, faults={3: "rate_limit:0.3"})
    interval = 0.5
    config = config_for(sim.url, rate_limits=[{"max_requests": 1, "window_seconds": 0.1}])
    run = run_tap(config, env={INTERVAL_ENV: str(interval)})
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    for stream in STREAMS:
        progress = [line for line in lines if f"Progress: {stream}:" in line]
        finished = [line for line in lines if f"Finished: {stream}:" in line]
        assert len(finished) == 1
        requests = sum(1 for e in sim.log if e["path"] == f"/{stream}")
        logs = len(run.ids(stream))
        assert f"{logs:,} logs, {requests} requests" in finished[0]
        # ~0.1 s a page: a line every 5th page or so, never closer than the interval
        times = [_when(line) for line in progress]
        assert all((b - a).total_seconds() >= interval - 0.01 for a, b in itertools.pairwise(times))
        if stream == "pipeline_logs":  # 24 pages of at least 0.1 s
            assert len(progress) >= 2
            assert "ETA unknown" not in progress[-1]
        summary = next(line for line in lines if f"{stream}: run summary:" in line)
        rate_limited = sum(1 for e in sim.log if e["path"] == f"/{stream}" and e["outcome"].endswith("rate_limit"))
        assert f"{logs:,} logs emitted ({logs:,} new, 0 changed), {requests} requests" in summary
        assert f", {rate_limited} rate-limit answer{'' if rate_limited == 1 else 's'}" in summary
        waited = float(re.search(r"([\d.]+) s waited for rate limits", summary).group(1))
        # pacing waits (about 0.1 s a request) and, for the stream that drew it, the 0.3 s the answer named
        assert 0.05 * requests + 0.3 * rate_limited <= waited + 0.1 <= 0.2 * requests + 0.3 * rate_limited + 1
    assert sum(1 for e in sim.log if e["outcome"].endswith("rate_limit")) == 1
    assert len(run.ids("pipeline_logs")) == len(sim.visible("pipeline_logs", TEST_KEY))


def test_progress_and_summary_as_structured_fields_in_json_logs(sim, tmp_path):
    log_config = json_log_config(tmp_path, "INFO")
    run = run_tap(config_for(sim.url), env={"SINGER_SDK_LOG_CONFIG": str(log_config)})
    assert run.returncode == 0, run.stderr
    entries = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    finished = [e["extra"]["progress"] for e in entries if "progress" in e.get("extra", {})]
    summaries = {e["extra"]["summary"]["stream"]: e["extra"]["summary"] for e in entries if "summary" in e["extra"]}
    assert {p["stream"] for p in finished if p["done"]} == set(STREAMS)
    assert summaries["pipeline_logs"]["logs"] == len(run.ids("pipeline_logs"))
    assert summaries["pipeline_logs"]["requests"] == sum(1 for e in sim.log if e["path"] == "/pipeline_logs")


def test_a_failed_run_still_sums_up_each_stream(sim):
    sim.schedule({3: "error:SOMETHING_BROKE"})
    run = run_tap(config_for(sim.url))
    assert run.returncode == 1
    summaries = [line for line in run.stderr.splitlines() if "run summary" in line]
    assert len(summaries) == 2
    models = len(run.ids("model_logs"))  # model_logs is synced first, in two pages
    assert f"model_logs: run summary: {models} logs emitted ({models} new, 0 changed), 2 requests" in summaries[0]
    assert "pipeline_logs: run summary: 0 logs emitted (0 new, 0 changed), 1 request, " in summaries[1]


def test_one_of_a_thing_is_said_in_the_singular():
    """The summary said "1 requests"."""
    text, _ = StreamStats(new=1, requests=1, rate_limited=0).summary("model_logs")
    assert text == (
        "model_logs: run summary: 1 log emitted (1 new, 0 changed), 1 request, "
        "0.0 s waited for rate limits, 0 rate-limit answers"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (89, "89 s"), (90, "2 min"), (45 * 60, "45 min"), (3 * 3600, "3.0 h"), (47 * 3600, "47.0 h")],
)
def test_durations_read_at_a_glance(seconds, text):
    assert _duration(seconds) == text
    assert _duration(3 * 86400) == "3.0 days"


def _evenly_spread_until_now(make_sim, logs: int, scale: float, ago: datetime.timedelta = ONE_MINUTE):
    """A simulator whose pipeline logs (one every ~8 minutes) end `ago`, under Kondado's limits x `scale`."""
    dry_start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    dry = Simulator(pipeline_logs=logs, model_logs=1, tokens=TEST_TOKENS, start=dry_start)
    dry._server.server_close()  # only its data was wanted
    span = parse_time(dry.records["pipeline_logs"][-1]["createdAt"]) - dry_start
    start = datetime.datetime.now(datetime.timezone.utc) - span - ago
    return make_sim(pipeline_logs=logs, model_logs=1, start=start, rate_limits=((1, 1.0), (20, 60.0)), time_scale=scale)


def _printed_etas(make_sim, tmp_path, logs: int, ago: datetime.timedelta = ONE_MINUTE) -> list[tuple[float, float]]:
    """(ETA printed, seconds the stream really took from that line on) of a real run at Kondado's limits x 0.05."""
    scale = 0.05
    sim = _evenly_spread_until_now(make_sim, logs, scale, ago)
    limits = [{"max_requests": 1, "window_seconds": scale}, {"max_requests": 20, "window_seconds": 60 * scale}]
    env = {"SINGER_SDK_LOG_CONFIG": str(json_log_config(tmp_path)), INTERVAL_ENV: "0.5"}
    run = run_tap(config_for(sim.url, rate_limits=limits), env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert sim.rate_limited == 0
    entries = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    lines = [e for e in entries if e.get("extra", {}).get("progress", {}).get("stream") == "pipeline_logs"]
    assert lines[-1]["extra"]["progress"]["done"]
    end = lines[-1]["ts"]
    shown = [(e["extra"]["progress"]["eta_seconds"], end - e["ts"]) for e in lines[:-1]]
    return [(eta, left) for eta, left in shown if eta is not None]


@pytest.mark.slow
@pytest.mark.parametrize("logs", [1500, 3000, 6000])
def test_the_printed_eta_matches_the_time_really_left(make_sim, tmp_path, logs):
    """Real runs of 23, 45 and 90 pages at Kondado's limits x 0.05: every ETA printed is within 15% of
    the time the stream really took from that line on, plus 0.75 s (the ETA's rounding to whole seconds
    and one request at this pace)."""
    shown = _printed_etas(make_sim, tmp_path, logs)
    assert len(shown) >= logs // 1500, shown  # the longer the run, the more lines with an ETA
    for eta, left in shown:
        assert abs(eta - left) <= 0.15 * left + 0.75, (eta, left, shown)


@pytest.mark.slow
def test_the_printed_eta_holds_on_an_account_whose_logs_stopped_40_days_ago(make_sim, tmp_path):
    """The createdAt to cover no longer runs to now: a few probes find where the logs end (the same margin)."""
    shown = _printed_etas(make_sim, tmp_path, 3000, ago=datetime.timedelta(days=40))
    assert shown  # a number, once the end is found
    for eta, left in shown:
        assert abs(eta - left) <= 0.15 * left + 0.75, (eta, left, shown)
