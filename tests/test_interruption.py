"""SIGKILL at any moment, rerun with the last STATE: nothing lost, at most one page repeated.

Each scenario runs the real `tap-kondado` process against the simulator, kills it with
SIGKILL at some point of the sync (after k STATE messages, mid-request, during a backoff,
in the second stream, in a client_ids partition), and reruns it from the last STATE the
killed run got out. What a target would have received from all runs together must hold
every visible record, and each rerun may repeat only what the killed run emitted after
its last STATE: never more than one page (50 records).
"""

from __future__ import annotations

import datetime
import itertools
import json
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tap_kondado.simulator import Simulator
from tap_kondado.times import created_at
from tests.tap_runner import TAP, TEST_KEY, TapRun, bookmark, config_for, parse_messages, run_tap

pytestmark = pytest.mark.slow

STREAMS = ("pipeline_logs", "model_logs")
PAGE = 50
# Tap-side pacing slows each request to ~0.1 s, so a kill lands mid-sync, not after it.
PACED = [{"max_requests": 1, "window_seconds": 0.1}]

KillWhen = Callable[[list[dict[str, Any]], Simulator], bool]


def run_until(
    config: dict,
    state: dict | None,
    sim: Simulator,
    kill_when: KillWhen,
    *,
    timeout: float = 60,
    sig: signal.Signals = signal.SIGKILL,
) -> TapRun:
    """Run the tap; send `sig` (SIGKILL) as soon as `kill_when(messages so far, sim)` holds.

    The run's `stderr` holds the seconds from the signal to the exit.
    """
    with tempfile.TemporaryDirectory() as tmp:
        command = [*TAP, "--config", str(Path(tmp, "config.json"))]
        Path(tmp, "config.json").write_text(json.dumps(config))
        if state:
            Path(tmp, "state.json").write_text(json.dumps(state))
            command += ["--state", str(Path(tmp, "state.json"))]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        lines: list[bytes] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, b"")), daemon=True)
        reader.start()
        deadline = time.monotonic() + timeout
        sent_at = None
        while proc.poll() is None and time.monotonic() < deadline:
            if kill_when(parse_messages(b"".join(lines).decode()), sim):
                proc.send_signal(sig)
                sent_at = time.monotonic()
                break
            time.sleep(0.005)
        proc.wait(timeout=10)
        took = time.monotonic() - sent_at if sent_at is not None else None
        reader.join(timeout=10)
        proc.stdout.close()
    stdout = b"".join(lines).decode()
    return TapRun(proc.returncode, stdout, str(took), parse_messages(stdout))


# --- kill points -------------------------------------------------------------------


def after_states(count: int, stream: str | None = None) -> KillWhen:
    """Once `count` STATE messages (carrying `stream`'s bookmark) are out."""

    def when(messages: list[dict], sim: Simulator) -> bool:
        states = [m["value"] for m in messages if m["type"] == "STATE"]
        return sum(1 for s in states if stream is None or stream in s.get("bookmarks", {})) >= count

    return when


def after_records(count: int, stream: str | None = None) -> KillWhen:
    """Once `count` records (of `stream`) are out: mid-page, as STATE comes every 50."""

    def when(messages: list[dict], sim: Simulator) -> bool:
        return sum(1 for m in messages if m["type"] == "RECORD" and stream in (None, m["stream"])) >= count

    return when


def at_request(number: int, linger: float = 0.0) -> KillWhen:
    """Once request `number` reached the simulator (and `linger` seconds passed)."""
    seen: dict[str, float] = {}

    def when(messages: list[dict], sim: Simulator) -> bool:
        if len(sim.log) < number:
            return False
        seen.setdefault("at", time.monotonic())
        return time.monotonic() - seen["at"] >= linger

    return when


# --- checks ------------------------------------------------------------------------


def ids_of(run: TapRun, stream: str, client_id: int | None) -> list[int]:
    return [r["id"] for r in run.records(stream) if client_id is None or r["client_id"] == client_id]


