"""The output path made cheap for the benchmark, and still right.

BufferedMsgSpecWriter writes stdout at each STATE (not after every message). Records go
through the SDK's own RECORD path (deselected fields dropped, time_extracted per record).
"""

from __future__ import annotations

import datetime
import io
import json
import subprocess
import sys
import time

import pytest
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import RecordMessage, StateMessage

from tap_kondado.transport.writer import BufferedMsgSpecWriter
from tests.tap_runner import TAP, TEST_KEY, bookmark, config_for, parse_messages, run_tap
from tests.test_status import run_selected


class Trickle(io.RawIOBase):
    """An unbuffered stdout (PYTHONUNBUFFERED) that takes at most 1,000 bytes a write."""

    def __init__(self):
        self.data = bytearray()
        self.writes = 0

    def writable(self):
        return True

    def write(self, b):
        self.writes += 1
        self.data += bytes(b[:1000])
        return min(len(b), 1000)


def test_the_writer_writes_with_each_state(monkeypatch):
    """Records are buffered, and go out with the STATE that follows them (or at exit)."""
    raw = Trickle()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="utf-8", write_through=True))
    writer = BufferedMsgSpecWriter()
    records = [RecordMessage(stream="pipeline_logs", record={"id": i, "pipeline_name": "x" * 100}) for i in range(50)]
    for record in records:
        writer.write_message(record)
    assert raw.writes == 0
    writer.write_message(StateMessage(value={"bookmarks": {"pipeline_logs": {"replication_key_value": 49}}}))
    lines = [json.loads(line) for line in raw.data.splitlines()]
    assert [line["type"] for line in lines] == ["RECORD"] * 50 + ["STATE"]
    assert [line["record"]["id"] for line in lines[:50]] == list(range(50))
    writer.write_message(records[0])
    writer.flush()  # what atexit does
    assert raw.data.endswith(b'"record":{"id":0,"pipeline_name":"' + b"x" * 100 + b'"}}\n')


def test_a_state_is_serialized_as_the_sdk_would():
    value = {
        "bookmarks": {"pipeline_logs": {"partitions": [{"context": {"client_id": 1}, "replication_key_value": 9}]}}
    }
    ours = bytes(BufferedMsgSpecWriter().format_message(StateMessage(value=value)))
    writer = BufferedMsgSpecWriter()
    writer.flush = lambda: None
    writer.write_message(StateMessage(value=value))
    pending = bytes(writer._pending)
    writer._pending.clear()  # nothing for the flush at exit
    assert pending == ours == bytes(MsgSpecWriter().format_message(StateMessage(value=value)))


def test_a_killed_tap_has_written_everything_its_last_state_vouches_for(make_sim, tmp_path):
    """Killed while waiting for an answer: stdout holds every record up to its last STATE."""
    # exclusive reading: 50 new records a page, so a STATE ends each page
    sim = make_sim(pipeline_logs=240, model_logs=130, reading="exclusive", faults={4: "slow:30"})
    config = tmp_path / "config.json"
    config.write_text(json.dumps(config_for(sim.url)))
    out = tmp_path / "stdout"
    with out.open("wb") as stdout, subprocess.Popen([*TAP, "--config", str(config)], stdout=stdout) as tap:
        deadline = time.monotonic() + 30
        while len(sim.log) < 4 and time.monotonic() < deadline:  # the tap now waits on pipeline page 2
            time.sleep(0.05)
        tap.kill()
    assert len(sim.log) == 4
    messages = parse_messages(out.read_text())
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    records = [m["record"]["id"] for m in messages if m["type"] == "RECORD" and m["stream"] == "pipeline_logs"]
    pipeline = [r["id"] for r in sim.visible("pipeline_logs", TEST_KEY)]
    assert bookmark(states[-1], "pipeline_logs") == pipeline[49]
    assert records == pipeline[:50]


def test_deselected_fields_are_still_left_out(sim, tmp_path):
    discovered = run_tap(config_for(sim.url), args=("--discover",))
    catalog = json.loads(discovered.stdout)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] in (["properties", "pipeline_name"], ["properties", "model_name"]):
                item["metadata"]["selected"] = False
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    run = run_tap(config_for(sim.url), args=("--catalog", str(path)))

    assert run.returncode == 0
    pipeline, model = run.records("pipeline_logs"), run.records("model_logs")
    assert len(pipeline) == len(sim.visible("pipeline_logs", TEST_KEY))
    assert len(model) == len(sim.visible("model_logs", TEST_KEY))
    assert not any("pipeline_name" in r for r in pipeline)
    assert not any("model_name" in r for r in model)
    assert all("row_count" in r for r in pipeline + model)


def test_time_extracted_is_within_the_run_and_ascends(sim):
    started = datetime.datetime.now(datetime.timezone.utc)
    run = run_tap(config_for(sim.url))
    finished = datetime.datetime.now(datetime.timezone.utc)

    messages = [m for m in run.messages if m["type"] == "RECORD" and m["stream"] == "pipeline_logs"]
    stamps = [datetime.datetime.fromisoformat(m["time_extracted"]) for m in messages]
    assert all(started <= stamp <= finished for stamp in stamps)
    assert stamps == sorted(stamps)


