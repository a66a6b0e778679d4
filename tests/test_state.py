"""Resuming from older or foreign state: read what loses nothing, refuse the rest in one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tap_kondado.logs.state import StateError, check_state, normalize_bookmark, read_state
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


def _error_and_warning_lines(stderr: str) -> tuple[list[str], list[str]]:
    lines = stderr.splitlines()
    return [x for x in lines if "| ERROR " in x], [x for x in lines if "| WARNING " in x]


def test_a_wrong_bookmark_stops_the_run_before_any_stream_emits(sim):
    """It was caught at pipeline_logs' turn, after model_logs had emitted everything."""
    state = {"bookmarks": {"pipeline_logs": {"replication_key": "id", "replication_key_value": "abc"}}}
    run = run_tap(config_for(sim.url), state)
    assert run.returncode == 1
    assert [m for m in run.messages if m["type"] == "RECORD"] == []


def test_a_wrong_partition_bookmark_stops_the_run_before_any_stream_emits(sim):
    state = {
        "bookmarks": {
            "model_logs": {
                "partitions": [{"context": {"client_id": 2}, "replication_key": "id", "replication_key_value": "x"}]
            }
        }
    }
    run = run_tap(config_for(sim.url, client_ids=[1, 2]), state)
    assert run.returncode == 1
    errors, _ = _error_and_warning_lines(run.stderr)
    assert len(errors) == 1
    assert "the bookmark of model_logs {'client_id': 2} is 'x'" in errors[0]
    assert [m for m in run.messages if m["type"] == "RECORD"] == []


def test_meltanos_wrapped_state_resumes_as_the_state_it_wraps(sim):
    """`meltano state get` prints {"singer_state": ...}; it was read as no state: a sync from the start."""
    ids = [r["id"] for r in sim.visible("model_logs", TEST_KEY)]
    pipeline_ids = [r["id"] for r in sim.visible("pipeline_logs", TEST_KEY)]
    inner = {
        "bookmarks": {
            "model_logs": {"replication_key": "id", "replication_key_value": ids[59]},
            "pipeline_logs": {"replication_key": "id", "replication_key_value": pipeline_ids[-1]},
        }
    }
    run = run_tap(config_for(sim.url), {"singer_state": inner})
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.ids("model_logs") == ids[60:]
    assert run.ids("pipeline_logs") == []
    assert "singer_state" not in run.final_state


def test_another_taps_state_ends_the_run_in_one_line_naming_its_streams(sim):
    """Another tap's state gave exit 0 and a sync from the start: hours at Kondado's limits, without a word."""
    run = run_tap(config_for(sim.url), {"bookmarks": {"issues": {"since": "2024-01-01"}, "commits": {}}})
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    errors, _ = _error_and_warning_lines(run.stderr)
    assert len(errors) == 1, errors
    assert "holds bookmarks for 'commits', 'issues' only, none for this tap's streams" in errors[0]
    assert run.stdout == ""


def test_foreign_streams_next_to_this_taps_own_are_named_in_one_warning(sim):
    ids = [r["id"] for r in sim.visible("model_logs", TEST_KEY)]
    state = stream_state(ids[59])
    state["bookmarks"]["issues"] = {"since": "2024-01-01"}
    state["bookmarks"]["pipeline_status"] = {}  # a stream being added: this tap's own
    run = run_tap(config_for(sim.url), state)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.ids("model_logs") == ids[60:]
    _, warnings = _error_and_warning_lines(run.stderr)
    named = [w for w in warnings if "--state" in w]
    assert len(named) == 1, warnings
    assert "also holds bookmarks for 'issues', not streams of this tap: ignored" in named[0]


@pytest.mark.parametrize("state", [{}, {"bookmarks": {}}, {"singer_state": {}}])
def test_a_state_with_no_bookmark_is_said_in_one_warning(sim, state):
    run = run_tap(config_for(sim.url), state)
    assert run.returncode == 0, run.stderr[-2000:]
    _, warnings = _error_and_warning_lines(run.stderr)
    assert len([w for w in warnings if "holds no bookmark: every stream syncs from the start" in w]) == 1


@pytest.mark.parametrize(
    ("state", "words"),
    [
        ({"bookmarks": []}, "'bookmarks' in --state s.json is no JSON object"),
        ({"bookmarks": {"model_logs": 5}}, "the entry of model_logs is no JSON object"),
        ({"bookmarks": {"model_logs": {"partitions": {}}}}, "the partitions of model_logs are no list"),
    ],
)
def test_check_state_refuses_shapes_the_sdk_would_die_on(state, words):
    with pytest.raises(StateError, match=words):
        check_state(state, "s.json")


def test_check_state_makes_every_bookmark_an_id():
    state = {
        "bookmarks": {
            "pipeline_logs": {"replication_key": "id", "replication_key_value": "7"},
            "model_logs": {"partitions": [{"context": {"client_id": 1}, "replication_key_value": "9"}]},
        }
    }
    assert check_state(state, "s.json") is None
    assert state["bookmarks"]["pipeline_logs"]["replication_key_value"] == 7
    assert state["bookmarks"]["model_logs"]["partitions"][0] == {
        "context": {"client_id": 1},
        "replication_key": "id",
        "replication_key_value": 9,
    }
