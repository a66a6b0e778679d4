"""The status streams, run as a user runs them: the `tap-kondado` command against the simulator.

Both answer shapes on both endpoints (the simulator's `status_envelope`): every remembered id
lands, a quiet one too; an erroring id is one warning; the id memory is bounded and survives
SIGKILL; not selected costs nothing; selected alone they work from a state.
"""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tap_kondado.simulator import Simulator
from tap_kondado.simulator.data import stamp
from tap_kondado.times import sortable_time
from tests.tap_runner import TEST_KEY, TapRun, config_for, run_tap
from tests.test_interruption import PACED, after_states, run_until

LOGS = ("pipeline_logs", "model_logs")
STATUS = ("pipeline_status", "model_status")
FIELDS = {"pipeline_status": ("pipeline_logs", "pipeline_id"), "model_status": ("model_logs", "model_id")}
# The simulator's logs begin 30 days ago; a year reaches all of them.
YEAR = 365


@pytest.fixture(params=["bare", "wrapped"])
def envelope(request) -> str:
    return request.param


def run_selected(config: dict, streams: tuple[str, ...], state: dict | None, tmp_path: Path) -> TapRun:
    """The tap with a catalog selecting `streams` (from its own --discover, as Meltano builds one)."""
    catalog = json.loads(run_tap(config, args=("--discover",)).stdout)
    for entry in catalog["streams"]:
        root = next(m for m in entry["metadata"] if m["breadcrumb"] == [])
        root["metadata"]["selected"] = entry["tap_stream_id"] in streams
    path = tmp_path / f"catalog-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(catalog))
    return run_tap(config, state, args=("--catalog", str(path)))


def newest_logs(sim: Simulator, stream: str, field: str, days: float = YEAR) -> dict[int, dict[str, Any]]:
    """Each id's newest visible log, for the ids whose newest log is at most `days` old.

    (The API docs' two 2020 examples are among the simulator's logs: older than any status_days here.)
    """
    newest: dict[int, dict[str, Any]] = {}
    for record in sim.visible(stream, TEST_KEY):
        newest[record[field]] = record
    cutoff = sortable_time(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days))
    return {i: r for i, r in newest.items() if r["createdAt"] >= cutoff}


def status_requests(sim: Simulator, since: int = 0) -> list[str]:
    return [e["path"] for e in sim.log[since:] if e["path"].endswith("/status")]


def memory(state: dict, stream: str) -> dict[str, dict[str, Any]]:
    return state["bookmarks"][stream]["ids"]


