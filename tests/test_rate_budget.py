"""The shared rate budget: several budgets on one file stand for several processes on one key."""

from __future__ import annotations

import errno
import json
import logging
import os
import pwd
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tap_kondado.tap import TapKondado
from tap_kondado.transport.rate_budget import MAX_PENALTY_SECONDS, MAX_SLOTS, SharedRateBudget, StoreError, budget_path
from tap_kondado.transport.rate_limit import MARGIN, SlidingWindowLimiter, Window
from tests.fake_clock import FakeClock, send
from tests.tap_runner import TEST_KEY, TEST_TOKEN

PER_SECOND = Window(1, 1.0)
PER_MINUTE = Window(20, 60.0)
STEP = 1.0 * (1 + MARGIN)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(now=1_000_000.0)  # a wall clock: seconds since the epoch


@pytest.fixture
def path(tmp_path):
    return tmp_path / "tap-kondado" / "budget-test.json"


def budget(path, clock, *windows: Window, **kwargs) -> SharedRateBudget:
    return SharedRateBudget(windows or (PER_SECOND, PER_MINUTE), path, clock=clock, sleep=clock.sleep, **kwargs)


def test_two_processes_on_one_key_share_every_window(path, clock):
    a, b = budget(path, clock), budget(path, clock)
    start = clock.now
    times = [send(p, clock) - start for p in (a, b, a, b, a, b)]
    assert times == pytest.approx([0, STEP, 2 * STEP, 3 * STEP, 4 * STEP, 5 * STEP])
    # the 20-per-minute window counts both: the 21st request of the pair waits for the 1st
    times = [send(p, clock) - start for p in (a, b) * 7 + (a,)]
    assert times[-2] == pytest.approx(19 * STEP)
    assert times[-1] == pytest.approx(60 * (1 + MARGIN))
    assert a.shared
    assert b.shared
    assert a.waited_seconds + b.waited_seconds == pytest.approx(times[-1])


def test_a_run_right_after_another_starts_where_it_left_the_budget(path, clock):
    first = budget(path, clock, PER_MINUTE)
    for _ in range(20):
        send(first, clock)
    second = budget(path, clock, PER_MINUTE)  # a new process: nothing in memory
    start = clock.now
    send(second, clock)
    assert clock.now - start == pytest.approx(60 * (1 + MARGIN))


def test_waiting_processes_are_served_in_arrival_order(path, clock):
    """A reservation queues later arrivals behind it: nobody starves, nobody jumps ahead."""
    a, b, c = (budget(path, clock, PER_SECOND) for _ in range(3))
    send(a, clock)
    wait_b, _ = b._take("b")
    wait_c, _ = c._take("c")
    assert wait_b == pytest.approx(STEP)
    assert wait_c == pytest.approx(2 * STEP)  # behind b's reservation
    clock.now += wait_b
    # a comes back for its next request: it is now behind both
    wait_a, _ = a._take("a")
    assert wait_a == pytest.approx(2 * STEP)
    assert b._take("b")[0] == 0  # b's turn: it goes
    assert c._take("c")[0] == pytest.approx(STEP)


def test_a_request_in_flight_counts_as_sent_now_until_its_answer(path, clock):
    a, b = budget(path, clock, PER_SECOND), budget(path, clock, PER_SECOND)
    slot = a.acquire()
    clock.now += 5.0  # a slow answer: the server saw the request somewhere in these 5 s
    wait, _ = b._take("b")
    assert wait == pytest.approx(STEP)  # a full window after now, not after the send
    clock.now += 0.5
    a.release(slot)  # the answer: re-stamped at its arrival
    assert b._take("b")[0] == pytest.approx(STEP)


def test_a_penalty_one_process_met_is_waited_out_by_the_other(path, clock, caplog):
    a, b = budget(path, clock), budget(path, clock)
    send(a, clock)
    a.penalize(60.0)
    start = clock.now
    with caplog.at_level(logging.INFO):
        send(b, clock)
    assert clock.now - start == pytest.approx(60.0)
    assert b.waited_seconds == pytest.approx(60.0)
    assert "Rate limit: waiting 60.0 s until the key's rate-limit penalty ends" in caplog.text
    # and the one that met it finds it over once it has slept it
    assert send(a, clock) - start == pytest.approx(60.0 + STEP)


