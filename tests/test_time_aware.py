"""`start_date` and `lookback_hours` together, end to end, with the run summary and progress.

A first sync seeks the date and scrolls from the seek's landing page; with lookback on,
that scroll also lays the checkpoints a later run places its window with. The next run
re-reads the window (no seek), emits only the logs changed since, then the new ones; an
idle run after it emits nothing. Real `tap-kondado` processes, the simulator's realistic
mode (sparse ids, createdAt nearly ascending), both readings and end signals, client_ids.
"""

from __future__ import annotations

import datetime
import re
import time

import pytest

from tap_kondado.logs.lookback import STATE_KEY, window_start_id
from tap_kondado.times import created_at, parse_time, sortable_time
from tests.tap_runner import TEST_KEY, TapRun, bookmark, config_for, run_tap
from tests.test_interruption import PACED, after_records, run_until
from tests.test_lookback import _assert_bookmarks_never_go_back, _window_pages, settle
from tests.test_start_date import iso, since

STREAMS = ("pipeline_logs", "model_logs")
HOURS = 24
N = r"(-?[\d,]+)"  # a count as the summary writes it (a miscount may go negative)
SUMMARY = re.compile(rf"(\w+): run summary: {N} logs? emitted \({N} new, {N} changed\), {N} requests?")


def summaries(run: TapRun) -> dict[str, tuple[int, int, int, int]]:
    """Per stream, the summary line's (logs, new, changed, requests)."""
    found = {}
    for match in SUMMARY.finditer(run.stderr):
        found[match[1]] = tuple(int(group.replace(",", "")) for group in match.groups()[1:])
    return found


def finished(run: TapRun, stream: str, client_id: int | None) -> tuple[int, int]:
    """A partition's last progress line: (logs, requests)."""
    where = re.escape(stream if client_id is None else f"{stream} (client_id {client_id})")
    match = re.search(rf"Finished: {where}: {N} logs, {N} requests;", run.stderr)
    assert match, f"no Finished line for {stream} {client_id}"
    return int(match[1].replace(",", "")), int(match[2].replace(",", ""))


def partition(state: dict, stream: str, client_id: int | None) -> dict:
    stream_state = state["bookmarks"][stream]
    if client_id is None:
        return stream_state
    return next(p for p in stream_state["partitions"] if p["context"] == {"client_id": client_id})


def requests_of(sim, stream: str, client_id: int | None, since_request: int = 0) -> int:
    wanted = None if client_id is None else str(client_id)
    return sum(1 for e in sim.log[since_request:] if e["path"] == f"/{stream}" and e["client_id"] == wanted)


def no_future_edits(sim) -> None:
    """The realistic mode may stamp an edit up to 90 minutes after a log made a minute ago:
    an updatedAt still to come reads as "changed" on every run until the clock reaches it.
    No real log is edited in the future; these tests want only the edits they make."""
    now = sortable_time(datetime.datetime.now(datetime.timezone.utc))
    for stream in STREAMS:
        for record in sim.records[stream]:
            if record["updatedAt"] > now:
                record["updatedAt"] = record["createdAt"]


def landing_start(run: TapRun, stream: str, client_id: int | None) -> int:
    """The start_element_id the seek landed on, from its log line."""
    where = re.escape(stream + (f" {{'client_id': {client_id}}}" if client_id is not None else ""))
    match = re.search(where + r": logs since start_date \S+ begin at or after start_element_id (\d+)", run.stderr)
    assert match, f"no seek line for {stream} {client_id}"
    return int(match[1])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("reading", "end_signal", "client_ids"),
    [
        ("inclusive", "last", None),
        ("exclusive", "empty", None),
        ("inclusive", "last", [1, 3]),
        ("exclusive", "empty", [1, 3]),
    ],
)
def test_start_date_with_lookback_first_then_changed_and_new_then_idle(make_sim, reading, end_signal, client_ids):
    # ~100 logs a day per account and stream over ten days: the 7 days since the date are
    # 14 pages or more per partition, the 24-hour window a few.
    sim = make_sim(pipeline_logs=5000, model_logs=4000, realistic=True, days=10, reading=reading, end_signal=end_signal)
    no_future_edits(sim)
    partitions = client_ids or [None]
    date = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=7)
    config = config_for(sim.url, start_date=iso(date), lookback_hours=HOURS, client_ids=client_ids)

    first = run_tap(config)
    assert first.returncode == 0, first.stderr[-3000:]
    check_first_sync(sim, first, date, partitions, reading)

    changed = change_logs(sim, first, date, partitions)
    time.sleep(0.01)  # the new logs come after the changes
    new = append_logs(sim, partitions, client_ids)
    settle()

    since_request = len(sim.log)
    second = run_tap(config, first.final_state)
    assert second.returncode == 0, second.stderr[-3000:]
    check_second_run(sim, first, second, since_request, partitions=partitions, changed=changed, new=new)

    since_request = len(sim.log)
    idle = run_tap(config, second.final_state)
    assert idle.returncode == 0, idle.stderr[-3000:]
    for stream in STREAMS:
        assert idle.records(stream) == [], stream
        assert summaries(idle)[stream][:3] == (0, 0, 0)
        for client_id in partitions:
            assert bookmark(idle.final_state, stream, client_id) == new[stream, client_id][-1]
            window = _window_pages(sim, second.final_state, stream, HOURS, client_id)
            assert window <= requests_of(sim, stream, client_id, since_request) <= window + 1
    for client_id in partitions:
        _assert_bookmarks_never_go_back([first, second, idle], client_ids=(client_id,))