def test_statuses_of_every_remembered_id_land_a_quiet_one_included(make_sim, envelope, tmp_path):
    sim = make_sim(pipeline_logs=240, model_logs=130, status_envelope=envelope)
    config = config_for(sim.url, status_days=YEAR)
    first = run_tap(config)  # the log streams only, as before: they remember the ids all the same
    assert first.returncode == 0, first.stderr
    assert status_requests(sim) == []
    expected = {status: newest_logs(sim, *FIELDS[status]) for status in STATUS}
    for status in STATUS:
        assert set(memory(first.final_state, status)) == {str(i) for i in expected[status]}

    # New logs come, but not from the quiet pipeline: it failed and writes none.
    quiet_before = set(expected["pipeline_status"])
    sim.append("pipeline_logs", 20, client_id=1)
    sim.append("model_logs", 10, client_id=2)
    ran_again = {r["pipeline_id"] for r in sim.visible("pipeline_logs", TEST_KEY)[-20:]}
    quiet = min(quiet_before - ran_again)
    sim.set_status("pipelines", quiet, "too_many_consecutive_failed_builds", raw_msg="cannot reach the source")
    expected = {status: newest_logs(sim, *FIELDS[status]) for status in STATUS}

    since = len(sim.log)
    second = run_selected(config, LOGS + STATUS, first.final_state, tmp_path)
    assert second.returncode == 0, second.stderr
    assert quiet not in {r["pipeline_id"] for r in second.records("pipeline_logs")}
    for status in STATUS:
        field = FIELDS[status][1]
        records = second.records(status)
        assert [r[field] for r in records] == sorted(expected[status])  # one per remembered id, in id order
        name = field.replace("_id", "_name")
        for record in records:
            newest = expected[status][record[field]]
            assert (record["client_id"], record[name]) == (newest["client_id"], newest[name])
            assert record["observed_at"].endswith("Z")
            assert record["is_running"] is False
        summary = re.search(rf"{status}: run summary: (\d+) statuses emitted of (\d+) ids", second.stderr)
        assert summary
        assert summary.groups() == (str(len(records)), str(len(records)))
    assert len(status_requests(sim, since)) == len(expected["pipeline_status"]) + len(expected["model_status"])
    failing = next(r for r in second.records("pipeline_status") if r["pipeline_id"] == quiet)
    assert failing["status"] == "too_many_consecutive_failed_builds"
    assert failing["raw_msg"] == "cannot reach the source"
    assert {r["status"] for r in second.records("pipeline_status") if r["pipeline_id"] != quiet} == {"active"}
    assert {r["kubo_status_type"] for r in second.records("model_status")} == {"operational"}
    schema = second.schemas()["pipeline_status"]
    assert set(schema["properties"]) == {
        "pipeline_id",
        "client_id",
        "pipeline_name",
        "status",
        "is_running",
        "is_active",
        "is_blocked",
        "raw_msg",
        "observed_at",
    }
    schema_message = next(m for m in second.messages if m["type"] == "SCHEMA" and m["stream"] == "pipeline_status")
    assert schema_message["key_properties"] == ["pipeline_id", "observed_at"]
    assert not [m for m in second.messages if m["type"] == "ACTIVATE_VERSION"]  # the history is kept


def test_a_first_run_with_everything_selected_asks_about_this_runs_ids(make_sim, tmp_path):
    sim = make_sim(pipeline_logs=120, model_logs=60)
    run = run_selected(config_for(sim.url, status_days=YEAR), LOGS + STATUS, None, tmp_path)
    assert run.returncode == 0, run.stderr
    for status in STATUS:
        assert [r[FIELDS[status][1]] for r in run.records(status)] == sorted(newest_logs(sim, *FIELDS[status]))


def test_an_id_answered_with_an_error_is_skipped_with_one_warning(make_sim, envelope, tmp_path):
    sim = make_sim(pipeline_logs=120, model_logs=60, status_envelope=envelope)
    config = config_for(sim.url, status_days=YEAR)
    state = run_tap(config).final_state
    now = sortable_time(datetime.datetime.now(datetime.timezone.utc))
    memory(state, "pipeline_status")["999999"] = {"client_id": 1, "name": "Deleted since", "newest_log_at": now}
    run = run_selected(config, STATUS, state, tmp_path)
    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, warnings
    assert "999999" in warnings[0]
    assert "NOT_FOUND" in warnings[0]
    landed = [r["pipeline_id"] for r in run.records("pipeline_status")]
    assert landed == sorted(newest_logs(sim, "pipeline_logs", "pipeline_id"))
    assert "1 skipped on an error" in run.stderr
    assert "999999" in memory(run.final_state, "pipeline_status")  # kept: its last log is still recent


def test_a_refused_token_ends_the_run_as_on_the_log_endpoints(make_sim, tmp_path):
    sim = make_sim(pipeline_logs=60, model_logs=30)
    config = config_for(sim.url, status_days=YEAR)
    state = run_tap(config).final_state
    run = run_selected({**config, "token": "not-the-token"}, STATUS, state, tmp_path)
    assert run.returncode == 1
    assert "INVALID_TOKEN" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_rate_limit_answer_is_waited_out_and_counted(make_sim, tmp_path):
    sim = make_sim(pipeline_logs=60, model_logs=30)
    config = config_for(sim.url, status_days=YEAR)
    state = run_tap(config).final_state
    sim.schedule({2: "rate_limit:0.2"}, relative=True)
    run = run_selected(config, ("pipeline_status",), state, tmp_path)
    assert run.returncode == 0, run.stderr
    assert [r["pipeline_id"] for r in run.records("pipeline_status")] == sorted(
        newest_logs(sim, "pipeline_logs", "pipeline_id")
    )
    assert "1 rate-limit answers" in run.stderr