def test_a_reservation_left_over_by_a_live_pid_does_not_stall_the_others(path, clock):
    """A reservation nobody renewed (killed mid-wait, then its pid reused) is dropped after a window."""
    path.parent.mkdir(parents=True)
    stale = [clock.now - 3600, "w", 1, 1, clock.now - 3600]  # pid 1 is always alive
    path.write_text(json.dumps({"format": 1, "next": 2, "penalty": [0, 0], "slots": {"1.x.1": stale}, "written": 0}))
    b = budget(path, clock)
    start = clock.now
    send(b, clock)
    assert clock.now == start
    assert "1.x.1" not in json.loads(path.read_text())["slots"]


def test_a_request_left_in_flight_counts_only_until_no_answer_could_come(path, clock):
    """A process that fell back to its own pacing mid-request never re-stamps its slot in the file."""
    a = budget(path, clock, PER_SECOND, answer_timeout=5.0)
    a.acquire()
    a._give_up(StoreError("simulated: the file became unwritable for this process"))
    b = budget(path, clock, PER_SECOND, answer_timeout=5.0)
    start = clock.now
    times = [send(b, clock) - start for _ in range(3)]
    # a's request counts as sent "now" for at most its 5 s answer bound, then pacing goes on
    assert times[0] == pytest.approx(5.0 + STEP, abs=STEP)
    assert times[1] - times[0] == pytest.approx(STEP)
    assert times[2] - times[1] == pytest.approx(STEP)


def test_a_run_falling_back_mid_way_paces_on_from_its_own_recent_requests(path, clock):
    """The in-process limiter knows the requests sent through the file: no burst into a penalty."""
    a = budget(path, clock, PER_MINUTE)
    start = clock.now
    for _ in range(20):
        send(a, clock)
    path.unlink()
    path.mkdir()  # cannot be read, nor replaced by a file
    assert send(a, clock) - start == pytest.approx(60 * (1 + MARGIN))
    assert not a.shared


def test_a_file_emptied_mid_run_still_paces_from_the_runs_own_requests(path, clock):
    """The in-process floor: whatever the file forgot, this process's own requests still count."""
    a = budget(path, clock, PER_MINUTE)
    start = clock.now
    for _ in range(20):
        send(a, clock)
    path.write_text("not json")  # repaired into an empty budget: its stamps are gone
    assert send(a, clock) - start == pytest.approx(60 * (1 + MARGIN))
    assert a.shared


def test_a_wall_clock_step_forward_does_not_burst_into_a_penalty(path):
    """A step forward made every stamp in the file look a window old: one rate-limit answer."""
    wall, mono = FakeClock(now=1_000_000.0), FakeClock(now=50.0)

    def sleep(seconds):
        wall.sleep(seconds)
        mono.sleep(seconds)

    a = SharedRateBudget((PER_SECOND, PER_MINUTE), path, clock=wall, sleep=sleep, monotonic=mono)
    for _ in range(20):
        send(a, mono)
    start = mono.now
    wall.now += 3600  # NTP, a VM resumed
    send(a, mono)
    assert mono.now - start == pytest.approx(60 * (1 + MARGIN) - 19 * STEP)  # the 20-a-minute window still holds
    a.penalize(30.0)
    wall.now += 3600
    start = mono.now
    send(a, mono)
    assert mono.now - start == pytest.approx(30.0, abs=1.0)  # and the penalty too


def test_a_clock_step_backwards_does_not_stall(path, clock):
    a = budget(path, clock)
    for _ in range(20):
        send(a, clock)
    a.penalize(60.0)
    clock.now -= 3600  # NTP, a VM restored, a user fixing the date
    b = budget(path, clock)
    start = clock.now
    send(b, clock)
    assert clock.now == start  # stamps "from the future" are dropped, not waited for
    assert send(b, clock) - start == pytest.approx(STEP)  # and pacing goes on from there


def test_a_small_clock_difference_is_tolerated(path, clock):
    a = budget(path, clock, PER_SECOND)
    send(a, clock)
    clock.now -= 0.5  # within the tolerance: the stamp still counts
    b = budget(path, clock, PER_SECOND)
    start = clock.now
    send(b, clock)
    assert clock.now - start == pytest.approx(0.5 + STEP)


DAMAGED = {
    "garbage": b'{"format": 1, "slots": [',
    "nul-bytes": b"\x00" * 300,  # a file renamed into place before its data reached the disk
    "not-an-object": b"[]",
    "wrong-shape": b'{"format": 1, "next": 1, "penalty": [0], "slots": {}}',
    "binary": b"\x00\xff",
}