def assert_nothing_lost_little_repeated(
    sim: Simulator, runs: list[TapRun], client_ids: list[int] | None, max_repeat: int = PAGE
) -> None:
    """Union = every visible record; a rerun repeats only what followed the last STATE, <= max_repeat."""
    assert runs[-1].returncode == 0, "the last run should have finished the sync"
    assert all(run.returncode == -signal.SIGKILL for run in runs[:-1]), "each earlier run must have been killed"
    for stream in STREAMS:
        for client_id in client_ids or [None]:
            where = f"{stream} client {client_id}"
            expected = [r["id"] for r in sim.visible(stream, TEST_KEY, client_id)]
            for run in runs:
                emitted = ids_of(run, stream, client_id)
                assert emitted == sorted(set(emitted)), f"{where}: a run emitted ids twice or out of order"
            union = set().union(*(ids_of(run, stream, client_id) for run in runs))
            assert union == set(expected), f"{where}: lost {sorted(set(expected) - union)[:5]}"
            for earlier, later in itertools.pairwise(runs):
                vouched = bookmark(earlier.final_state, stream, client_id)
                after_last_state = {i for i in ids_of(earlier, stream, client_id) if vouched is None or i > vouched}
                repeated = set(ids_of(earlier, stream, client_id)) & set(ids_of(later, stream, client_id))
                assert repeated <= after_last_state, f"{where}: repeated records its last STATE vouched for"
                if later.returncode == 0:  # a finished rerun repeats exactly what the STATE did not cover
                    assert repeated == after_last_state
                assert len(repeated) <= max_repeat, f"{where}: repeated {len(repeated)} records"


def kill_then_resume(sim: Simulator, kill_points: list[KillWhen], **overrides: Any) -> list[TapRun]:
    """Kill a run at each point in turn, each resuming from the last STATE; then finish."""
    config = config_for(sim.url, rate_limits=PACED, **overrides)
    runs: list[TapRun] = []
    for kill_when in kill_points:
        runs.append(run_until(config, runs[-1].final_state if runs else None, sim, kill_when))
    runs.append(run_tap(config, runs[-1].final_state or None))
    return runs


@pytest.fixture
def small_sim(make_sim: Callable[..., Simulator]) -> Callable[..., Simulator]:
    """About 7 pipeline and 4 model pages of visible logs."""
    return lambda **kwargs: make_sim(pipeline_logs=400, model_logs=200, **kwargs)


@pytest.mark.parametrize(
    ("kill_points", "faults"),
    [
        pytest.param([after_states(1)], {}, id="after-first-state"),
        pytest.param([after_records(73, "model_logs")], {}, id="mid-page"),
        pytest.param([after_records(60, "pipeline_logs")], {}, id="in-the-second-stream"),
        pytest.param(
            [after_records(40), after_records(130), after_states(3), after_records(75)], {}, id="killed-four-times"
        ),
    ],
)
def test_killed_run_resumed_from_its_last_state_loses_nothing(small_sim, kill_points, faults):
    sim = small_sim(faults=faults)
    assert_nothing_lost_little_repeated(sim, kill_then_resume(sim, kill_points), None)


@pytest.mark.parametrize(
    ("kill_point", "faults"),
    [
        pytest.param(at_request(4), {4: "slow:30"}, id="request-in-flight"),
        pytest.param(at_request(7), {7: "slow:30"}, id="request-in-flight-second-stream"),
        pytest.param(at_request(3, linger=0.2), {3: "503"}, id="during-backoff"),
    ],
)
def test_killed_between_pages_repeats_nothing(small_sim, kill_point, faults):
    """Every page completed before the kill is vouched for by a STATE: the page in flight is all that is redone."""
    sim = small_sim(faults=faults)
    runs = kill_then_resume(sim, [kill_point])
    assert_nothing_lost_little_repeated(sim, runs, None, max_repeat=0)
    assert runs[0].records("model_logs"), "the kill should land after some pages were emitted"


@pytest.mark.parametrize(
    ("kill_points", "faults"),
    [
        pytest.param([after_states(3), at_request(9)], {9: "slow:30"}, id="after-states-then-in-flight"),
        pytest.param([after_records(30, "model_logs"), after_records(40, "pipeline_logs")], {}, id="mid-page"),
    ],
)
def test_client_ids_partitions_resume_each_from_its_own_bookmark(small_sim, kill_points, faults):
    sim = small_sim(faults=faults)
    client_ids = [1, 2, 3]
    assert_nothing_lost_little_repeated(sim, kill_then_resume(sim, kill_points, client_ids=client_ids), client_ids)


def test_exclusive_reading_with_endless_last_page_resumes_too(small_sim):
    """The other reading of start_element_id, and an API that answers the last page forever."""
    sim = small_sim(reading="exclusive", end_signal="empty")
    runs = kill_then_resume(sim, [after_records(120, "pipeline_logs"), after_states(3)])
    assert_nothing_lost_little_repeated(sim, runs, None)


# --- a first sync from start_date, killed in the middle of its seek ------------------


