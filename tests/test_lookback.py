"""lookback_hours: the window from checkpoints, the updatedAt watermark, thinning; then end to end."""

from __future__ import annotations

import datetime
import math
import random
import time

import pytest

from tap_kondado.logs.lookback import (
    CLOCK_MARGIN,
    MAX_CHECKPOINTS,
    STATE_KEY,
    LookbackPass,
    parse_time,
    sortable_time,
    thin,
    window_start_id,
)
from tests.tap_runner import TEST_KEY, bookmark, config_for, run_tap
from tests.test_interruption import PACED, run_until

T0 = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
STREAMS = ("pipeline_logs", "model_logs")


def append_now(sim, count: int, client_id: int | None = None) -> list[dict]:
    """New pipeline logs, none yet edited (the simulator may stamp an edit up to 90 minutes ahead)."""
    new = sim.append("pipeline_logs", count, client_id=client_id)
    for record in new:
        record["updatedAt"] = record["createdAt"]
    return new


def settle() -> None:
    """Let the clock pass CLOCK_MARGIN: logs written just before a run count as seen by it."""
    time.sleep(CLOCK_MARGIN.total_seconds() + 0.1)


def at(hours: float) -> str:
    return sortable_time(T0 + datetime.timedelta(hours=hours))


def log(record_id: int, created_h: float, updated_h: float | None = None) -> dict:
    return {"id": record_id, "createdAt": at(created_h), "updatedAt": at(created_h if updated_h is None else updated_h)}


# --- times and the window's start ---------------------------------------------------


def test_comparable_sorts_other_iso_forms_with_the_apis_own():
    assert sortable_time("2026-11-01T10:00:00.000Z") == "2026-11-01T10:00:00.000Z"
    assert sortable_time("2026-11-01T11:00:00+01:00") == "2026-11-01T10:00:00.000Z"
    assert sortable_time("2026-11-01T10:00:00.5") == "2026-11-01T10:00:00.500Z"  # naive: UTC
    assert sortable_time("not a time") is None
    assert sortable_time(None) is None
    assert parse_time("2026-11-01T10:00:00.000Z") == datetime.datetime(2026, 11, 1, 10, tzinfo=datetime.timezone.utc)


def test_window_starts_at_the_newest_checkpoint_at_or_before_its_start():
    checkpoints = [[10, at(0)], [20, at(5)], [30, at(10)], [40, at(15)]]
    assert window_start_id(checkpoints, at(12)) == 30
    assert window_start_id(checkpoints, at(10)) == 30
    assert window_start_id(checkpoints, at(100)) == 40
    # nothing that old yet (lookback just turned on): as far back as the state reaches
    assert window_start_id(checkpoints, at(-1)) == 10
    assert window_start_id([], at(1)) is None


def test_the_pass_starts_just_before_the_window_and_knows_the_bookmark():
    state = {STATE_KEY: {"watermark": at(20), "checkpoints": [[10, at(0)], [20, at(5)], [30, at(10)], [40, at(15)]]}}
    lookback = LookbackPass(state, hours=6, bookmark=45, newest_created=at(17))  # window from hour 11
    assert lookback.start_id == 30
    assert lookback.after_id(45) == 29


@pytest.mark.parametrize(
    ("state", "bookmark", "reason"),
    [
        ({}, 45, "no updatedAt watermark"),
        ({STATE_KEY: {"watermark": "2026-11-01T00:00:00.000Z", "checkpoints": []}}, 45, "no checkpoint"),
        ({}, None, None),  # a first sync: nothing to re-read, nothing to explain
    ],
)
def test_without_watermark_or_checkpoints_the_pass_rereads_nothing_and_says_why(state, bookmark, reason):
    lookback = LookbackPass(state, hours=6, bookmark=bookmark, newest_created=at(17))
    assert lookback.start_id is None
    assert lookback.after_id(44) == 44
    assert (lookback.why_no_window() or "").startswith(reason or "")
    assert (lookback.why_no_window() is None) == (reason is None)


