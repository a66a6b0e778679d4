"""The id memory (status_memory.IdMemory) and the reading of a status answer (envelope.parse_status)."""

from __future__ import annotations

import datetime
import json

import pytest
import requests

from tap_kondado.errors import KondadoAPIError, RateLimitedError
from tap_kondado.status import memory as status_memory
from tap_kondado.status.memory import IdMemory
from tap_kondado.times import sortable_time
from tap_kondado.transport.envelope import NO_STATUS_CODE, UNEXPECTED_ANSWER_CODE, parse_status

NOW = datetime.datetime(2026, 6, 30, 12, tzinfo=datetime.timezone.utc)


def _ago(days: float) -> str:
    return str(sortable_time(NOW - datetime.timedelta(days=days)))


def _log(pipeline_id: object, days_ago: float, name: str = "p", client_id: int = 1) -> dict:
    return {"pipeline_id": pipeline_id, "pipeline_name": name, "client_id": client_id, "createdAt": _ago(days_ago)}


def _memory(state: dict, days: float = 30) -> IdMemory:
    return IdMemory(lambda: state, "pipeline_id", "pipeline_name", days, now=NOW)


def test_each_id_keeps_its_newest_log_and_no_state_entry_before_the_first():
    state: dict = {}
    memory = _memory(state)
    memory.saw(_log(7, 40))  # already older than status_days: not remembered
    memory.saw({"pipeline_id": None, "createdAt": _ago(1)})
    memory.saw({"pipeline_id": "x", "createdAt": _ago(1)})
    assert state == {}
    memory.saw(_log(7, 3, "old name"))
    memory.saw(_log(7, 1, "new name", client_id=2))
    memory.saw(_log(7, 2, "a re-read older log"))
    assert state == {"ids": {"7": {"client_id": 2, "name": "new name", "newest_log_at": _ago(1)}}}


def test_ids_too_old_drop_out_and_the_count_is_capped(monkeypatch):
    state = {"ids": {"1": {"newest_log_at": _ago(31)}, "2": {"newest_log_at": _ago(29)}, "3": "not an entry"}}
    memory = _memory(state)
    assert [i for i, _ in memory.current()] == [2]
    memory.saw(_log(4, 1))  # a new id: the stale ones go
    assert sorted(state["ids"]) == ["2", "4"]
    monkeypatch.setattr(status_memory, "MAX_IDS", 3)
    for pipeline_id in range(10, 15):
        memory.saw(_log(pipeline_id, 20 - pipeline_id))  # 10 is the oldest, 14 the newest
    assert sorted(state["ids"], key=int) == ["4", "13", "14"]


def test_a_newest_log_in_the_future_counts_as_now_and_the_next_log_replaces_it():
    future = "2099-01-01T00:00:00.000Z"
    state = {"ids": {"7": {"client_id": 1, "name": "old name", "newest_log_at": future}}}
    memory = _memory(state)
    assert memory.current()[0][1]["newest_log_at"] == _ago(0)  # not fresh for ever
    memory.saw(_log(7, 1, "new name"))  # older than "now", newer than whatever wrote 2099
    assert state["ids"]["7"] == {"client_id": 1, "name": "new name", "newest_log_at": _ago(1)}
    memory.saw(_log(7, 2, "a re-read older log"))
    assert state["ids"]["7"]["name"] == "new name"

    memory.saw({**_log(8, 0, "from a wrong clock"), "createdAt": future})
    assert state["ids"]["8"]["newest_log_at"] == _ago(0)
    month_later = NOW + datetime.timedelta(days=31)  # no log since: they drop out like any other
    assert IdMemory(lambda: state, "pipeline_id", "pipeline_name", 30, now=month_later).current() == []


def test_what_json_made_of_the_memory_reads_back():
    state: dict = {}
    memory = _memory(state)
    memory.saw(_log(702, 2))
    reloaded = json.loads(json.dumps(state))
    assert [i for i, _ in _memory(reloaded).current()] == [702]


def _answer(body: object, status: int = 200) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    return response


ENTRY = {"status": "active", "is_running": False, "is_active": True, "is_blocked": False, "raw_msg": None}


@pytest.mark.parametrize(
    "body",
    [
        {"702": ENTRY},
        {"success": True, "data": {"702": ENTRY}},
        {"success": True, "data": {"success": True, "data": {"702": ENTRY}}},
    ],
    ids=["bare", "wrapped", "wrapped twice"],
)
def test_a_status_is_read_from_either_shape(body):
    assert parse_status(_answer(body), 702) == ENTRY


def test_an_error_answer_is_the_error_it_stands_for():
    with pytest.raises(KondadoAPIError, match="NOT_FOUND") as caught:
        parse_status(_answer({"success": False, "error": "NOT_FOUND", "message": "Pipeline 9 not found."}), 9)
    assert caught.value.code == "NOT_FOUND"
    with pytest.raises(KondadoAPIError) as caught:
        parse_status(_answer({"success": True, "data": {"703": ENTRY}}), 702)
    assert caught.value.code == NO_STATUS_CODE
    with pytest.raises(RateLimitedError):
        parse_status(_answer({"success": False, "error": "RATE_LIMIT_EXCEEDED", "message": "in 60 seconds"}), 1)
    with pytest.raises(KondadoAPIError) as caught:
        parse_status(_answer([ENTRY]), 1)
    assert caught.value.code == UNEXPECTED_ANSWER_CODE  # about that id: skipped, the stream goes on
    with pytest.raises(KondadoAPIError) as caught:
        parse_status(_answer(None, status=401), 1)
    assert caught.value.code == "UNAUTHORIZED"  # about the key: stops the stream