def at_seek_request(stream: str, number: int, client_id: int | None = None) -> KillWhen:
    """Once this run's `number`-th request of one stream-partition reached the simulator: mid-seek."""
    wanted = None if client_id is None else str(client_id)
    start: list[int] = []

    def when(messages: list[dict], sim: Simulator) -> bool:
        if not start:
            start.append(len(sim.log))
        mine = [e for e in sim.log[start[0] :] if e["path"] == f"/{stream}" and e["client_id"] == wanted]
        return len(mine) >= number

    return when


@pytest.mark.parametrize(
    ("kill_points", "client_ids", "cut_short"),
    [
        pytest.param([at_seek_request("model_logs", 3)], None, "model_logs", id="first-stream-mid-seek"),
        pytest.param([at_seek_request("pipeline_logs", 2)], None, "pipeline_logs", id="second-stream-mid-seek"),
        pytest.param(
            [at_seek_request("model_logs", 3, 2), after_records(30, "pipeline_logs")],
            [1, 2],
            None,
            id="partition-then-scroll",
        ),
        pytest.param(
            [at_seek_request("pipeline_logs", 2, 1), at_seek_request("pipeline_logs", 3, 2)], [1, 2], None, id="twice"
        ),
    ],
)
def test_killed_mid_seek_resumes_and_loses_nothing_since_start_date(make_sim, kill_points, client_ids, cut_short):
    sim = make_sim(pipeline_logs=3000, model_logs=1000, realistic=True, days=90)
    date = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=7)
    runs = kill_then_resume(sim, kill_points, start_date=date.isoformat(), client_ids=client_ids)
    assert runs[-1].returncode == 0
    assert all(run.returncode == -signal.SIGKILL for run in runs[:-1])
    if cut_short:
        assert runs[0].records(cut_short) == [], "the kill should land before the seek found its page"
    for stream in STREAMS:
        for client_id in client_ids or [None]:
            expected = [r["id"] for r in sim.visible(stream, TEST_KEY, client_id) if created_at(r) >= date.timestamp()]
            union: set[int] = set()
            for run in runs:
                emitted = ids_of(run, stream, client_id)
                assert emitted == sorted(set(emitted))
                union |= set(emitted)
            assert union == set(expected), f"{stream} {client_id}: lost {sorted(set(expected) - union)[:5]}"


# --- SIGTERM and SIGINT: the run is cancelled, not a success ---------------


@pytest.mark.parametrize(
    ("sig", "code"), [pytest.param(signal.SIGTERM, 143, id="SIGTERM"), pytest.param(signal.SIGINT, 130, id="SIGINT")]
)
@pytest.mark.parametrize(
    ("kill_point", "faults"),
    [
        pytest.param(after_records(73, "model_logs"), {}, id="mid-sync"),
        pytest.param(at_request(4, linger=0.3), {4: "slow:30"}, id="mid-request"),
        # 5 s: the cancel must come in well under that; and the resumed run waits out what is left
        # of it (the penalty is recorded in the key's shared budget), not a whole minute.
        pytest.param(at_request(3, linger=0.3), {3: "rate_limit:5"}, id="mid-rate-limit-wait"),
    ],
)
@pytest.mark.serial  # times the exit after the signal: CPU load from other tests would stretch it
def test_a_cancelled_run_exits_with_the_signal_after_its_last_state(small_sim, sig, code, kill_point, faults):
    """128 + the signal (what a shell reports), within well under a second, and a STATE to resume from."""
    sim = small_sim(faults=faults)
    config = config_for(sim.url, rate_limits=PACED)
    cancelled = run_until(config, None, sim, kill_point, sig=sig)
    assert cancelled.returncode == code
    assert float(cancelled.stderr) < 0.9, f"took {cancelled.stderr} s to stop"
    assert cancelled.messages[-1]["type"] == "STATE", "the last message must be the STATE to resume from"
    resumed = run_tap(config, cancelled.final_state)
    for stream in STREAMS:
        expected = [r["id"] for r in sim.visible(stream, TEST_KEY)]
        vouched = bookmark(cancelled.final_state, stream)
        emitted = cancelled.ids(stream)
        # a signal between a record's write and its bookmark leaves that one record unvouched
        unvouched = {i for i in emitted if vouched is None or i > vouched}
        assert len(unvouched) <= 1, f"{stream}: the last STATE left {len(unvouched)} emitted records unvouched"
        assert sorted(set(emitted) | set(resumed.ids(stream))) == expected
        assert set(emitted) & set(resumed.ids(stream)) == unvouched, f"{stream}: the resume repeated records"