# --- the watermark -----------------------------------------------------------------


def test_window_logs_pass_only_if_updated_after_the_watermark_new_logs_always():
    state = {STATE_KEY: {"watermark": at(20), "checkpoints": [[1, at(0)]]}}
    lookback = LookbackPass(state, hours=100, bookmark=5, newest_created=at(18))
    page = [log(1, 0), log(2, 1, updated_h=20), log(3, 2, updated_h=21), log(4, 3, updated_h=25), log(5, 18)]
    page += [log(6, 19), log(7, 22, updated_h=22)]  # past the bookmark: new, whatever their updatedAt
    emitted = [r["id"] for r in lookback.emit(page)]
    assert emitted == [3, 4, 6, 7]  # 2 ties the watermark: not changed
    assert [i for i in emitted if i <= lookback.bookmark] == [3, 4]  # changed; 6 and 7 are new


def test_the_watermark_rises_only_once_the_window_is_read_through():
    state = {STATE_KEY: {"watermark": at(20), "checkpoints": [[1, at(0)]]}}
    lookback = LookbackPass(state, hours=100, bookmark=6, newest_created=at(18))
    first = [log(1, 0), log(2, 1, updated_h=30), log(3, 2)]
    list(lookback.emit(first))
    lookback.page_done(first)
    # killed here: the STATE says the old watermark, so the next run redoes the window
    assert state[STATE_KEY]["watermark"] == at(20)
    second = [log(4, 3), log(5, 4), log(6, 18), log(7, 19)]
    list(lookback.emit(second))
    lookback.page_done(second)
    assert state[STATE_KEY]["watermark"] == at(30)
    assert [c[0] for c in state[STATE_KEY]["checkpoints"]] == [1, 4]


def test_a_log_changed_mid_run_after_the_run_passed_it_is_caught_by_the_next_run():
    started = T0 + datetime.timedelta(hours=30)
    state = {STATE_KEY: {"watermark": at(20), "checkpoints": [[1, at(0)]]}}
    lookback = LookbackPass(state, hours=100, bookmark=3, newest_created=at(18), started=started)
    window = [log(1, 0), log(2, 1), log(3, 18)]
    list(lookback.emit(window))
    lookback.page_done(window)
    # meanwhile log 2 is changed (hour 30.01), then a log is created (30.02) and read as new
    new = [log(4, 29), log(5, 30.02)]
    list(lookback.emit(new))
    lookback.page_done(new)
    assert state[STATE_KEY]["watermark"] == at(29)  # not 30.02: that log was written during the run
    following = LookbackPass(state, hours=100, bookmark=5, newest_created=at(30.02), started=started)
    again = [log(1, 0), log(2, 1, updated_h=30.01), log(3, 18), log(4, 29), log(5, 30.02)]
    assert [r["id"] for r in following.emit(again)] == [2, 5]  # the change, and the mid-run log once more


def test_a_scroll_ending_inside_the_window_still_commits_the_watermark():
    state = {STATE_KEY: {"watermark": at(20), "checkpoints": [[1, at(0)]]}}
    lookback = LookbackPass(state, hours=100, bookmark=3, newest_created=at(2))
    page = [log(1, 0), log(2, 1, updated_h=26), log(3, 2)]
    list(lookback.emit(page))
    lookback.page_done(page)
    assert state[STATE_KEY]["watermark"] == at(20)
    lookback.finish()
    assert state[STATE_KEY]["watermark"] == at(26)


# --- thinning ----------------------------------------------------------------------


def test_thinning_keeps_at_most_the_limit_and_drops_what_no_window_reaches():
    checkpoints = [[i * 10, at(i)] for i in range(200)]  # one per hour
    thinned = thin(checkpoints, hours=24, limit=16)
    assert len(thinned) <= 16
    assert thinned[0] == [1750, at(175)]  # the window ending at hour 199 starts at 175
    assert thinned[-1] == checkpoints[-1]
    assert thin(checkpoints[:5], hours=24, limit=16) == checkpoints[:5]


