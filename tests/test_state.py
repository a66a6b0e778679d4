"""Resuming from older or foreign state (issue 10, item 4): read what loses nothing, refuse the rest in one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tap_kondado.state import StateError, normalize_bookmark, read_state
from tests.tap_runner import TEST_KEY, bookmark, config_for, run_tap


def stream_state(value, key="id"):
    return {"bookmarks": {"model_logs": {"replication_key": key, "replication_key_value": value}}}


def test_a_digit_string_bookmark_resumes_and_is_written_back_as_an_id(sim):
    """It resumed, emitted one record, then died in the SDK comparing int with str."""
    ids = [r["id"] for r in sim.visible("model_logs", TEST_KEY)]
    run = run_tap(config_for(sim.url), stream_state(str(ids[59])))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.ids("model_logs") == ids[60:]
    assert bookmark(run.final_state, "model_logs") == ids[-1]


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (stream_state("abc"), "the bookmark of model_logs is 'abc', not a log id"),
        (stream_state(-5), "the bookmark of model_logs is -5, not a log id"),
        (stream_state(12.5), "the bookmark of model_logs is 12.5, not a log id"),
        (stream_state("2024-01-01T00:00:00Z", key="createdAt"), "model_logs is bookmarked by 'createdAt'"),
    ],
)
def test_a_bookmark_that_is_no_id_ends_the_run_in_one_line(sim, state, words):
    run = run_tap(config_for(sim.url), state)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    errors = [line.split(" | ", 3)[-1] for line in run.stderr.splitlines() if "| ERROR " in line]
    assert len(errors) == 1, errors
    assert words in errors[0]
    assert "remove the stream's entry from the state" in errors[0]
    assert run.records("model_logs") == []


@pytest.mark.parametrize(
    ("content", "words"), [("", "is empty"), ("{bad", "is not JSON"), ("[1]", "holds no JSON object")]
)
def test_an_empty_or_unreadable_state_file_ends_the_run_in_one_line(tmp_path, sim, content, words):
    config, state = tmp_path / "config.json", tmp_path / "state.json"
    config.write_text(json.dumps(config_for(sim.url)))
    state.write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "tap_kondado", "--config", str(config), "--state", str(state)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1
    assert f"Invalid state: --state {state} {words}" in errors[0]
    assert proc.stdout == ""


def test_normalize_bookmark_reads_digit_strings_only():
    state = {"replication_key": "id", "replication_key_value": " 5185000 "}
    normalize_bookmark("pipeline_logs", None, state)
    assert state == {"replication_key": "id", "replication_key_value": 5185000}
    for value in ("²", "١٢", True, "5e3"):
        with pytest.raises(StateError, match="pipeline_logs {'client_id': 2} is"):
            normalize_bookmark("pipeline_logs", {"client_id": 2}, {"replication_key_value": value})


def test_read_state_returns_the_object():
    assert read_state('{"bookmarks": {}}', "s.json") == {"bookmarks": {}}
