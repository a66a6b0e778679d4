"""The planted scenario (simulator/scenario.py): cadences, anomalies and statuses, the same for a seed."""

from __future__ import annotations

import datetime
import itertools
import statistics
import subprocess
import sys

import requests

from tap_kondado.simulator import Simulator
from tap_kondado.simulator import scenario as planted
from tap_kondado.simulator.data import DEFAULT_IDS_PER_DAY
from tests.tap_runner import TEST_KEY, TEST_TOKENS

NOW = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.timezone.utc)
CATALOG = {"pipeline_logs": planted.PIPELINES, "model_logs": planted.MODELS}
KEYS = {"pipeline_logs": "pipeline_id", "model_logs": "model_id"}


def _moment(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _generate(stream="pipeline_logs", seed=7, days=30):
    return planted.generate_scenario(stream, seed=seed, days=days, now=NOW, ids_per_day=DEFAULT_IDS_PER_DAY)[0]


def _runs(logs, stream="pipeline_logs"):
    """{item id: its logs, oldest first}."""
    by_item = {}
    for log in sorted(logs, key=lambda r: r["createdAt"]):
        by_item.setdefault(log[KEYS[stream]], []).append(log)
    return by_item


def test_the_same_seed_makes_the_same_logs_and_another_seed_other_ones():
    assert _generate(seed=7) == _generate(seed=7)
    assert [r["id"] for r in _generate(seed=7)] != [r["id"] for r in _generate(seed=8)]


def test_ids_are_sparse_ascending_and_created_at_nearly_ascending_over_the_days():
    logs = _generate()
    ids = [r["id"] for r in logs]
    assert ids == sorted(set(ids))
    assert statistics.median(b - a for a, b in itertools.pairwise(ids)) > 10  # other customers' ids between
    moments = [_moment(r["createdAt"]) for r in logs]
    assert all(b - a > datetime.timedelta(seconds=-10) for a, b in itertools.pairwise(moments))
    assert any(b < a for a, b in itertools.pairwise(moments)), "jitter: not strictly ascending"
    assert NOW - datetime.timedelta(days=30, minutes=3) < min(moments)
    assert max(moments) <= NOW


def test_every_item_runs_on_its_cadence_and_the_silent_ones_stop():
    for stream, catalog in CATALOG.items():
        runs = _runs(_generate(stream), stream)
        assert set(runs) == {item.item_id for item in catalog}
        for item in catalog:
            moments = [_moment(r["createdAt"]) for r in runs[item.item_id]]
            gaps = [(b - a).total_seconds() / 3600 for a, b in itertools.pairwise(moments)]
            assert abs(statistics.median(gaps) - item.cadence_hours) < 0.1, item
            silence = (NOW - moments[-1]).total_seconds() / 3600
            if item.anomaly in {"stalled", "failing", "blocked", "not_active"}:
                assert silence > 3 * item.cadence_hours, item
            elif item.schedule is not None:
                continue  # quiet nights and weekends: tests/test_simulator_schedules.py
            elif item.anomaly == "late":
                assert 1.5 * item.cadence_hours < silence < 3 * item.cadence_hours, item
            else:
                assert silence < item.cadence_hours + 0.01, item


def test_the_volume_and_savepoint_anomalies_are_on_the_latest_runs_only():
    runs = _runs(_generate())
    rows = {item: [int(r["row_count"]) for r in logs] for item, logs in runs.items()}
    assert [n == 0 for n in rows[761][-7:]] == [False] + [True] * 6
    for item in (721, 722, 762):
        before = rows[item][-21:-1]
        z = (rows[item][-1] - statistics.mean(before)) / statistics.pstdev(before)
        assert (abs(z) >= 3) == (item == 762), item
    for item in (721, 724, 761, 763):  # incremental: each run starts where the previous one ended
        logs = runs[item]
        breaks = [b["initial_savepoint"] != a["new_savepoint"] for a, b in itertools.pairwise(logs)]
        assert breaks[-1] == (item == 763), item
        assert not any(breaks[:-1]), item
    assert len(runs[764]) == 2  # new: too few runs to judge


def test_planted_statuses_say_why_the_failing_ones_fail():
    statuses = planted.planted_statuses()
    assert set(statuses["pipelines"]) == {p.item_id for p in planted.PIPELINES}
    assert set(statuses["models"]) == {m.item_id for m in planted.MODELS}
    fields = {"status", "is_running", "is_active", "raw_msg"}  # as the vendor's pages list them per endpoint
    assert all(set(s) == fields | {"is_blocked"} for s in statuses["pipelines"].values())
    assert all(set(s) == fields | {"kubo_status_type"} for s in statuses["models"].values())
    pipelines = statuses["pipelines"]
    assert pipelines[742]["status"] == "too_many_consecutive_failed_builds"
    assert pipelines[742]["raw_msg"]
    assert pipelines[744]["status"] == "too_many_consecutive_failed_builds__blocked"
    assert pipelines[744]["is_blocked"]
    assert pipelines[743]["status"] == "not_active"
    assert not pipelines[743]["is_active"]
    assert {i for i, s in pipelines.items() if s["status"] == "active"} == {
        p.item_id for p in planted.PIPELINES if p.anomaly not in {"failing", "blocked", "not_active"}
    }


def test_a_scenario_simulator_serves_the_catalog_and_appends_runs_of_its_steady_items():
    sim = Simulator(scenario=True, days=10, tokens=TEST_TOKENS)
    assert sim.realistic
    assert sim.statuses == planted.planted_statuses()
    assert {r["pipeline_id"] for r in sim.visible("pipeline_logs", TEST_KEY)} == {
        p.item_id for p in planted.PIPELINES if p.client_id != 4
    }
    steady = {p.item_id for p in planted.PIPELINES if p.anomaly is None}
    before = {p: [r for r in sim.records["pipeline_logs"] if r["pipeline_id"] == p][-1] for p in steady}
    new = sim.append("pipeline_logs", 6)
    assert {r["pipeline_id"] for r in new} <= steady
    assert len({r["pipeline_id"] for r in new}) > 1
    for record in new:  # each looks like its pipeline's runs: rows, billing, savepoints carried on
        item = next(p for p in planted.PIPELINES if p.item_id == record["pipeline_id"])
        assert 0.8 * item.rows <= int(record["row_count"]) <= 1.2 * item.rows
        assert record["is_billable"] == item.billable
        if item.incremental:
            assert record["initial_savepoint"] == before[item.item_id]["new_savepoint"]
            before[item.item_id] = record
        else:
            assert record["initial_savepoint"] is None
    assert new[0]["id"] > sim.records["pipeline_logs"][-7]["id"]
    assert Simulator(pipeline_logs=10, model_logs=0).statuses == {"pipelines": {}, "models": {}}


def test_cli_scenario_mode(tmp_path):
    port_file = tmp_path / "port"
    command = [sys.executable, "-m", "tap_kondado.simulator", "--scenario", "--days", "3"]
    command += ["--rate-limits", "off", "--port-file", str(port_file)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert "Kondado simulator on" in proc.stdout.readline()
        body = requests.get(
            f"http://127.0.0.1:{port_file.read_text()}/pipeline_logs",
            params={"key": "demo-key", "token": "demo-token", "start_element_id": 0},
            timeout=5,
        ).json()
        names = {p.item_id: p.name for p in planted.PIPELINES}
        assert all(names[r["pipeline_id"]] == r["pipeline_name"] for r in body["data"]["data"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
