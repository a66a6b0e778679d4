"""The command line's outcomes: `--test` and a failed sync's one error line."""

from __future__ import annotations

import io
import json
import os
import signal
import sys

import pytest
from singer_sdk.singerlib import RecordMessage, StateMessage

from tap_kondado.tap import TapKondado
from tests.tap_runner import config_for, run_tap


def levels(stderr: str, level: str) -> list[str]:
    return [line.split(" | ", 3)[-1] for line in stderr.splitlines() if f"| {level} " in line]


def test_a_connection_test_that_passes_looks_like_a_pass(sim):
    run = run_tap(config_for(sim.url), args=("--test",))
    assert run.returncode == 0
    assert levels(run.stderr, "ERROR") == []
    assert '"status":"failed"' not in run.stderr
    assert '"metric":"sync_duration"' in run.stderr
    assert "Connection test passed" in run.stderr


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        (
            {"token": "wrong-token-0000"},
            "Connection test failed: Kondado API error INVALID_TOKEN: Invalid key or token.",
        ),
        ({"key": None}, "Connection test failed: Invalid configuration: setting 'key' must be string"),
    ],
)
def test_a_connection_test_that_fails_is_one_line(sim, overrides, error):
    run = run_tap(config_for(sim.url, **overrides), args=("--test",))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert levels(run.stderr, "ERROR") == [error]


def test_a_failed_sync_names_its_error_in_one_line(make_sim):
    """The SDK's generic "An unhandled error occurred while syncing" no longer precedes the real one."""
    sim = make_sim(pipeline_logs=240, model_logs=130, faults={2: "error:SOMETHING_ODD"})
    run = run_tap(config_for(sim.url))
    assert run.returncode == 1
    assert levels(run.stderr, "ERROR") == ["Kondado API error SOMETHING_ODD: Simulated error."]


class SignalMidWrite(io.RawIOBase):
    """A stdout that takes 100 bytes a write, and gets SIGTERM during its first write."""

    def __init__(self):
        self.data = bytearray()
        self.signalled = False

    def writable(self):
        return True

    def write(self, b):
        if not self.signalled:
            self.signalled = True
            os.kill(os.getpid(), signal.SIGTERM)  # handled at the next bytecode: still mid-flush
        self.data += bytes(b[:100])
        return min(len(b), 100)


def test_a_signal_mid_write_waits_for_the_line_to_end(monkeypatch):
    """SIGTERM while the buffer goes out: every line whole, then the STATE, then exit 143."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        tap = TapKondado(config=config_for("http://127.0.0.1:9"), parse_env_config=False)
        tap._setup_signal_handlers()  # the SDK installs them when run from the command line
        raw = SignalMidWrite()
        monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="utf-8", write_through=True))
        for i in range(30):
            tap.message_writer.write_message(RecordMessage(stream="pipeline_logs", record={"id": i, "x": "y" * 50}))
        with pytest.raises(SystemExit) as exited:
            tap.message_writer.write_message(StateMessage(value={"bookmarks": {"pipeline_logs": {"v": 29}}}))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    assert exited.value.code == 143
    lines = [json.loads(line) for line in raw.data.decode().splitlines()]  # none cut in two
    assert [line["type"] for line in lines] == ["RECORD"] * 30 + ["STATE"] * (len(lines) - 30)
