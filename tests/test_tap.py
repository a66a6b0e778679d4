"""The command line's outcomes: `--test` (issue 10, item 10) and a failed sync's one error line."""

from __future__ import annotations

import pytest

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
