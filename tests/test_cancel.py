"""A scheduler's cancel (SIGTERM, SIGINT) ends the run in bounded time, whatever the target does.

Real `tap-kondado` processes against the simulator: a target alive but not reading (its
pipe full), and a cancel that lands while the tap is already exiting.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tap_kondado.tap import STUCK_OUTPUT_SECONDS
from tests.tap_runner import TAP, config_for, parse_messages

pytestmark = pytest.mark.slow


def _drain(stream, into: list[bytes]) -> threading.Thread:
    reader = threading.Thread(target=lambda: into.extend(iter(stream.readline, b"")), daemon=True)
    reader.start()
    return reader


def _wait_until_stuck(sim, proc: subprocess.Popen, timeout: float = 30) -> None:
    """Until the tap's main thread blocks writing to the full pipe (as Linux names the wait), or, where
    the kernel does not say, until it has asked for no page for 2 s."""
    deadline = time.monotonic() + timeout
    seen, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the tap ended before its output filled the pipe"
        try:
            wchan = Path(f"/proc/{proc.pid}/wchan").read_text()
        except OSError:
            wchan = ""
        if "pipe_write" in wchan or wchan == "pipe_wait":
            return
        if sim.request_count != seen:
            seen, since = sim.request_count, time.monotonic()
        elif seen > 2 and time.monotonic() - since > 2.0:
            return
        time.sleep(0.05)
    raise AssertionError("the tap never blocked on its output")


@pytest.mark.parametrize(
    ("sig", "code"), [pytest.param(signal.SIGTERM, 143, id="SIGTERM"), pytest.param(signal.SIGINT, 130, id="SIGINT")]
)
def test_a_cancel_ends_the_run_while_the_target_stops_reading(make_sim, tmp_path, sig, code):
    """The handler deferred the exit to after the flush, and the flush never came: the run hung for ever."""
    sim = make_sim(pipeline_logs=3000, model_logs=100)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(config_for(sim.url)))
    proc = subprocess.Popen([*TAP, "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        errors: list[bytes] = []
        _drain(proc.stderr, errors)
        _wait_until_stuck(sim, proc)  # stdout is never read: a loader stuck on a database lock
        proc.send_signal(sig)
        sent = time.monotonic()
        try:
            proc.wait(timeout=STUCK_OUTPUT_SECONDS + 10)
        except subprocess.TimeoutExpired:
            pytest.fail("the cancelled tap still runs: it waits for a target that does not read")
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert proc.returncode == code
    assert took < STUCK_OUTPUT_SECONDS + 3
    stderr = b"".join(errors).decode()
    assert "Traceback" not in stderr
    assert "the target stopped reading: exiting without writing the rest" in stderr


# The tap's own command, with a last atexit callback that holds the exit open for 3 s: a cancel
# sent then lands while the tap is already exiting, every time, not once in a dozen tries.
TAP_WITH_A_WIDE_EXIT = [
    sys.executable,
    "-c",
    "import atexit, sys, time\n"
    "def wide_exit():\n"
    "    sys.stderr.write('EXITING\\n'); sys.stderr.flush(); time.sleep(3)\n"
    "atexit.register(wide_exit)  # registered first: runs last, after the tap's own exit work\n"
    "from tap_kondado.tap import TapKondado\n"
    "sys.argv[0] = 'tap-kondado'\n"
    "TapKondado.cli()\n",
]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_cancel_while_the_tap_exits_changes_nothing(make_sim, tmp_path, sig):
    """It printed "Exception ignored in atexit callback ... SystemExit: 143" once in 12 tries."""
    sim = make_sim(pipeline_logs=120, model_logs=60)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(config_for(sim.url)))
    proc = subprocess.Popen(
        [*TAP_WITH_A_WIDE_EXIT, "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out: list[bytes] = []
    reader = _drain(proc.stdout, out)
    errors = []
    for line in iter(proc.stderr.readline, b""):
        errors.append(line)
        if line == b"EXITING\n":
            proc.send_signal(sig)
            break
    errors.extend(proc.stderr.readlines())
    proc.wait(timeout=30)
    reader.join(timeout=10)
    stderr = b"".join(errors).decode()
    assert b"EXITING\n" in errors, stderr[-2000:]
    assert "Exception ignored" not in stderr
    assert "Traceback" not in stderr
    assert proc.returncode == 0  # the run had ended: its outcome stands
    messages = parse_messages(b"".join(out).decode())
    assert messages[-1]["type"] == "STATE"