def check_first_sync(sim, first: TapRun, date: datetime.datetime, partitions: list, reading: str) -> None:
    """The logs since the date; the bookmark; checkpoints from the landing page on; the summary."""
    for stream in STREAMS:
        emitted_total = 0
        for client_id in partitions:
            expected = since(sim, stream, date, client_id)
            emitted = [r["id"] for r in first.records(stream) if client_id is None or r["client_id"] == client_id]
            assert emitted == expected, f"{stream} {client_id}"
            emitted_total += len(emitted)
            state = partition(first.final_state, stream, client_id)
            assert state["replication_key_value"] == expected[-1]
            last = next(r for r in sim.visible(stream, TEST_KEY, client_id) if r["id"] == expected[-1])
            assert state["last_created_at"] == last["createdAt"]
            assert "start_date_floor" not in state  # the scroll went past the date's risk
            # The checkpoints begin with the seek's landing page (taken, not fetched again).
            start = landing_start(first, stream, client_id)
            visible = sim.visible(stream, TEST_KEY, client_id)
            read = [r for r in visible if (r["id"] >= start if reading == "inclusive" else r["id"] > start)]
            checkpoints = state[STATE_KEY]["checkpoints"]
            assert checkpoints[0] == [read[0]["id"], read[0]["createdAt"]], f"{stream} {client_id}"
            assert created_at(read[0]) < date.timestamp() or read[0] is visible[0]  # the page straddles the date
            assert [c[0] for c in checkpoints] == sorted({c[0] for c in checkpoints})
            assert len(checkpoints) >= len(read) // 50  # one a page
            assert checkpoints[-1][0] in {r["id"] for r in read[-51:]}
            assert state[STATE_KEY]["watermark"] == max(r["updatedAt"] for r in read)
            assert finished(first, stream, client_id) == (len(expected), requests_of(sim, stream, client_id))
        logs, new, changed, _ = summaries(first)[stream]
        assert (logs, new, changed) == (emitted_total, emitted_total, 0), stream


