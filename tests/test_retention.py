"""Kondado keeps pipeline logs 90 days: a run that starts later than that after the last
log it emitted warns, once, that logs may have been purged unread.

The createdAt of the bookmarked record is kept next to the bookmark for that purpose.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

import pytest

from tap_kondado.simulator import Simulator
from tests.in_process import EMPTY_PAGE, InProcessRun, sync_in_process
from tests.tap_runner import TEST_KEY, TEST_TOKENS, bookmark

NOW = datetime.datetime.now(datetime.timezone.utc)


def stamp(age: datetime.timedelta, *, offset_hours: int = 0, millis: bool = True) -> str:
    """An ISO-8601 createdAt `age` ago, as Kondado writes it (or in another offset / precision)."""
    moment = (NOW - age).astimezone(datetime.timezone(datetime.timedelta(hours=offset_hours)))
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{moment.microsecond // 1000:03d}" if millis else "")
    return text + ("Z" if offset_hours == 0 else moment.strftime("%z")[:3] + ":" + moment.strftime("%z")[3:])


def state_for(stream: str, last_created_at: Any, bookmark_id: int = 100, client_ids: tuple[int, ...] = ()) -> dict:
    entry = {"replication_key": "id", "replication_key_value": bookmark_id, "last_created_at": last_created_at}
    if client_ids:
        return {"bookmarks": {stream: {"partitions": [{"context": {"client_id": c}, **entry} for c in client_ids]}}}
    return {"bookmarks": {stream: entry}}


def idle(path: str, params: dict[str, str]) -> tuple[int, dict]:
    """An API with nothing new."""
    return 200, EMPTY_PAGE


def purge_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "purged" in r.getMessage()]


def run_with(caplog: pytest.LogCaptureFixture, state: dict, **config: Any) -> InProcessRun:
    with caplog.at_level(logging.WARNING):
        run = sync_in_process(idle, state, **config)
    assert run.error is None
    return run


@pytest.mark.parametrize(
    ("created", "days"),
    [
        (stamp(datetime.timedelta(days=90, hours=1)), 90),
        (stamp(datetime.timedelta(days=400)), 400),
        (stamp(datetime.timedelta(days=91), millis=False), 91),
        (stamp(datetime.timedelta(days=91), offset_hours=-3), 91),
        ((NOW - datetime.timedelta(days=95)).strftime("%Y-%m-%dT%H:%M:%S"), 95),  # no zone: read as UTC
    ],
    ids=["90-days-1-hour", "400-days", "91-days-no-millis", "91-days-at-minus-3", "95-days-no-zone"],  # not the time
)
def test_a_run_more_than_90_days_after_the_last_log_warns_once(caplog, created, days):
    run_with(caplog, state_for("pipeline_logs", created))
    assert purge_warnings(caplog) == [
        f"pipeline_logs: the last log emitted was created {created}, {days} days ago; Kondado keeps "
        "these logs 90 days, so logs written since may have been purged unread"
    ]


@pytest.mark.parametrize(
    "created",
    [
        stamp(datetime.timedelta(days=89, hours=23)),
        stamp(datetime.timedelta(days=1)),
        stamp(-datetime.timedelta(days=1)),  # a clock ahead of ours
        None,
        "",
        "not a date",
    ],
    ids=["89-days-23-hours", "1-day", "1-day-ahead", "null", "empty", "not-a-date"],  # the same in every worker
)
def test_no_warning_within_90_days_or_without_a_usable_date(caplog, created):
    run_with(caplog, state_for("pipeline_logs", created))
    assert purge_warnings(caplog) == []


def test_model_logs_have_no_documented_retention(caplog):
    run_with(caplog, state_for("model_logs", stamp(datetime.timedelta(days=400))))
    assert purge_warnings(caplog) == []


def test_each_stale_partition_warns_once_naming_itself(caplog):
    old, recent = stamp(datetime.timedelta(days=120)), stamp(datetime.timedelta(days=3))
    state = state_for("pipeline_logs", old, client_ids=(1, 2))
    state["bookmarks"]["pipeline_logs"]["partitions"].append(
        {"context": {"client_id": 3}, "replication_key": "id", "replication_key_value": 100, "last_created_at": recent}
    )
    run_with(caplog, state, client_ids=[1, 2, 3])
    assert purge_warnings(caplog) == [
        f"pipeline_logs {{'client_id': {c}}}: the last log emitted was created {old}, 120 days ago; Kondado keeps "
        "these logs 90 days, so logs written since may have been purged unread"
        for c in (1, 2)
    ]


def test_a_run_that_finds_nothing_new_keeps_the_date(caplog):
    created = stamp(datetime.timedelta(days=100))
    run = run_with(caplog, state_for("pipeline_logs", created))
    assert run.final_state["bookmarks"]["pipeline_logs"]["last_created_at"] == created
    assert bookmark(run.final_state, "pipeline_logs") == 100


@pytest.mark.parametrize("client_ids", [None, [1, 3]])
def test_every_state_keeps_the_created_at_of_its_bookmark(caplog, client_ids):
    """Not only the last STATE: any of them may be the one a killed run leaves behind."""
    sim = Simulator(pipeline_logs=400, model_logs=200, tokens=TEST_TOKENS)  # answers in process, never started
    try:

        def answer(path: str, params: dict[str, str]) -> tuple[int, dict]:
            _, status, body = sim.answer(path, {k: [v] for k, v in params.items()}, "127.0.0.1")
            return status, body

        run = sync_in_process(answer, None, **({"client_ids": client_ids} if client_ids else {}))
    finally:
        sim._server.server_close()
    assert run.error is None
    created = {(stream, r["id"]): r["createdAt"] for stream, records in sim.records.items() for r in records}
    checked = 0
    for state in run.states:
        for stream, entry in state.get("bookmarks", {}).items():
            for scroll in entry.get("partitions", [entry]):
                if scroll.get("replication_key_value") is not None:
                    assert scroll["last_created_at"] == created[stream, scroll["replication_key_value"]]
                    checked += 1
    assert checked >= len(run.states)  # every STATE carried at least one bookmark to check
    for stream in ("pipeline_logs", "model_logs"):
        for client_id in client_ids or [None]:
            assert bookmark(run.final_state, stream, client_id) == sim.visible(stream, TEST_KEY, client_id)[-1]["id"]