@pytest.mark.parametrize("seed", range(20))
def test_checkpoints_of_a_long_sync_stay_bounded_and_place_the_window_closely(seed):
    """Page by page, as a sync adds them: sparse ids, uneven density; the window is always covered."""
    rng = random.Random(seed)
    hours = rng.choice([1, 6, 24, 72])
    state: dict = {}
    lookback = LookbackPass(state, hours=hours, bookmark=None, newest_created=None)
    pages, record_id, created = [], 1000, 0.0
    for _ in range(rng.randint(100, 1500)):
        density = rng.choice([0.05, 0.5, 2.0])  # hours between logs of this page
        page = []
        for _ in range(50):
            record_id += rng.randint(1, 5000)
            created += rng.expovariate(1 / density)
            page.append(log(record_id, created))
        pages.append(page)
        lookback.page_done(page)
        checkpoints = state[STATE_KEY]["checkpoints"]
        assert len(checkpoints) <= MAX_CHECKPOINTS
    window_start = sortable_time(T0 + datetime.timedelta(hours=created - hours))
    start = window_start_id(checkpoints, window_start)
    exact = window_start_id([[p[0]["id"], p[0]["createdAt"]] for p in pages], window_start)
    assert start <= exact  # covers the window
    window_pages = sum(1 for p in pages if p[0]["id"] >= exact)
    extra_pages = sum(1 for p in pages if start <= p[0]["id"] < exact)
    assert extra_pages <= max(1, 3 * window_pages / MAX_CHECKPOINTS), (window_pages, extra_pages)


# --- end to end against the simulator ------------------------------------------------


def _requests(sim, stream, since=0):
    return [e for e in sim.log[since:] if e["path"] == f"/{stream}"]


def _window_pages(sim, state, stream, hours, client_id=None):
    """Pages from the window's first checkpoint to the end, as the state places it."""
    stream_state = state["bookmarks"][stream]
    if client_id is not None:
        stream_state = next(p for p in stream_state["partitions"] if p["context"] == {"client_id": client_id})
    newest = parse_time(stream_state["last_created_at"])
    start = window_start_id(
        stream_state[STATE_KEY]["checkpoints"], sortable_time(newest - datetime.timedelta(hours=hours))
    )
    return math.ceil(sum(1 for r in sim.visible(stream, TEST_KEY, client_id) if r["id"] >= start) / 50)


def _assert_bookmarks_never_go_back(runs, client_ids=(None,)):
    for stream in STREAMS:
        for client_id in client_ids:
            values = [bookmark(s, stream, client_id) for run in runs for s in run.states]
            values = [v for v in values if v is not None]
            assert values == sorted(values), f"{stream}: the bookmark moved backwards"