def change_logs(sim, first: TapRun, date: datetime.datetime, partitions: list) -> dict:
    """Three logs changed inside each partition's window; two outside it, one from before the date."""
    changed = {}
    for stream in STREAMS:
        for client_id in partitions:
            state = partition(first.final_state, stream, client_id)
            visible = sim.visible(stream, TEST_KEY, client_id)
            window_start = parse_time(state["last_created_at"]) - datetime.timedelta(hours=HOURS)
            first_id = window_start_id(state[STATE_KEY]["checkpoints"], sortable_time(window_start))
            inside = [r["id"] for r in visible if parse_time(r["createdAt"]) > window_start]
            assert len(inside) > 60, f"{stream} {client_id}: the window should span pages"
            changed[stream, client_id] = [inside[0], inside[len(inside) // 2], inside[-1]]
            for record_id in changed[stream, client_id]:
                sim.update_log(stream, record_id, row_count="4242")
            before_window = [r["id"] for r in visible if r["id"] < first_id]
            older = [r["id"] for r in visible if created_at(r) < date.timestamp()]
            for record_id in (before_window[-1], older[-1]):  # read by no window: never sent again
                sim.update_log(stream, record_id, row_count="1")
    return changed


def append_logs(sim, partitions: list, client_ids: list | None) -> dict:
    """30 new logs per stream and partition (and for account 2, not synced, with client_ids)."""
    new = {}
    for stream in STREAMS:
        for client_id in (*partitions, 2) if client_ids else partitions:
            appended = sim.append(stream, 30, client_id=client_id)
            for record in appended:
                record["updatedAt"] = record["createdAt"]  # not yet edited
            new[stream, client_id] = [r["id"] for r in appended if r["client_id"] in (1, 2, 3)]
    return new


def check_second_run(sim, first: TapRun, second: TapRun, since_request: int, *, partitions, changed, new) -> None:
    """Changed then new logs, no seek; the bookmark and watermark forward; the window's pages; the summary."""
    assert "logs since start_date" not in second.stderr  # the bookmark wins: no seek
    for stream in STREAMS:
        for client_id in partitions:
            emitted = [r for r in second.records(stream) if client_id is None or r["client_id"] == client_id]
            expected = sorted(changed[stream, client_id]) + new[stream, client_id]
            assert [r["id"] for r in emitted] == expected, f"{stream} {client_id}"
            assert all(str(r["row_count"]) == "4242" for r in emitted[:3])
            after = partition(second.final_state, stream, client_id)
            assert after["replication_key_value"] == new[stream, client_id][-1]
            before = partition(first.final_state, stream, client_id)
            assert after[STATE_KEY]["watermark"] > before[STATE_KEY]["watermark"]
            # the window's pages and the new logs', one more at most to learn the end
            window = _window_pages(sim, first.final_state, stream, HOURS, client_id)
            spent = requests_of(sim, stream, client_id, since_request)
            assert window >= 2
            assert window <= spent <= window + 1, f"{stream} {client_id}: {spent} requests, window {window}"
            assert finished(second, stream, client_id) == (len(expected), spent)
        expected_changed = sum(len(changed[stream, c]) for c in partitions)
        expected_new = sum(len(new[stream, c]) for c in partitions)
        logs, new_count, changed_count, requests = summaries(second)[stream]
        assert (logs, new_count, changed_count) == (expected_changed + expected_new, expected_new, expected_changed)
        assert requests == sum(requests_of(sim, stream, c, since_request) for c in partitions)


def test_a_window_reaching_back_past_start_date_still_emits_nothing_created_before_it(make_sim):
    """lookback_hours longer than the time since start_date: the window starts at the seek's
    landing page, whose first logs predate the date. Changed or not, they stay out."""
    sim = make_sim(pipeline_logs=5000, model_logs=4000, realistic=True, days=10)
    no_future_edits(sim)
    date = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=12)
    config = config_for(sim.url, start_date=iso(date), lookback_hours=72, client_ids=None)
    first = run_tap(config)
    assert first.returncode == 0, first.stderr[-3000:]
    stream = "pipeline_logs"
    expected = since(sim, stream, date)
    assert first.ids(stream) == expected
    start = landing_start(first, stream, None)
    read = [r for r in sim.visible(stream, TEST_KEY) if r["id"] >= start]
    predating = [r["id"] for r in read if created_at(r) < date.timestamp()]
    assert predating, "the landing page should straddle the date"
    inside = expected[len(expected) // 2]
    for record_id in (predating[0], predating[-1], inside):
        sim.update_log(stream, record_id, row_count="99")
    settle()

    second = run_tap(config, first.final_state)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.ids(stream) == [inside]
    assert summaries(second)[stream][:3] == (1, 0, 1)
    assert bookmark(second.final_state, stream) == expected[-1]


def test_a_run_failing_after_the_window_sums_up_the_changed_logs_it_sent(make_sim):
    """A run stopped by a fatal error still says what it sent: window logs included."""
    sim = make_sim(pipeline_logs=5000, model_logs=4000, realistic=True, days=10)
    no_future_edits(sim)
    date = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=3)
    config = config_for(sim.url, start_date=iso(date), lookback_hours=HOURS, client_ids=None)
    first = run_tap(config)
    assert first.returncode == 0, first.stderr[-3000:]
    changed = change_logs(sim, first, date, [None])
    settle()
    window = _window_pages(sim, first.final_state, "model_logs", HOURS)
    # model_logs goes first: the fault is its last window page's request, after the others were sent
    sim.schedule({window: "error:INVALID_TOKEN"}, relative=True)
    failed = run_tap(config, first.final_state)
    assert failed.returncode == 1
    sent = failed.ids("model_logs")
    assert sent, "some changed logs should go out before the fault"
    assert set(sent) <= set(changed["model_logs", None])
    assert summaries(failed)["model_logs"][:3] == (len(sent), 0, len(sent))


@pytest.mark.slow
def test_a_first_sync_killed_mid_scroll_resumes_with_its_window_losing_and_adding_nothing(make_sim):
    """SIGKILL a few pages past the landing page; the rerun re-reads its window (nothing changed:
    nothing sent from it), then goes on from the bookmark: every log since the date, none before."""
    sim = make_sim(pipeline_logs=5000, model_logs=4000, realistic=True, days=10)
    no_future_edits(sim)
    date = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=7)
    config = config_for(sim.url, start_date=iso(date), lookback_hours=HOURS, client_ids=None)
    killed = run_until({**config, "rate_limits": PACED}, None, sim, after_records(130, "model_logs"))
    assert killed.returncode != 0, "the kill should land before the run ends"
    state = killed.final_state
    assert STATE_KEY in state["bookmarks"]["model_logs"]
    since_request = len(sim.log)
    resumed = run_tap(config, state)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    window = _window_pages(sim, state, "model_logs", HOURS)  # from the window's start to the end
    assert window <= requests_of(sim, "model_logs", None, since_request) <= window + 1
    assert "logs since start_date" in resumed.stderr  # pipeline_logs had no bookmark yet: it seeks
    for stream in STREAMS:
        expected = since(sim, stream, date)
        assert sorted(set(killed.ids(stream)) | set(resumed.ids(stream))) == expected, stream
        repeated = set(killed.ids(stream)) & set(resumed.ids(stream))
        assert len(repeated) <= 50, stream
        assert bookmark(resumed.final_state, stream) == expected[-1]
        logs, new, changed, _ = summaries(resumed)[stream]
        assert (logs, new, changed) == (len(resumed.ids(stream)), len(resumed.ids(stream)), 0), stream
    _assert_bookmarks_never_go_back([killed, resumed])
    idle = run_tap(config, resumed.final_state)
    assert idle.ids("model_logs") == idle.ids("pipeline_logs") == []
