"""Every fault the simulator can inject, met by the real `tap-kondado` command.

Transient faults and rate-limit answers are survived with every record emitted exactly
once; retries that run out end the run with the state of the last complete page; auth
failures and unknown error codes end it at once. A transient retry waits 0.5-1 s.
"""

from __future__ import annotations

import socket
import time

import pytest
import requests

from tests.tap_runner import TEST_KEY, TEST_TOKEN, bookmark, config_for, run_tap

pytestmark = pytest.mark.slow
STREAMS = ("model_logs", "pipeline_logs")

# kind -> how the tap's retry line names it
SURVIVABLE = {
    "500": "HTTP 500 Internal Server Error",
    "502": "HTTP 502 Bad Gateway",
    "503": "HTTP 503 Service Unavailable",
    # a bare "429" waits Kondado's 60 s penalty: test_retries and test_envelope hold it
    "429:1": "HTTP 429, Retry-After 1s",
    "reset": "connection reset",
    "slow:2": "request timed out",
    "drip:0.1": "request timed out",
    "malformed": "HTTP 200 with a body that is not JSON (application/json, 41 bytes)",
    "truncated": "HTTP 200 with a body that is not JSON (application/json, ",
    "html": "HTTP 200 with a body that is not JSON (text/html, 80 bytes)",
    "rate_limit:1": "RATE_LIMIT_EXCEEDED: Too many requests. Please try again in 1 seconds.",
    "inner_rate_limit:1": "RATE_LIMIT_EXCEEDED: Too many requests. Please try again in 1 seconds.",
}


def visible_ids(sim, stream, client_id=None):
    return [r["id"] for r in sim.visible(stream, TEST_KEY, client_id)]


def retry_lines(run):
    return [line.split(" | ")[-1] for line in run.stderr.splitlines() if "; retrying in " in line]


def same_request(a, b):
    return (a["path"], a["start"], a["client_id"]) == (b["path"], b["start"], b["client_id"])


@pytest.mark.parametrize("kind", SURVIVABLE)
def test_a_fault_is_survived_with_every_record_once(make_sim, kind):
    sim = make_sim(pipeline_logs=240, model_logs=130, faults={2: kind})
    run = run_tap(config_for(sim.url, request_timeout=0.5))

    assert run.returncode == 0, run.stderr[-2000:]
    for stream in STREAMS:
        assert run.ids(stream) == visible_ids(sim, stream)
        assert bookmark(run.final_state, stream) == visible_ids(sim, stream)[-1]
    faulted, retried = sim.log[1], sim.log[2]
    assert faulted["outcome"] == f"fault:{kind.split(':')[0]}"
    assert same_request(faulted, retried)  # the same request, sent again
    assert retried["outcome"] == "served"
    assert sim.stats()["requests"] == 7  # 2 + 4 pages, and the one retry
    [line] = retry_lines(run)
    assert line.startswith(f"{faulted['path'].strip('/')}: {SURVIVABLE[kind]}")
    assert TEST_TOKEN not in run.stderr


def test_a_slow_answer_within_the_timeout_is_just_waited_for(make_sim):
    sim = make_sim(pipeline_logs=240, model_logs=130, faults={2: "slow:0.5"})
    run = run_tap(config_for(sim.url, request_timeout=5))
    assert run.returncode == 0
    assert [e["outcome"] for e in sim.log] == ["served", "fault:slow"] + ["served"] * 4
    assert retry_lines(run) == []
    for stream in STREAMS:
        assert run.ids(stream) == visible_ids(sim, stream)


def test_every_fault_kind_in_one_partitioned_run(make_sim):
    """All kinds in one sync of three client_ids partitions per stream, exclusive reading."""
    kinds = list(SURVIVABLE)
    sim = make_sim(
        pipeline_logs=600,
        model_logs=400,
        reading="exclusive",
        end_signal="empty",
        faults={2 + 2 * i: kind for i, kind in enumerate(kinds)},
    )
    run = run_tap(config_for(sim.url, request_timeout=0.5, client_ids=[1, 2, 3]))

    assert run.returncode == 0, run.stderr[-2000:]
    for stream in STREAMS:
        emitted = run.ids(stream)
        assert sorted(emitted) == visible_ids(sim, stream)  # partitions interleave ids
        for client_id in (1, 2, 3):
            assert [r["id"] for r in run.records(stream) if r["client_id"] == client_id] == visible_ids(
                sim, stream, client_id
            )
            assert bookmark(run.final_state, stream, client_id) == visible_ids(sim, stream, client_id)[-1]
    met = [e["outcome"].removeprefix("fault:") for e in sim.log if e["outcome"] != "served"]
    assert met == [kind.split(":")[0] for kind in kinds]
    assert len(retry_lines(run)) == len(kinds)


