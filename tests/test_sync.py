"""End to end: the `tap-kondado` command against the simulator, under every API reading."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from jsonschema import Draft7Validator, FormatChecker

from tap_kondado.simulator.data import MODEL_EXAMPLE, PIPELINE_EXAMPLE
from tests.tap_runner import TEST_KEY, bookmark, config_for, run_tap

STREAMS = ("pipeline_logs", "model_logs")
MODES = [(reading, end) for reading in ("inclusive", "exclusive") for end in ("last", "empty")]


def _requests(sim, stream):
    return [e for e in sim.log if e["path"] == f"/{stream}"]


def _assert_valid_records(run):
    schemas = run.schemas()
    assert set(schemas) == set(STREAMS)
    validators = {s: Draft7Validator(schema, format_checker=FormatChecker()) for s, schema in schemas.items()}
    for stream in STREAMS:
        for record in run.records(stream):
            errors = list(validators[stream].iter_errors(record))
            assert not errors, (stream, record["id"], [e.message for e in errors])


@pytest.mark.parametrize(("reading", "end_signal"), MODES)
def test_full_then_incremental_then_idle_run(make_sim, reading, end_signal):
    sim = make_sim(pipeline_logs=260, model_logs=140, reading=reading, end_signal=end_signal)
    config = config_for(sim.url)

    full = run_tap(config)
    assert full.returncode == 0, full.stderr
    _assert_valid_records(full)
    for stream in STREAMS:
        expected = [r["id"] for r in sim.visible(stream, TEST_KEY)]
        assert full.ids(stream) == expected  # each exactly once, ascending, nothing else
        assert bookmark(full.final_state, stream) == expected[-1]
        pages = math.ceil(len(expected) / 50)
        # "empty" needs one more request to learn the end; "last" may too when the count is a multiple of 50
        assert pages <= len(_requests(sim, stream)) <= pages + 1

    new = {stream: sim.append(stream, 73) for stream in STREAMS}
    visible_new = {s: [r["id"] for r in new[s] if r["client_id"] in (1, 2, 3)] for s in STREAMS}
    second = run_tap(config, full.final_state)
    assert second.returncode == 0, second.stderr
    for stream in STREAMS:
        assert second.ids(stream) == visible_new[stream]
        assert bookmark(second.final_state, stream) == visible_new[stream][-1]

    before = sim.stats()["requests"]
    idle = run_tap(config, second.final_state)
    assert idle.returncode == 0, idle.stderr
    assert all(idle.ids(stream) == [] for stream in STREAMS)
    assert 2 <= sim.stats()["requests"] - before <= 4  # one request per stream, two at most
    assert idle.final_state["bookmarks"] == second.final_state["bookmarks"]


def test_the_docs_examples_come_out_value_for_value(sim):
    run = run_tap(config_for(sim.url))
    pipeline = next(r for r in run.records("pipeline_logs") if r["id"] == PIPELINE_EXAMPLE["id"])
    converted = {
        "execution_time_seconds": Decimal("0.486988"),
        "row_count": 256,
        "raw_row_count": 123,
        "mb_estimate": Decimal("0.00231"),
    }
    assert pipeline == {**PIPELINE_EXAMPLE, **converted}
    assert type(pipeline["row_count"]) is int
    model = next(r for r in run.records("model_logs") if r["id"] == MODEL_EXAMPLE["id"])
    assert model == {**MODEL_EXAMPLE, "execution_time_seconds": Decimal("0.201923")}


def test_numbers_arrive_as_strings_and_leave_as_numbers(sim):
    run = run_tap(config_for(sim.url))
    served = {r["id"]: r for r in sim.visible("pipeline_logs", TEST_KEY)}
    for record in run.records("pipeline_logs"):
        source = served[record["id"]]
        assert record["row_count"] == int(source["row_count"])
        assert record["raw_row_count"] == int(source["raw_row_count"])
        assert Decimal(str(record["execution_time_seconds"])) == Decimal(source["execution_time_seconds"])
        assert Decimal(str(record["mb_estimate"])) == Decimal(source["mb_estimate"])


@pytest.mark.parametrize("client_ids", [[2], [1, 3]])
def test_client_ids_scroll_each_account_with_its_own_bookmark(sim, client_ids):
    run = run_tap(config_for(sim.url, client_ids=client_ids))
    assert run.returncode == 0, run.stderr
    for stream in STREAMS:
        expected = [r["id"] for c in client_ids for r in sim.visible(stream, TEST_KEY, client_id=c)]
        assert run.ids(stream) == expected
        for client_id in client_ids:
            own = [r["id"] for r in sim.visible(stream, TEST_KEY, client_id=client_id)]
            assert bookmark(run.final_state, stream, client_id) == own[-1]
        assert {e["client_id"] for e in _requests(sim, stream)} == {str(c) for c in client_ids}

    sim.append("pipeline_logs", 30, client_id=client_ids[-1])
    sim.append("pipeline_logs", 30, client_id=4)  # an account the token cannot see
    second = run_tap(config_for(sim.url, client_ids=client_ids), run.final_state)
    assert second.ids("pipeline_logs") == [r["id"] for r in sim.visible("pipeline_logs", TEST_KEY)[-30:]]
    assert second.ids("model_logs") == []


def test_start_element_id_starts_a_first_sync_at_that_id(make_sim):
    for reading in ("inclusive", "exclusive"):
        sim = make_sim(pipeline_logs=120, model_logs=10, reading=reading)
        start = sim.visible("pipeline_logs", TEST_KEY)[40]["id"]
        run = run_tap(config_for(sim.url, start_element_id=start))
        assert run.ids("pipeline_logs")[0] == start
        assert run.ids("pipeline_logs") == [r["id"] for r in sim.visible("pipeline_logs", TEST_KEY)[40:]]


def test_a_bookmark_wins_over_start_element_id(sim):
    first = run_tap(config_for(sim.url))
    sim.append("model_logs", 5, client_id=1)
    second = run_tap(config_for(sim.url, start_element_id=1), first.final_state)
    assert second.ids("model_logs") == [r["id"] for r in sim.visible("model_logs", TEST_KEY)[-5:]]


def test_state_is_emitted_every_page_not_every_ten_thousand_records(sim):
    run = run_tap(config_for(sim.url))
    values = [bookmark(s, "pipeline_logs") for s in run.states]
    progress = [v for v in values if v is not None]
    assert len(set(progress)) >= len(run.ids("pipeline_logs")) // 50


def test_wrong_token_fails_in_one_line_naming_the_api_error(sim):
    run = run_tap({**config_for(sim.url), "token": "not-the-token"})
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert any("Kondado API error INVALID_TOKEN: Invalid key or token." in line for line in errors)
    assert "Traceback" not in run.stderr
    assert run.records("pipeline_logs") == run.records("model_logs") == []


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"token": "t0k3n-value"}, "setting 'key' is required"),
        ({"key": "k", "token": "t0k3n-value", "client_ids": []}, "setting 'client_ids' must not be empty"),
        ({"key": "k", "token": "t0k3n-value", "request_timeout": "fast"}, "setting 'request_timeout' must be number"),
        (
            {"key": "k", "token": "t0k3n-value", "api_url": "http://k2.example.com"},
            "setting 'api_url' must be an https",
        ),
    ],
)
def test_config_mistakes_exit_with_one_line_naming_the_setting(config, words):
    run = run_tap(config)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    error_lines = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert len(error_lines) == 1
    assert words in error_lines[0]
    assert run.stdout == ""


def test_a_client_ids_account_that_brings_nothing_is_named_once_per_stream(sim):
    """An account the token cannot see (a typo) ran to the end with 0 logs and no word."""
    run = run_tap(config_for(sim.url, client_ids=[1, 99]))
    assert run.returncode == 0, run.stderr[-2000:]
    warnings = [line.split(" | ", 3)[-1] for line in run.stderr.splitlines() if "| WARNING " in line]
    assert sorted(warnings) == [
        f"{stream}: client_ids account 99 brought no logs; check the id, and that the token can see that account"
        for stream in ("model_logs", "pipeline_logs")
    ]
    assert run.ids("pipeline_logs") == [r["id"] for r in sim.visible("pipeline_logs", TEST_KEY, 1)]
    # resumed with nothing new: account 1 has a bookmark, so an empty scroll is no news
    again = run_tap(config_for(sim.url, client_ids=[1]), run.final_state)
    assert not [line for line in again.stderr.splitlines() if "| WARNING " in line]


def test_the_state_keeps_the_newest_logs_created_at_not_its_updated_at(sim):
    """The lookback window and the retention warning read `last_created_at`: an edit must not move it."""
    newest = sim.visible("pipeline_logs", TEST_KEY)[-1]
    edited = sim.update_log("pipeline_logs", newest["id"], row_count="3")
    assert edited["updatedAt"] != edited["createdAt"]
    run = run_tap(config_for(sim.url))
    assert run.returncode == 0, run.stderr
    assert run.final_state["bookmarks"]["pipeline_logs"]["last_created_at"] == newest["createdAt"]