def test_not_selected_means_zero_extra_requests(make_sim, tmp_path):
    sim = make_sim(pipeline_logs=240, model_logs=130)
    config = config_for(sim.url, status_days=YEAR)
    plain = run_tap(config)  # no catalog: what the SDK selects by default
    discovered = json.loads(run_tap(config, args=("--discover",)).stdout)
    selection = {
        e["tap_stream_id"]: next(m for m in e["metadata"] if m["breadcrumb"] == [])["metadata"]
        for e in discovered["streams"]
    }
    assert {s: (m["selected"], m["selected-by-default"]) for s, m in selection.items()} == {
        "pipeline_logs": (True, True),
        "model_logs": (True, True),
        "pipeline_status": (False, False),
        "model_status": (False, False),
    }
    path = tmp_path / "discovered.json"
    path.write_text(json.dumps(discovered))
    sim.append("pipeline_logs", 5)
    with_catalog = run_tap(config, plain.final_state, args=("--catalog", str(path)))  # the discovered one, as is
    assert plain.returncode == with_catalog.returncode == 0
    assert status_requests(sim) == []
    assert {e["path"] for e in sim.log} == {"/pipeline_logs", "/model_logs"}
    assert not [m for m in plain.messages + with_catalog.messages if m.get("stream") in STATUS]


def test_the_status_streams_alone_work_from_a_state(make_sim, envelope, tmp_path):
    sim = make_sim(pipeline_logs=120, model_logs=60, status_envelope=envelope)
    config = config_for(sim.url, status_days=YEAR)
    state = run_tap(config).final_state
    since = len(sim.log)
    run = run_selected(config, STATUS, state, tmp_path)
    assert run.returncode == 0, run.stderr
    assert all(path.endswith("/status") for path in (e["path"] for e in sim.log[since:]))
    for status in STATUS:
        assert [r[FIELDS[status][1]] for r in run.records(status)] == sorted(newest_logs(sim, *FIELDS[status]))
        assert memory(run.final_state, status) == memory(state, status)
    assert not run.records("pipeline_logs")

    # With nothing remembered: one INFO line each, and no request.
    since = len(sim.log)
    empty = run_selected(config, STATUS, None, tmp_path)
    assert empty.returncode == 0, empty.stderr
    assert len(sim.log) == since
    lines = [line for line in empty.stderr.splitlines() if "ids to ask about" in line]
    assert len(lines) == 2
    assert all("INFO" in line and "select" in line for line in lines)