@pytest.mark.parametrize("content", DAMAGED.values(), ids=DAMAGED.keys())
def test_a_damaged_file_is_set_aside_and_replaced_and_runs_go_on_sharing(path, clock, caplog, content):
    """It was abandoned: every later run warned and paced alone, and 4 runs at once drew penalties."""
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    a, b = budget(path, clock, PER_SECOND), budget(path, clock, PER_SECOND)
    with caplog.at_level(logging.WARNING):
        times = [send(a, clock), send(b, clock), send(a, clock)]
    assert a.shared
    assert b.shared
    assert times[1] - times[0] == pytest.approx(STEP)  # b paced against a's request: one budget
    assert times[2] - times[1] == pytest.approx(STEP)
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "was not a budget file (damaged); set aside as budget-test.json.corrupt" in warning
    assert path.with_name("budget-test.json.corrupt").read_bytes() == content  # kept for a look
    assert json.loads(path.read_text())["format"] == 1


def test_a_symlink_in_place_of_the_file_is_replaced_never_followed(path, clock, tmp_path, caplog):
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("someone else's file")
    path.parent.mkdir(parents=True)
    path.symlink_to(elsewhere)
    a = budget(path, clock, PER_SECOND)
    with caplog.at_level(logging.WARNING):
        send(a, clock)
    assert a.shared
    assert "was a symlink (damaged)" in caplog.text
    assert not path.is_symlink()
    assert json.loads(path.read_text())["format"] == 1
    assert elsewhere.read_text() == "someone else's file"


def test_the_data_reaches_the_disk_before_the_rename(path, clock, monkeypatch):
    """Without fsync, a power cut after the rename can leave a file of NUL bytes."""
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1])
    send(budget(path, clock, PER_SECOND), clock)
    assert calls
    assert "replace" in calls
    assert all(before == "fsync" for before, call in zip(["-", *calls], calls, strict=False) if call == "replace")


def test_a_full_disk_mid_run_paces_on_from_the_runs_own_requests(path, clock, monkeypatch, caplog):
    a = budget(path, clock, PER_MINUTE)
    start = clock.now
    for _ in range(20):
        send(a, clock)

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with caplog.at_level(logging.WARNING):
        assert send(a, clock) - start == pytest.approx(60 * (1 + MARGIN))
    assert not a.shared
    assert "No space left on device" in caplog.text


def test_a_penalty_far_in_the_future_in_the_file_is_capped(path, clock):
    """Trusted without bound, a penalty a year out stopped every run on the key for a year."""
    path.parent.mkdir(parents=True)
    state = {"format": 1, "next": 1, "penalty": [clock.now + 3e7, clock.now], "slots": {}, "written": clock.now}
    path.write_text(json.dumps(state))
    a = budget(path, clock, PER_SECOND)
    start = clock.now
    send(a, clock)
    assert clock.now - start == pytest.approx(MAX_PENALTY_SECONDS)


def test_a_penalty_asked_for_longer_than_the_cap_is_capped(path, clock):
    a = budget(path, clock, PER_SECOND)
    send(a, clock)
    a.penalize(1e9)
    start = clock.now
    send(budget(path, clock, PER_SECOND), clock)
    assert clock.now - start <= MAX_PENALTY_SECONDS


def test_a_reservation_far_in_the_future_in_the_file_is_dropped(path, clock):
    path.parent.mkdir(parents=True)
    slots = {"x": [clock.now + 3e7, "w", os.getpid(), 1, clock.now]}  # a live pid: not pruned as dead
    path.write_text(json.dumps({"format": 1, "next": 2, "penalty": [0.0, 0.0], "slots": slots, "written": clock.now}))
    a = budget(path, clock, PER_SECOND)
    start = clock.now
    send(a, clock)
    assert clock.now == start


def test_no_home_no_passwd_entry_no_xdg_cache_is_one_store_error(monkeypatch):
    """An arbitrary container uid: Path.home() raised RuntimeError, and the tap crashed."""
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("HOME", raising=False)

    def no_entry(uid):
        raise KeyError(uid)

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    with pytest.raises(StoreError, match="no cache folder"):
        budget_path("https://k2.kondado.com.br", "a")


