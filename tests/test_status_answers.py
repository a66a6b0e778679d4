"""Status answers of odd shapes, and a status stream that must stop: never the other streams' run.

An answer about one id (an HTTP 404 with an HTML page, `data: null`, a list, a document nested
deeper than any reader follows) skips that id with one warning naming its code. A refused
key or retries used up stop that status stream alone: the log streams still run, and the
tap exits 1 at the end with one line. In process (tests/in_process.py), and once through the
command against the simulator.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import logging
from typing import Any

import pytest

from tap_kondado.errors import KondadoAPIError
from tap_kondado.tap import TapKondado
from tap_kondado.times import sortable_time
from tests.in_process import EMPTY_PAGE, FAKE_URL, FakeTransport, InProcessRun, sync_in_process
from tests.responses import page_body
from tests.tap_runner import TEST_KEY, config_for, run_tap
from tests.test_status import YEAR, memory, run_selected

IDS = (1, 2, 3)
ODD_ID = 2
NESTED = b"[" * 100_000 + b"]" * 100_000
HTML_404 = b"<html><body><h1>404 Not Found</h1></body></html>"


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    """Backoff waits are not what these tests are about."""
    monkeypatch.setattr("time.sleep", lambda _seconds: None)


def remembered(kind: str = "pipeline_status") -> dict[str, Any]:
    """A state remembering IDS, each with a log a minute old."""
    now = sortable_time(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1))
    ids = {str(i): {"client_id": 1, "name": f"Pipeline {i}", "newest_log_at": now} for i in IDS}
    return {"bookmarks": {kind: {"ids": ids}}}


def status_of(object_id: int) -> dict[str, Any]:
    return {str(object_id): {"status": "active", "is_running": False, "is_active": True, "raw_msg": None}}


def pipeline_answers(odd: tuple[int, Any]) -> Any:
    """Every pipeline's status as usual but ODD_ID's, answered `odd`; the log endpoints empty."""

    def answer(path: str, _params: dict[str, str]) -> tuple[int, Any]:
        if path == f"/pipelines/{ODD_ID}/status":
            return odd
        if path.startswith("/pipelines/"):
            return 200, status_of(int(path.split("/")[2]))
        return 200, EMPTY_PAGE

    return answer


def status_ids(run: InProcessRun, stream: str = "pipeline_status") -> list[int]:
    return [r[stream.replace("_status", "_id")] for r in run.records(stream)]


ODD_ANSWERS = [
    pytest.param((200, {"success": True, "data": None}), "UNEXPECTED_ANSWER", id="data-null"),
    pytest.param((200, [status_of(ODD_ID)]), "UNEXPECTED_ANSWER", id="top-level-list"),
    pytest.param((200, {"success": True, "data": [1]}), "UNEXPECTED_ANSWER", id="data-list"),
    pytest.param((404, HTML_404), "HTTP_404", id="bare-404-html"),
    pytest.param((410, b""), "HTTP_410", id="bare-410-empty"),
    pytest.param((200, NESTED), "ANSWER_NESTED_TOO_DEEPLY", id="nested-100000"),
    pytest.param((200, {"success": True, "data": {"other": 1}}), "NO_STATUS_IN_ANSWER", id="other-id"),
]


@pytest.mark.parametrize(("odd", "code"), ODD_ANSWERS)
def test_an_odd_answer_about_one_id_skips_that_id_with_one_warning(odd, code, caplog):
    with caplog.at_level(logging.WARNING):
        run = sync_in_process(pipeline_answers(odd), remembered(), selected=("pipeline_status",))
    assert run.error is None
    assert status_ids(run) == [i for i in IDS if i != ODD_ID]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert f"pipeline_id {ODD_ID} skipped" in warnings[0]
    assert code in warnings[0]
    assert "RecursionError" not in warnings[0]
    assert str(ODD_ID) in memory(run.final_state, "pipeline_status")  # still remembered: asked again next run


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_stops_the_status_stream_and_not_the_log_streams(status, caplog):
    run = sync_in_process(
        pipeline_answers((status, b"")), remembered(), selected=("pipeline_logs", "model_logs", "pipeline_status")
    )
    assert isinstance(run.error, KondadoAPIError)
    assert "pipeline_status" in str(run.error)
    assert "refused the key/token" in str(run.error)
    asked = [path for path, _ in run.requests]
    assert f"/pipelines/{ODD_ID}/status" in asked
    assert f"/pipelines/{IDS[-1]}/status" not in asked  # stopped at the refusal
    assert "/pipeline_logs" in asked
    assert "/model_logs" in asked
    assert status_ids(run) == [1]
    assert any("pipeline_status: stopped" in r.getMessage() for r in caplog.records)


def test_retries_used_up_on_a_status_stop_it_and_the_later_log_stream_still_runs():
    """The SDK runs model_status before pipeline_logs: a model_status that gives up must not cost it its run."""
    logs = page_body([{"id": 7, "client_id": 1, "pipeline_id": 1, "createdAt": "2026-01-01T00:00:00Z"}], None)

    def answer(path: str, _params: dict[str, str]) -> tuple[int, Any]:
        if path.startswith("/models/"):
            return 503, b"<html>Service Unavailable</html>"
        return 200, logs if path == "/pipeline_logs" else EMPTY_PAGE

    run = sync_in_process(answer, remembered("model_status"), selected=("model_status", "pipeline_logs"), max_retries=1)
    assert isinstance(run.error, KondadoAPIError)
    assert str(run.error).startswith("1 stream(s) stopped early")
    assert "model_status: giving up after 2 tries" in str(run.error)
    assert "model_status: model_status" not in str(run.error)
    assert [path for path, _ in run.requests].count("/models/1/status") == 2
    assert run.ids("pipeline_logs") == [7]


def test_through_the_command_a_stopped_status_stream_ends_the_run_in_one_line(make_sim, tmp_path):
    sim = make_sim(pipeline_logs=60, model_logs=30)
    config = config_for(sim.url, status_days=YEAR, max_retries=0)
    state = run_tap(config).final_state
    seen = {r["id"] for r in sim.visible("pipeline_logs", TEST_KEY)}
    sim.append("pipeline_logs", 5)
    new = [r["id"] for r in sim.visible("pipeline_logs", TEST_KEY) if r["id"] not in seen]
    assert new
    sim.schedule({1: "500"}, relative=True)  # model_status runs first here: its first request
    run = run_selected(config, ("model_status", "pipeline_logs", "pipeline_status"), state, tmp_path)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, errors
    assert "model_status" in errors[0]
    assert "stopped early" in errors[0]
    assert run.ids("pipeline_logs") == new
    assert run.records("pipeline_status")
    assert json.dumps(run.final_state)  # a STATE still closes the run


def test_the_connection_test_fails_when_a_status_stream_stopped():
    """`--test` runs every stream, the status streams too: one that stopped fails it, as it fails a run."""
    tap = TapKondado(config=config_for(FAKE_URL), state=remembered())
    transport = FakeTransport(pipeline_answers((401, b"")))
    tap.paced_session.mount("http://", transport)
    with contextlib.redirect_stdout(io.TextIOWrapper(io.BytesIO())):
        try:
            with pytest.raises(KondadoAPIError, match="pipeline_status: HTTP 401"):
                tap.run_sync_dry_run()
        finally:
            tap.message_writer.flush()  # what it buffered goes to the redirect, not to the test's stdout at exit
    asked = [path for path, _ in transport.requests]
    assert f"/pipelines/{IDS[0]}/status" in asked
    assert "/pipeline_logs" in asked
