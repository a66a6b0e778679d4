"""The simulator's status endpoints: both shapes, consistent with its logs, limits, faults and the control endpoint."""

from __future__ import annotations

import pytest
import requests

from tap_kondado.simulator import Simulator
from tests.sim_process import simulator_process
from tests.tap_runner import TEST_KEY, TEST_TOKEN, TEST_TOKENS

AUTH = {"key": TEST_KEY, "token": TEST_TOKEN}


@pytest.fixture
def sim():
    with Simulator(pipeline_logs=240, model_logs=130, tokens=TEST_TOKENS) as simulator:
        yield simulator


def _get(sim: Simulator, path: str, **params: str) -> dict:
    answer = requests.get(f"{sim.url}{path}", params={**AUTH, **params}, timeout=10)
    assert answer.status_code == 200
    return answer.json()


def _visible_ids(sim: Simulator, stream: str, field: str) -> set[int]:
    return {r[field] for r in sim.visible(stream, TEST_KEY)}


def test_the_vendors_shapes_by_default_pipelines_bare_models_wrapped(sim):
    pipeline = min(_visible_ids(sim, "pipeline_logs", "pipeline_id"))
    model = min(_visible_ids(sim, "model_logs", "model_id"))
    assert _get(sim, f"/pipelines/{pipeline}/status") == {
        str(pipeline): {
            "status": "active",
            "is_running": False,
            "is_active": True,
            "is_blocked": False,
            "raw_msg": None,
        }
    }
    assert _get(sim, f"/models/{model}/status") == {
        "success": True,
        "data": {
            str(model): {
                "status": "active",
                "is_running": False,
                "is_active": True,
                "kubo_status_type": "operational",
                "raw_msg": None,
            }
        },
    }


@pytest.mark.parametrize(
    ("envelope", "pipelines_wrapped", "models_wrapped"),
    [("bare", False, False), ("wrapped", True, True), ("flipped", True, False), ("vendor", False, True)],
)
def test_the_envelope_switch(envelope, pipelines_wrapped, models_wrapped):
    with Simulator(pipeline_logs=60, model_logs=60, tokens=TEST_TOKENS, status_envelope=envelope) as sim:
        pipeline = min(_visible_ids(sim, "pipeline_logs", "pipeline_id"))
        model = min(_visible_ids(sim, "model_logs", "model_id"))
        assert ("success" in _get(sim, f"/pipelines/{pipeline}/status")) is pipelines_wrapped
        assert ("success" in _get(sim, f"/models/{model}/status")) is models_wrapped


def test_an_unknown_envelope_is_refused():
    with pytest.raises(ValueError, match="status_envelope"):
        Simulator(pipeline_logs=1, model_logs=1, status_envelope="sideways")


def test_an_id_in_no_visible_log_is_not_found_and_a_bad_token_is_refused(sim):
    hidden = _visible_ids(sim, "pipeline_logs", "pipeline_id")
    every = {r["pipeline_id"] for r in sim.records["pipeline_logs"]}
    invisible = sorted(every - hidden)  # client 4's pipelines: the test token cannot see them
    assert invisible
    for object_id in (invisible[0], 999_999, "abc"):
        body = _get(sim, f"/pipelines/{object_id}/status")
        assert body["success"] is False
        assert body["error"] == "NOT_FOUND"
        assert str(object_id) in body["message"]
    pipeline = min(hidden)
    bad = requests.get(f"{sim.url}/pipelines/{pipeline}/status", params={**AUTH, "token": "wrong"}, timeout=10)
    assert bad.json()["error"] == "INVALID_TOKEN"


