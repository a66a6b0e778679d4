"""The simulator's realistic mode and its way to change a log after creation."""

from __future__ import annotations

import datetime
import itertools
import json
import statistics
import subprocess
import sys
import time

import pytest
import requests

from tap_kondado.simulator import Simulator
from tests.tap_runner import TEST_KEY, TEST_TOKENS


def _moment(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_realistic_ids_are_sparse_and_uneven_and_times_span_the_days_ending_now():
    sim = Simulator(pipeline_logs=3000, model_logs=50, realistic=True, days=90, tokens=TEST_TOKENS)
    records = sim.records["pipeline_logs"]
    ids = [r["id"] for r in records]
    gaps = [b - a for a, b in itertools.pairwise(ids)]
    assert ids == sorted(set(ids))
    assert 1_000_000 < ids[-1] - ids[0] < 3_000_000  # ~1.5 million ids for a few thousand logs
    assert 100 < statistics.median(gaps) < 1_000
    assert max(gaps) > 5_000
    now = datetime.datetime.now(datetime.timezone.utc)
    first, last = _moment(records[0]["createdAt"]), _moment(records[-1]["createdAt"])
    assert datetime.timedelta(days=88) < now - first <= datetime.timedelta(days=90, minutes=1)
    assert now - last < datetime.timedelta(minutes=5)
    # Density changes over time: logs per tenth of the period differ several-fold.
    tenths = [0] * 10
    for record in records:
        tenths[min(9, int((_moment(record["createdAt"]) - first) / (last - first) * 10))] += 1
    assert max(tenths) > 2 * min(tenths)


def test_realistic_created_at_is_nearly_but_not_strictly_ascending():
    sim = Simulator(pipeline_logs=20_000, model_logs=0, realistic=True, days=30, ids_per_day=200_000)
    times = [_moment(r["createdAt"]) for r in sim.records["pipeline_logs"]]
    backwards = [a - b for a, b in itertools.pairwise(times) if b < a]
    assert backwards, "some logs written together come out of order"
    assert max(backwards) <= datetime.timedelta(seconds=10)


def test_realistic_append_continues_the_sequence_now():
    sim = Simulator(pipeline_logs=200, model_logs=0, realistic=True, days=10, tokens=TEST_TOKENS)
    last = sim.records["pipeline_logs"][-1]["id"]
    new = sim.append("pipeline_logs", 3)
    assert [r["id"] for r in new] == sorted(r["id"] for r in new)
    assert new[0]["id"] > last
    assert datetime.datetime.now(datetime.timezone.utc) - _moment(new[-1]["createdAt"]) < datetime.timedelta(seconds=5)


@pytest.mark.parametrize("mode", ["realistic", "scenario"])
def test_appends_after_loading_saved_data_continue_past_its_ids(mode):
    # --data-file on a later start: the saved logs' ids may run past those this start generated (make demo's
    # second run failed on "ids must ascend" when they did).
    sim = Simulator(**{mode: True}, pipeline_logs=50, model_logs=50, days=3, tokens=TEST_TOKENS)
    saved = {stream: [dict(r) for r in records] for stream, records in sim.records.items()}
    for records in saved.values():
        records[-1]["id"] += 100_000  # a saved world a little ahead of this one
    sim.load(saved)
    for stream, records in saved.items():
        new = sim.append(stream, 3)
        assert records[-1]["id"] < new[0]["id"] < new[1]["id"] < new[2]["id"]


@pytest.mark.parametrize("realistic", [False, True])
def test_appended_logs_are_not_edited_yet_and_an_edit_stamps_its_own_time(realistic):
    """A new log's updatedAt is its createdAt (never in the future); an edit stamps the time it was made."""
    sim = Simulator(pipeline_logs=50, model_logs=0, realistic=realistic, days=10, tokens=TEST_TOKENS)
    new = sim.append("pipeline_logs", 200)  # the factory edits ~5% of what it makes: some would be hit
    assert all(r["updatedAt"] == r["createdAt"] for r in new)
    edited = sim.update_log("pipeline_logs", new[10]["id"], row_count="1")
    assert _moment(new[10]["createdAt"]) <= _moment(edited["updatedAt"]) <= datetime.datetime.now(datetime.timezone.utc)


def test_update_log_sets_fields_and_stamps_updated_at(sim):
    record = sim.visible("model_logs", TEST_KEY)[3]
    before = time.time()
    updated = sim.update_log("model_logs", record["id"], row_count=7)
    assert updated["row_count"] == 7
    assert updated["createdAt"] == record["createdAt"]
    assert _moment(updated["updatedAt"]).timestamp() >= before - 0.01
    assert sim.visible("model_logs", TEST_KEY)[3]["row_count"] == 7
    with pytest.raises(KeyError):
        sim.update_log("model_logs", 1, row_count=1)


def test_admin_update_endpoint(sim):
    record_id = sim.visible("pipeline_logs", TEST_KEY)[0]["id"]
    answer = requests.post(
        f"{sim.url}/_admin/update",
        json={"stream": "pipeline_logs", "id": record_id, "fields": {"row_count": "12"}},
        timeout=5,
    )
    assert answer.status_code == 200
    assert answer.json()["updated"]["row_count"] == "12"
    assert sim.records["pipeline_logs"][0]["row_count"] == "12"
    missing = requests.post(f"{sim.url}/_admin/update", json={"stream": "pipeline_logs", "id": 3}, timeout=5)
    assert missing.status_code == 400


def test_cli_realistic_mode(tmp_path):
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tap_kondado.simulator",
            "--realistic",
            "--days",
            "7",
            "--pipeline-logs",
            "300",
            "--rate-limits",
            "off",
            "--port-file",
            str(port_file),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "Kondado simulator on" in proc.stdout.readline()
        port = port_file.read_text()
        body = requests.get(
            f"http://127.0.0.1:{port}/pipeline_logs",
            params={"key": "demo-key", "token": "demo-token", "start_element_id": 0},
            timeout=5,
        ).json()
        first = body["data"]["data"][0]
        assert first["id"] > 60_000_000
        age = datetime.datetime.now(datetime.timezone.utc) - _moment(first["createdAt"])
        assert datetime.timedelta(days=6) < age <= datetime.timedelta(days=7, minutes=1)
        stats = requests.get(f"http://127.0.0.1:{port}/_admin/stats", timeout=5).json()
        assert json.dumps(stats["records"]) == json.dumps({"pipeline_logs": 300, "model_logs": 600})
    finally:
        proc.terminate()
        proc.wait(timeout=10)