@pytest.mark.parametrize(
    ("reading", "end_signal"),
    [("inclusive", "last"), ("exclusive", "last"), ("inclusive", "empty"), ("exclusive", "empty")],
)
def test_lookback_emits_exactly_new_and_changed_logs(make_sim, reading, end_signal):
    sim = make_sim(pipeline_logs=1200, model_logs=300, reading=reading, end_signal=end_signal)
    config = config_for(sim.url, lookback_hours=24)
    first = run_tap(config)
    assert first.returncode == 0, first.stderr
    assert first.ids("pipeline_logs") == [r["id"] for r in sim.visible("pipeline_logs", TEST_KEY)]

    visible = sim.visible("pipeline_logs", TEST_KEY)
    window_start = parse_time(visible[-1]["createdAt"]) - datetime.timedelta(hours=24)
    inside = [r for r in visible if parse_time(r["createdAt"]) > window_start + datetime.timedelta(hours=1)]
    checkpoints = first.final_state["bookmarks"]["pipeline_logs"][STATE_KEY]["checkpoints"]
    outside = [r for r in visible if r["id"] < window_start_id(checkpoints, sortable_time(window_start))]
    assert len(inside) > 60  # more than a page: the window spans several
    changed = [inside[0]["id"], inside[len(inside) // 2]["id"], inside[-1]["id"]]
    for record_id in changed:
        sim.update_log("pipeline_logs", record_id, row_count="4242")
    sim.update_log("pipeline_logs", outside[-1]["id"], row_count="4242")  # before the window's first page
    time.sleep(0.01)  # the new logs' createdAt/updatedAt come after the changes
    new = [r["id"] for r in append_now(sim, 40) if r["client_id"] in (1, 2, 3)]
    settle()

    since = len(sim.log)
    second = run_tap(config, first.final_state)
    assert second.returncode == 0, second.stderr
    assert second.ids("pipeline_logs") == changed + new
    assert all(r["row_count"] == 4242 for r in second.records("pipeline_logs")[:3])
    assert second.ids("model_logs") == []
    assert bookmark(second.final_state, "pipeline_logs") == new[-1]
    # the window's pages plus the new logs' (one more to learn the end, at most)
    window = _window_pages(sim, first.final_state, "pipeline_logs", 24)
    assert window >= 2
    assert window <= len(_requests(sim, "pipeline_logs", since)) <= window + 2
    summary = next(line for line in second.stderr.splitlines() if "pipeline_logs: run summary" in line)
    assert f"{len(changed) + len(new)} logs emitted ({len(new)} new, {len(changed)} changed)" in summary

    since = len(sim.log)
    idle = run_tap(config, second.final_state)
    assert idle.returncode == 0, idle.stderr
    assert idle.ids("pipeline_logs") == idle.ids("model_logs") == []
    for stream in STREAMS:
        window = _window_pages(sim, second.final_state, stream, 24)
        assert window <= len(_requests(sim, stream, since)) <= window + 1
    assert idle.final_state["bookmarks"]["pipeline_logs"]["replication_key_value"] == new[-1]
    _assert_bookmarks_never_go_back([first, second, idle])


def test_without_lookback_nothing_is_reread_and_the_state_keeps_its_shape(sim):
    first = run_tap(config_for(sim.url))
    visible = sim.visible("pipeline_logs", TEST_KEY)
    sim.update_log("pipeline_logs", visible[-1]["id"], row_count="1")
    since = len(sim.log)
    second = run_tap(config_for(sim.url), first.final_state)
    assert second.ids("pipeline_logs") == []
    assert len(_requests(sim, "pipeline_logs", since)) == 1
    assert all(STATE_KEY not in s for s in second.final_state["bookmarks"].values())


def test_lookback_turned_on_later_starts_its_bookkeeping_and_says_so(sim):
    first = run_tap(config_for(sim.url))
    config = config_for(sim.url, lookback_hours=48)
    second = run_tap(config, first.final_state)
    assert second.ids("pipeline_logs") == []
    assert "lookback re-reads nothing this run: no updatedAt watermark" in second.stderr
    append_now(sim, 10, client_id=1)
    settle()
    third = run_tap(config, second.final_state)
    sim.update_log("pipeline_logs", third.ids("pipeline_logs")[0], row_count="7")
    fourth = run_tap(config, third.final_state)
    assert fourth.ids("pipeline_logs") == third.ids("pipeline_logs")[:1]


def test_turned_off_the_bookkeeping_is_dropped_so_turning_it_on_again_starts_afresh(sim):
    config = config_for(sim.url, lookback_hours=24)
    first = run_tap(config)
    assert STATE_KEY in first.final_state["bookmarks"]["pipeline_logs"]
    append_now(sim, 120, client_id=1)
    settle()
    off = run_tap(config_for(sim.url), first.final_state)
    assert STATE_KEY not in off.final_state["bookmarks"]["pipeline_logs"]
    since = len(sim.log)
    on_again = run_tap(config, off.final_state)
    assert on_again.ids("pipeline_logs") == []  # not the 120 loaded while it was off
    assert len(_requests(sim, "pipeline_logs", since)) == 1


def test_each_client_ids_partition_keeps_its_own_lookback(sim):
    config = config_for(sim.url, lookback_hours=24, client_ids=[1, 3])
    first = run_tap(config)
    assert first.returncode == 0, first.stderr
    changed = {c: sim.visible("pipeline_logs", TEST_KEY, client_id=c)[-3]["id"] for c in (1, 3)}
    for record_id in changed.values():
        sim.update_log("pipeline_logs", record_id, row_count="9")
    sim.update_log("pipeline_logs", sim.visible("pipeline_logs", TEST_KEY, client_id=2)[-1]["id"], row_count="9")
    time.sleep(0.01)
    new = append_now(sim, 5, client_id=3)
    second = run_tap(config, first.final_state)
    assert second.returncode == 0, second.stderr
    assert second.ids("pipeline_logs") == [changed[1], changed[3], *(r["id"] for r in new)]
    for client_id in (1, 3):
        partition = next(
            p
            for p in second.final_state["bookmarks"]["pipeline_logs"]["partitions"]
            if p["context"] == {"client_id": client_id}
        )
        assert partition[STATE_KEY]["checkpoints"]
        assert partition["replication_key_value"] == sim.visible("pipeline_logs", TEST_KEY, client_id)[-1]["id"]
    _assert_bookmarks_never_go_back([first, second], client_ids=(1, 3))


def test_lookback_hours_must_be_whole_hours_not_below_zero(sim):
    for value, words in ((-1, "must be >= 0"), ("a day", "must be integer"), (1.5, "must be integer")):
        run = run_tap(config_for(sim.url, lookback_hours=value))
        assert run.returncode == 1
        assert f"setting 'lookback_hours' {words}" in run.stderr
        assert "Traceback" not in run.stderr


# --- SIGKILL in the middle of a lookback pass ----------------------------------------


def _pipeline_requests_since(since: int):
    def when(messages, sim) -> bool:
        return len(_requests(sim, "pipeline_logs", since)) >= 3  # two window pages done, the third asked

    return when


def _first_changed_record(since: int):
    def when(messages, sim) -> bool:
        return any(m["type"] == "RECORD" and m["stream"] == "pipeline_logs" for m in messages)

    return when


@pytest.mark.slow
@pytest.mark.parametrize("kill_when", [_pipeline_requests_since, _first_changed_record])
def test_killed_mid_lookback_pass_the_next_run_redoes_it_losing_nothing(make_sim, kill_when):
    sim = make_sim(pipeline_logs=1200, model_logs=300)
    config = config_for(sim.url, lookback_hours=36)
    first = run_tap(config)
    visible = sim.visible("pipeline_logs", TEST_KEY)
    window_start = sortable_time(parse_time(visible[-1]["createdAt"]) - datetime.timedelta(hours=36))
    checkpoints = first.final_state["bookmarks"]["pipeline_logs"][STATE_KEY]["checkpoints"]
    window = [r for r in visible if r["id"] >= window_start_id(checkpoints, window_start)]
    assert len(window) > 150  # four pages or more: a kill lands inside the pass
    changed = [window[5]["id"], window[len(window) // 2]["id"], window[-1]["id"]]
    for record_id in changed:
        sim.update_log("pipeline_logs", record_id, row_count="77")
    time.sleep(0.01)
    new = [r["id"] for r in append_now(sim, 60) if r["client_id"] in (1, 2, 3)]
    settle()

    paced = {**config, "rate_limits": PACED}
    killed = run_until(paced, first.final_state, sim, kill_when(len(sim.log)))
    assert killed.returncode != 0, "the kill should land before the run ends"
    killed_state = killed.final_state
    assert (
        killed_state["bookmarks"]["pipeline_logs"][STATE_KEY]["watermark"]
        == (first.final_state["bookmarks"]["pipeline_logs"][STATE_KEY]["watermark"])
    ), "a pass cut short must not raise the watermark"
    assert bookmark(killed_state, "pipeline_logs") == bookmark(first.final_state, "pipeline_logs")

    resumed = run_tap(config, killed_state)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.ids("pipeline_logs") == changed + new  # the whole pass again, then the new logs
    assert bookmark(resumed.final_state, "pipeline_logs") == new[-1]
    _assert_bookmarks_never_go_back([first, killed, resumed])
    again = run_tap(config, resumed.final_state)
    assert again.ids("pipeline_logs") == []


# --- found by an adversarial pass --------------------------------------------------


def test_the_watermark_counts_no_updated_at_within_the_clock_margin_of_the_start():
    """An updatedAt 1 s before the run began (Kondado's clock may be behind) must not raise the watermark."""
    started = T0 + datetime.timedelta(hours=30)
    state = {STATE_KEY: {"watermark": at(20), "checkpoints": [[1, at(0)]]}}
    lookback = LookbackPass(state, hours=100, bookmark=3, newest_created=at(18), started=started)
    page = [log(1, 0), log(2, 1, updated_h=30 - 1 / 3600), log(3, 18, updated_h=29)]
    list(lookback.emit(page))
    lookback.page_done(page)
    lookback.finish()
    assert state[STATE_KEY]["watermark"] == at(29)  # not 30 h less 1 s: that may be a change still being written


def test_a_run_that_places_no_window_never_raises_the_watermark():
    """A bookmark and a watermark but no checkpoint: the run reads new logs only; their updatedAt
    must not hide the changes to older logs that this run never looked for."""
    state = {STATE_KEY: {"watermark": at(20), "checkpoints": []}}
    lookback = LookbackPass(state, hours=24, bookmark=5, newest_created=None)
    assert lookback.start_id is None
    assert lookback.why_no_window() == "no checkpoint in the state yet"
    page = [log(6, 25), log(7, 26)]
    assert [r["id"] for r in lookback.emit(page)] == [6, 7]
    lookback.page_done(page)
    lookback.finish()
    assert state[STATE_KEY]["watermark"] == at(20)
    assert state[STATE_KEY]["checkpoints"] == [[6, at(25)]]  # the next run can place its window


@pytest.mark.parametrize("newest", [None, "not a time", ""])
def test_an_unreadable_newest_created_at_places_the_window_from_the_newest_checkpoint(newest):
    state = {STATE_KEY: {"watermark": at(20), "checkpoints": [[10, at(0)], [20, at(5)], [30, at(10)], [40, at(15)]]}}
    lookback = LookbackPass(state, hours=6, bookmark=45, newest_created=newest)  # from hour 15: window from 9
    assert lookback.start_id == 20
    assert lookback.why_no_window() is None


def test_the_window_starts_no_later_than_the_previous_runs_within_twice_lookback_hours():
    checkpoints = [[i * 10, at(i)] for i in range(0, 40)]  # one per hour
    state = {STATE_KEY: {"watermark": at(30), "checkpoints": checkpoints}}
    first = LookbackPass(state, hours=6, bookmark=300, newest_created=at(30))  # window from hour 24
    assert first.start_id == 240
    first.finish()
    assert state[STATE_KEY]["from"] == at(24)
    # the next run's newest is 4 hours on: its own window would start at 28, past what the last one re-read
    second = LookbackPass(state, hours=6, bookmark=340, newest_created=at(34))
    assert second.start_id == 240
    second.finish()
    assert state[STATE_KEY]["from"] == at(28)  # its own start: anchoring does not pile up run after run
    # bounded: 20 hours on, the window starts at most 12 hours (twice lookback_hours) before the newest
    state[STATE_KEY]["from"] = at(10)
    third = LookbackPass(state, hours=6, bookmark=390, newest_created=at(39))
    assert third.start_id == 270


def _hold_back(sim, stream: str, hours: float) -> list[dict]:
    """Take the logs of the last `hours` out of the simulator (to be added back later)."""
    cut = sortable_time(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=hours))
    records = sim.records[stream]
    held = [r for r in records if r["createdAt"] > cut]
    sim.load({stream: [r for r in records if r["createdAt"] <= cut]})
    return held


def test_a_start_date_past_the_bookmark_never_drops_new_logs(sim):
    """lookback on, then start_date set (or rolled forward) past the bookmark: every new log still comes."""
    config = config_for(sim.url, lookback_hours=24)
    first = run_tap(config)
    assert first.returncode == 0, first.stderr
    early = [r["id"] for r in append_now(sim, 20) if r["client_id"] in (1, 2, 3)]
    time.sleep(0.05)
    date = sortable_time(datetime.datetime.now(datetime.timezone.utc))
    time.sleep(0.05)
    late = [r["id"] for r in append_now(sim, 20) if r["client_id"] in (1, 2, 3)]
    settle()
    second = run_tap({**config, "start_date": date}, first.final_state)
    assert second.returncode == 0, second.stderr
    assert second.ids("pipeline_logs") == early + late
    assert bookmark(second.final_state, "pipeline_logs") == late[-1]


def test_a_newest_log_without_created_at_still_places_the_next_window(sim):
    """The newest log's createdAt is null: the next run re-reads its window all the same, edits included."""
    config = config_for(sim.url, lookback_hours=24)
    visible = sim.visible("pipeline_logs", TEST_KEY)
    visible[-1]["createdAt"] = None
    first = run_tap(config)
    assert first.returncode == 0, first.stderr
    assert first.final_state["bookmarks"]["pipeline_logs"]["last_created_at"] is None
    edited = visible[-5]["id"]
    sim.update_log("pipeline_logs", edited, row_count="5")
    time.sleep(0.01)
    new = [r["id"] for r in append_now(sim, 10, client_id=2)]
    settle()
    second = run_tap(config, first.final_state)
    assert second.returncode == 0, second.stderr
    assert "lookback re-reads nothing" not in second.stderr
    assert second.ids("pipeline_logs") == [edited, *new]
    third = run_tap(config, second.final_state)
    assert third.ids("pipeline_logs") == []


def test_an_edit_in_the_last_runs_window_comes_though_the_newest_log_moved_on(make_sim):
    """Run 2 re-reads from 12 h before the newest log of run 1, then loads 6 h of new logs. A log in
    run 2's window edited after it is re-read by run 3, though run 3's own window starts later."""
    sim = make_sim(pipeline_logs=1500, model_logs=10, realistic=True, days=3)
    now = datetime.datetime.now(datetime.timezone.utc)
    for record in sim.records["pipeline_logs"]:  # only the edit this test makes
        record["updatedAt"] = record["createdAt"]
    held = _hold_back(sim, "pipeline_logs", 6)
    config = config_for(sim.url, lookback_hours=12)
    first = run_tap(config)
    assert first.returncode == 0, first.stderr
    settle()
    second = run_tap(config, first.final_state)  # nothing new yet: an idle run, window from now - 18 h
    sim.add_records("pipeline_logs", held)
    settle()
    third = run_tap(config, second.final_state)  # 6 h of new logs, window from now - 18 h
    assert third.ids("pipeline_logs") == [r["id"] for r in held if r["client_id"] in (1, 2, 3)]
    edge = now - datetime.timedelta(hours=15)  # in the third run's window, not in 12 h before the newest log
    target = next(r for r in sim.visible("pipeline_logs", TEST_KEY) if parse_time(r["createdAt"]) >= edge)
    sim.update_log("pipeline_logs", target["id"], row_count="15")
    settle()
    fourth = run_tap(config, third.final_state)
    assert fourth.returncode == 0, fourth.stderr
    assert fourth.ids("pipeline_logs") == [target["id"]]