def test_an_unwritable_directory_warns_once_and_the_run_paces_alone(tmp_path, clock, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")  # a file where the cache directory should be (root ignores modes)
    a = budget(blocker / "tap-kondado" / "budget-x.json", clock, PER_SECOND)
    with caplog.at_level(logging.WARNING):
        assert [send(a, clock) for _ in range(2)][1] > 0
    assert not a.shared
    assert len([r for r in caplog.records if "Shared rate budget unavailable" in r.getMessage()]) == 1


def test_an_unreadable_file_warns_once_and_the_run_paces_alone(path, clock, caplog):
    path.mkdir(parents=True)  # reading it fails whoever runs the test
    a = budget(path, clock, PER_SECOND)
    with caplog.at_level(logging.WARNING):
        send(a, clock)
        send(a, clock)
    assert not a.shared
    assert "cannot read" in caplog.text


LOCK_HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


def test_a_lock_holder_killed_frees_the_lock(path, clock, caplog):
    path.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(path.with_suffix(".lock"))], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        stuck = budget(path, clock, PER_SECOND, lock_timeout=0.2)
        with caplog.at_level(logging.WARNING):
            send(stuck, clock)  # a holder that never lets go: paced alone, not hung
        assert not stuck.shared
        assert "stayed locked" in caplog.text
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        holder.kill()
        holder.stdout.close()
    a = budget(path, clock, PER_SECOND, lock_timeout=5)
    started = time.monotonic()
    send(a, clock)
    assert a.shared  # the kernel released the dead holder's lock
    assert time.monotonic() - started < 2


def test_a_dead_process_leaves_no_reservation_and_its_request_counts_once(path, clock):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    pid = int(dead.stdout)
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            {
                "format": 1,
                "next": 3,
                "penalty": [0.0, 0.0],
                "written": clock.now,
                "slots": {
                    "waiting": [clock.now + 30, "w", pid, 1, clock.now],  # died asleep: gone
                    "in-flight": [clock.now - 0.5, "o", pid, 2, clock.now - 0.5],  # died mid-request
                },
            }
        )
    )
    a = budget(path, clock, PER_SECOND)
    start = clock.now
    send(a, clock)
    assert clock.now - start == pytest.approx(STEP - 0.5)  # its send stamp, not "now", not forever
    assert "waiting" not in json.loads(path.read_text())["slots"]


def test_the_file_stays_small(path, clock):
    windows = (Window(5, 1.0), Window(10, 60.0))
    a, b = budget(path, clock, *windows), budget(path, clock, *windows)
    for _ in range(MAX_SLOTS):  # over an hour of requests
        send(a, clock, latency=0.5)
        send(b, clock, latency=0.5)
    slots = json.loads(path.read_text())["slots"]
    assert len(slots) <= 20  # about what the longest window still sees
    assert path.stat().st_size < 2_000
    clock.now += 100  # old stamps fall out of every window: dropped
    send(a, clock)
    assert len(json.loads(path.read_text())["slots"]) == 1


def test_the_files_are_private_and_name_no_secret(tmp_path, monkeypatch, clock):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    target = budget_path("https://k2.kondado.com.br", TEST_KEY)
    assert target.parent == tmp_path / "tap-kondado"
    a = budget(target, clock)
    send(a, clock)
    a.penalize(1.0)
    files = list(target.parent.iterdir())
    assert {f.name for f in files} == {target.name, target.with_suffix(".lock").name}
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        assert TEST_KEY not in f.name
        assert TEST_KEY.encode() not in f.read_bytes()
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700


def test_one_file_per_host_and_key(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    base = budget_path("https://k2.kondado.com.br", "a")
    assert budget_path("https://K2.kondado.com.br/", "a") == base
    assert budget_path("https://k2.kondado.com.br", "b") != base
    assert budget_path("http://127.0.0.1:8765", "a") != budget_path("http://127.0.0.1:8766", "a")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert budget_path("https://k2.kondado.com.br", "a").parent == Path("~/.cache/tap-kondado").expanduser()


@pytest.mark.parametrize(
    ("config", "shared"),
    [({}, True), ({"shared_rate_budget": False}, False), ({"rate_limits": []}, False)],
    ids=["default", "turned-off", "no-pacing"],
)
def test_the_tap_shares_the_budget_unless_told_not_to(config, shared):
    tap = TapKondado(
        config={"key": TEST_KEY, "token": TEST_TOKEN, "api_url": "http://127.0.0.1:9", **config},
        parse_env_config=False,
    )
    limiter = tap.paced_session.limiter
    assert isinstance(limiter, SharedRateBudget) is shared
    if not shared:
        assert isinstance(limiter, SlidingWindowLimiter)