def test_when_retries_run_out_the_state_resumes_after_the_last_complete_page(make_sim):
    sim = make_sim(pipeline_logs=240, model_logs=130, faults={4: "503", 5: "reset"})
    run = run_tap(config_for(sim.url, max_retries=1))

    assert run.returncode == 1
    assert [e["path"] for e in sim.log] == ["/model_logs", "/model_logs", "/pipeline_logs"] + ["/pipeline_logs"] * 2
    assert sim.log[3]["outcome"] == "fault:503"
    assert sim.log[4]["outcome"] == "fault:reset"
    errors = [line.split(" | ")[-1] for line in run.stderr.splitlines() if "| ERROR" in line]
    assert errors[-1] == "pipeline_logs: giving up after 2 tries; last fault: connection reset"
    pipeline = visible_ids(sim, "pipeline_logs")
    assert run.ids("model_logs") == visible_ids(sim, "model_logs")
    assert run.ids("pipeline_logs") == pipeline[:50]  # the first page, whole
    assert bookmark(run.final_state, "pipeline_logs") == pipeline[49]
    assert bookmark(run.final_state, "model_logs") == visible_ids(sim, "model_logs")[-1]

    rerun = run_tap(config_for(sim.url), state=run.final_state)
    assert rerun.returncode == 0
    assert rerun.ids("model_logs") == []
    assert rerun.ids("pipeline_logs") == pipeline[50:]
    resumed = next(e for e in sim.log[5:] if e["path"] == "/pipeline_logs")
    assert resumed["start"] == str(pipeline[49])  # where the first run stopped


def test_retries_run_out_in_a_partition(make_sim):
    sim = make_sim(pipeline_logs=240, model_logs=400, faults={2: "html", 3: "html"})
    run = run_tap(config_for(sim.url, max_retries=1, client_ids=[1, 2]))

    assert run.returncode == 1
    assert [(e["path"], e["client_id"]) for e in sim.log] == [("/model_logs", "1")] * 3
    assert run.ids("model_logs") == visible_ids(sim, "model_logs", 1)[:50]
    assert bookmark(run.final_state, "model_logs", 1) == visible_ids(sim, "model_logs", 1)[49]
    assert bookmark(run.final_state, "model_logs", 2) is None
    assert run.stderr.rstrip().endswith(
        "model_logs: giving up after 2 tries; last fault: HTTP 200 with a body that is not JSON (text/html, 80 bytes)"
    )


FATAL = {
    "error:ACCOUNT_SUSPENDED": "Kondado API error ACCOUNT_SUSPENDED: Simulated error.",
    "inner_error:ACCOUNT_SUSPENDED": "Kondado API error ACCOUNT_SUSPENDED: Simulated error.",
    "error:INVALID_TOKEN": "Kondado API error INVALID_TOKEN: Simulated error.",
}


@pytest.mark.parametrize("kind", FATAL)
def test_an_unknown_or_auth_error_code_is_fatal_at_once(make_sim, kind):
    sim = make_sim(pipeline_logs=240, model_logs=130, faults={2: kind})
    run = run_tap(config_for(sim.url))
    assert run.returncode == 1
    assert len(sim.log) == 2  # no retry
    assert run.stderr.rstrip().endswith(FATAL[kind])
    assert run.ids("model_logs") == visible_ids(sim, "model_logs")[:50]


@pytest.mark.parametrize("status", [401, 403])
def test_an_auth_status_is_fatal_at_once(make_sim, status):
    sim = make_sim(faults={1: {"kind": "body", "status": status, "body": "<html>Forbidden</html>"}})
    run = run_tap(config_for(sim.url))
    assert run.returncode == 1
    assert len(sim.log) == 1
    assert f"HTTP {status} " in run.stderr
    assert "the API refused the key/token" in run.stderr
    assert run.ids("model_logs") == []


def test_a_wrong_token_exits_within_seconds(make_sim):
    """Under Kondado's real limits, a bad token costs one request, not a backoff."""
    sim = make_sim(rate_limits=((1, 1.0), (20, 60.0)))
    config = config_for(sim.url, token="not-the-token-3c1d")
    del config["rate_limits"]  # the tap's defaults: Kondado's limits
    started = time.monotonic()
    run = run_tap(config)
    elapsed = time.monotonic() - started

    assert run.returncode == 1
    assert len(sim.log) == 1
    assert run.stderr.rstrip().endswith("Kondado API error INVALID_TOKEN: Invalid key or token.")
    assert run.records("model_logs") == run.records("pipeline_logs") == []
    assert elapsed < 15  # no retries: a backoff would take longer
    assert "not-the-token-3c1d" not in run.stderr


def test_faults_can_be_scheduled_while_the_simulator_runs(make_sim):
    sim = make_sim()
    params = {"key": TEST_KEY, "token": TEST_TOKEN, "start_element_id": 0}
    assert requests.get(f"{sim.url}/model_logs", params=params, timeout=5).status_code == 200
    admin = requests.post(f"{sim.url}/_admin/faults", json={"faults": {"2": "503"}, "relative": True}, timeout=5)
    assert admin.json() == {"ok": True}
    statuses = [requests.get(f"{sim.url}/model_logs", params=params, timeout=5).status_code for _ in range(3)]
    assert statuses == [200, 503, 200]  # the second request from now
    assert [e["outcome"] for e in sim.log] == ["served", "served", "fault:503", "served"]


def test_connection_refused_is_retried_then_named():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = run_tap(config_for(f"http://127.0.0.1:{port}", max_retries=1))
    assert run.returncode == 1
    assert len(retry_lines(run)) == 1
    assert run.stderr.rstrip().endswith(
        f"model_logs: giving up after 2 tries; last fault: connection refused by 127.0.0.1:{port}"
    )


def test_a_host_that_does_not_resolve_is_named_apart():
    """DNS, refused, TLS and timeout were all "connection failed (reset or refused)"."""
    run = run_tap(config_for("https://no-such-host.invalid", max_retries=0))
    assert run.returncode == 1
    assert run.stderr.rstrip().endswith(
        "model_logs: giving up after 1 try; last fault: cannot resolve host no-such-host.invalid (DNS)"
    )
    assert TEST_TOKEN not in run.stderr