def test_the_id_memory_keeps_only_ids_with_a_log_within_status_days(make_sim, tmp_path):
    sim = make_sim(pipeline_logs=240, model_logs=130)
    now = datetime.datetime.now(datetime.timezone.utc)
    last = sim.records["pipeline_logs"][-1]
    # Five more pipelines, each with one log, 50 to 5 days old: 35 days keeps the last two
    # (and the simulator's own pipelines, whose logs began 30 days ago).
    sim.add_records(
        "pipeline_logs",
        [
            {**last, "id": last["id"] + 1 + n, "pipeline_id": 900 + n, "client_id": 1, "createdAt": stamp(now - age)}
            for n, age in enumerate(datetime.timedelta(days=d) for d in (50, 45, 40, 20, 5))
        ],
    )
    days = 35
    fresh = set(newest_logs(sim, "pipeline_logs", "pipeline_id", days))
    assert {903, 904} <= fresh
    assert not {900, 901, 902} & fresh
    config = config_for(sim.url, status_days=days)
    first = run_tap(config)
    assert sorted(r["pipeline_id"] for r in first.records("pipeline_logs") if r["pipeline_id"] >= 900) == [
        900,
        901,
        902,
        903,
        904,
    ]
    assert set(memory(first.final_state, "pipeline_status")) == {str(i) for i in fresh}

    # A remembered id whose newest log grew too old drops out when the status stream runs,
    # and is not asked about.
    state = json.loads(json.dumps(first.final_state))
    old = sortable_time(now - datetime.timedelta(days=days + 1))
    memory(state, "pipeline_status")["777777"] = {"client_id": 1, "name": "Gone quiet long ago", "newest_log_at": old}
    run = run_selected(config, ("pipeline_status",), state, tmp_path)
    assert run.returncode == 0, run.stderr
    assert [r["pipeline_id"] for r in run.records("pipeline_status")] == sorted(fresh)
    assert "777777" not in memory(run.final_state, "pipeline_status")


@pytest.mark.slow
def test_the_id_memory_survives_kill_9_mid_run(make_sim, tmp_path):
    sim = make_sim(pipeline_logs=600, model_logs=60)
    config = config_for(sim.url, status_days=YEAR)
    killed = run_until({**config, "rate_limits": PACED}, None, sim, after_states(4, "pipeline_logs"))
    assert killed.returncode != 0, "the kill should land mid-run"
    last_state = max(i for i, m in enumerate(killed.messages) if m["type"] == "STATE")
    year_ago = sortable_time(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=YEAR))
    vouched = [
        m["record"]
        for m in killed.messages[:last_state]
        if m["type"] == "RECORD" and m["stream"] == "pipeline_logs" and m["record"]["createdAt"] >= year_ago
    ]
    assert vouched
    remembered = memory(killed.final_state, "pipeline_status")
    assert {str(r["pipeline_id"]) for r in vouched} <= set(remembered)
    for record in vouched:  # the newest log of each id, as far as the killed run got
        assert remembered[str(record["pipeline_id"])]["newest_log_at"] >= record["createdAt"]

    resumed = run_selected(config, LOGS + STATUS, killed.final_state, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    landed = [r["pipeline_id"] for r in resumed.records("pipeline_status")]
    assert landed == sorted(newest_logs(sim, "pipeline_logs", "pipeline_id"))


def test_under_meltano_only_a_select_pattern_naming_a_status_stream_runs_it(make_sim, tmp_path):
    """Meltano's default select `*.*` selects every stream in the catalog it hands the tap."""
    sim = make_sim(pipeline_logs=120, model_logs=60)
    config = config_for(sim.url, status_days=YEAR)
    state = run_tap(config).final_state
    catalog = json.loads(run_tap(config, args=("--discover",)).stdout)
    for entry in catalog["streams"]:  # what Meltano makes of the discovered catalog with `*.*`
        next(m for m in entry["metadata"] if m["breadcrumb"] == [])["metadata"]["selected"] = True
    path = tmp_path / "meltano-catalog.json"
    path.write_text(json.dumps(catalog))

    since = len(sim.log)
    default = run_tap(config, state, args=("--catalog", str(path)), env={"MELTANO_EXTRACT__SELECT": '["*.*"]'})
    assert default.returncode == 0, default.stderr
    assert status_requests(sim, since) == []
    assert not [m for m in default.messages if m.get("stream") in STATUS]
    said = [line for line in default.stderr.splitlines() if "not run: Meltano's select" in line]
    assert len(said) == 2
    assert "INFO" in said[0]

    named = '["*.*", "pipeline_status.*"]'
    one = run_tap(config, state, args=("--catalog", str(path)), env={"MELTANO_EXTRACT__SELECT": named})
    assert one.returncode == 0, one.stderr
    assert one.records("pipeline_status")
    assert not one.records("model_status")