@pytest.mark.serial  # times how soon the closed output is noticed
def test_a_target_that_stops_reading_ends_the_run_in_one_line(make_sim, tmp_path):
    """`tap-kondado ... | head -c 1000`: one line, a non-zero exit within a second."""
    sim = make_sim(pipeline_logs=2000, model_logs=100)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(config_for(sim.url, rate_limits=[{"max_requests": 1, "window_seconds": 0.05}])))
    with subprocess.Popen([*TAP, "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as tap:
        head = tap.stdout.read(1000)
        tap.stdout.close()  # what `head` does once it has its bytes
        closed_at = time.monotonic()
        code = tap.wait(timeout=30)
        took = time.monotonic() - closed_at
        stderr = tap.stderr.read().decode()
    assert len(head) == 1000
    assert code != 0
    assert took < 1.0, f"took {took:.2f} s to notice"
    assert "Traceback" not in stderr
    errors = [line.split(" | ", 3)[-1] for line in stderr.splitlines() if "ERROR" in line]
    assert errors == ["the output was closed: the target stopped reading"]
    assert "Exception ignored" not in stderr


def test_a_lone_surrogate_is_emitted_as_a_replacement_character(make_sim):
    """A truncated emoji ("Vendas \\ud83d") stopped the stream for good."""
    sim = make_sim(pipeline_logs=0, model_logs=0)
    broken = [
        {"id": 11, "client_id": 1, "pipeline_name": "Vendas \ud83d", "createdAt": "2026-01-01T00:00:00Z\udc00"},
        {"id": 12, "client_id": 1, "pipeline_name": "\udc00 Compras \ud83d"},
        {"id": 13, "client_id": 1, "pipeline_name": "Estoque \U0001f600"},
    ]
    sim.add_records("pipeline_logs", broken)
    run = run_tap(config_for(sim.url))
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert [r["pipeline_name"] for r in run.records("pipeline_logs")] == [
        "Vendas \ufffd",
        "\ufffd Compras \ufffd",
        "Estoque \U0001f600",
    ]
    assert run.records("pipeline_logs")[0]["createdAt"] == "2026-01-01T00:00:00Z\ufffd"
    assert bookmark(run.final_state, "pipeline_logs") == 13
    warnings = [line.split(" | ", 3)[-1] for line in run.stderr.splitlines() if "| WARNING " in line]
    assert sorted(w for w in warnings if "surrogate" in w) == [
        "pipeline_logs: id 11 has a broken character (a lone UTF-16 surrogate) in createdAt; "
        "emitted with U+FFFD in its place",
        "pipeline_logs: id 11 has a broken character (a lone UTF-16 surrogate) in pipeline_name; "
        "emitted with U+FFFD in its place",
    ]


def test_a_lone_surrogate_in_a_status_names_the_pipeline_it_is_about(make_sim, tmp_path):
    """A status record has no `id`: the warning names it by its key, pipeline_id."""
    sim = make_sim(pipeline_logs=60, model_logs=0)
    config = config_for(sim.url, status_days=365)
    state = run_tap(config).final_state
    pipeline_id = min(int(i) for i in state["bookmarks"]["pipeline_status"]["ids"])
    sim.set_status("pipelines", pipeline_id, "error_building_tables", raw_msg="falhou \ud83d")
    run = run_selected(config, ("pipeline_status",), state, tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    warnings = [line.split(" | ", 3)[-1] for line in run.stderr.splitlines() if "| WARNING " in line]
    assert warnings == [
        f"pipeline_status: pipeline_id {pipeline_id} has a broken character (a lone UTF-16 surrogate) in raw_msg; "
        "emitted with U+FFFD in its place"
    ]
    (record,) = [r for r in run.records("pipeline_status") if r["pipeline_id"] == pipeline_id]
    assert record["raw_msg"] == "falhou \ufffd"


@pytest.mark.serial  # times how soon the closed output is noticed
def test_a_target_that_stops_reading_during_a_long_wait_ends_the_run_at_once(make_sim, tmp_path):
    """Noticed without waiting for the next write: here a 30 s rate-limit wait."""
    sim = make_sim(pipeline_logs=400, model_logs=200, faults={2: "rate_limit:30"})
    config = tmp_path / "config.json"
    config.write_text(json.dumps(config_for(sim.url)))
    with subprocess.Popen([*TAP, "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as tap:
        head = tap.stdout.read(1000)
        deadline = time.monotonic() + 30
        while len(sim.log) < 2 and time.monotonic() < deadline:  # the tap now waits 30 s
            time.sleep(0.01)
        time.sleep(0.2)
        tap.stdout.close()
        closed_at = time.monotonic()
        code = tap.wait(timeout=30)
        took = time.monotonic() - closed_at
        stderr = tap.stderr.read().decode()
    assert len(head) == 1000
    assert code == 1
    assert took < 1.0, f"took {took:.2f} s to notice"
    assert "Traceback" not in stderr
    errors = [line.split(" | ", 3)[-1] for line in stderr.splitlines() if "ERROR" in line]
    assert errors == ["the output was closed: the target stopped reading"]