def test_the_control_endpoint_sets_a_status_and_its_flags(sim):
    pipeline = min(_visible_ids(sim, "pipeline_logs", "pipeline_id"))
    model = min(_visible_ids(sim, "model_logs", "model_id"))
    body = {"kind": "pipelines", "id": pipeline, "status": "too_many_consecutive_failed_builds__blocked"}
    body["raw_msg"] = "cannot connect to the source"
    assert requests.post(f"{sim.url}/_admin/status", json=body, timeout=10).status_code == 200
    assert _get(sim, f"/pipelines/{pipeline}/status")[str(pipeline)] == {
        "status": "too_many_consecutive_failed_builds__blocked",
        "is_running": False,
        "is_active": False,
        "is_blocked": True,
        "raw_msg": "cannot connect to the source",
    }
    body = {"kind": "models", "id": model, "status": "running", "kubo_status_type": "rebuilding"}
    requests.post(f"{sim.url}/_admin/status", json=body, timeout=10)
    assert _get(sim, f"/models/{model}/status")["data"][str(model)] == {
        "status": "running",
        "is_running": True,
        "is_active": True,
        "kubo_status_type": "rebuilding",
        "raw_msg": None,
    }
    assert sim.statuses["pipelines"][pipeline]["is_blocked"] is True
    refused = requests.post(f"{sim.url}/_admin/status", json={"kind": "jobs", "id": 1, "status": "x"}, timeout=10)
    assert refused.status_code == 400


def test_statuses_given_at_construction_are_served():
    """The hook another module (the realistic scenario) fills at construction."""
    unstarted = Simulator(pipeline_logs=60, model_logs=10, tokens=TEST_TOKENS)  # the same seed: the same ids
    pipeline = min(_visible_ids(unstarted, "pipeline_logs", "pipeline_id"))
    unstarted._server.server_close()
    entry = {"status": "not_active", "is_running": False, "is_active": False, "is_blocked": False, "raw_msg": None}
    sim = Simulator(pipeline_logs=60, model_logs=10, tokens=TEST_TOKENS, statuses={"pipelines": {pipeline: entry}})
    with sim:
        assert _get(sim, f"/pipelines/{pipeline}/status") == {str(pipeline): entry}
        assert sim.statuses["models"] == {}


def test_status_requests_share_the_logs_rate_limits_and_faults():
    with Simulator(pipeline_logs=60, model_logs=10, tokens=TEST_TOKENS, rate_limits=[(1, 0.5)]) as sim:
        pipeline = min(_visible_ids(sim, "pipeline_logs", "pipeline_id"))
        assert "success" not in _get(sim, f"/pipelines/{pipeline}/status")
        limited = _get(sim, "/pipeline_logs", start_element_id="0")  # the same key's budget
        assert limited["error"] == "RATE_LIMIT_EXCEEDED"
        assert sim.stats()["rate_limited"] == 1
    with Simulator(pipeline_logs=60, model_logs=10, tokens=TEST_TOKENS, faults={1: "error:INTERNAL_ERROR"}) as sim:
        pipeline = min(_visible_ids(sim, "pipeline_logs", "pipeline_id"))
        assert _get(sim, f"/pipelines/{pipeline}/status")["error"] == "INTERNAL_ERROR"
        assert _get(sim, f"/pipelines/{pipeline}/status")[str(pipeline)]["status"] == "active"
        assert [e["path"] for e in sim.log] == [f"/pipelines/{pipeline}/status"] * 2


def test_the_command_line_switch_flips_both_shapes():
    with simulator_process("--status-envelope", "flipped", "--rate-limits", "off") as process:
        url = process.url
        demo = {"key": "demo-key", "token": "demo-token"}
        logs = requests.get(f"{url}/pipeline_logs", params={**demo, "start_element_id": 0}, timeout=10).json()
        pipeline = logs["data"]["data"][0]["pipeline_id"]
        models = requests.get(f"{url}/model_logs", params={**demo, "start_element_id": 0}, timeout=10).json()
        model = models["data"]["data"][0]["model_id"]
        assert "success" in requests.get(f"{url}/pipelines/{pipeline}/status", params=demo, timeout=10).json()
        assert "success" not in requests.get(f"{url}/models/{model}/status", params=demo, timeout=10).json()
