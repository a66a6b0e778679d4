"""The id memory's cost is linear in the ids: no scan per new id, STATE bytes about the logs'.

Counted, not timed: how often an entry is looked at, and the bytes of the STATE messages,
whatever the machine's speed.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from tap_kondado.status import memory as status_memory
from tap_kondado.status.memory import IdMemory
from tap_kondado.times import sortable_time
from tests.in_process import EMPTY_PAGE, sync_in_process
from tests.responses import page_body

NOW = datetime.datetime.now(datetime.timezone.utc)
PAGE = 50


def stamp(seconds_ago: float) -> str:
    return str(sortable_time(NOW - datetime.timedelta(seconds=seconds_ago)))


def distinct_pipelines(count: int, pipelines: int | None = None) -> list[dict[str, Any]]:
    """`count` logs, oldest first, of `pipelines` pipelines (each of its own by default)."""
    return [
        {
            "id": 1000 + n,
            "client_id": 1,
            "pipeline_id": 5000 + n % (pipelines or count),
            "pipeline_name": f"Pipeline {n % (pipelines or count)}",
            "createdAt": stamp(count - n),
        }
        for n in range(count)
    ]


def test_past_max_ids_a_new_id_drops_the_oldest_without_a_scan(monkeypatch):
    monkeypatch.setattr(status_memory, "MAX_IDS", 200)
    looked_at = {"n": 0}
    fresh = IdMemory._fresh

    def counted(self, entry):
        looked_at["n"] += 1
        return fresh(self, entry)

    monkeypatch.setattr(IdMemory, "_fresh", counted)
    state: dict = {}
    memory = IdMemory(lambda: state, "pipeline_id", "pipeline_name", 30)
    logs = distinct_pipelines(2000)
    for log in logs[:1000]:
        memory.saw(log)
    for log in logs[:100]:  # a newer log of some old ids: they are young again
        memory.saw({**log, "createdAt": stamp(0)})
    for log in logs[1000:]:
        memory.saw(log)
    assert looked_at["n"] < 2 * len(logs)  # was one look at every entry per new id: 2,000 x 200
    assert sorted(state["ids"], key=int) == sorted(
        {str(log["pipeline_id"]) for log in logs[:100]} | {str(log["pipeline_id"]) for log in logs[-100:]}, key=int
    )
    assert memory.prune() == 0


def answer_logs(logs: list[dict[str, Any]]) -> Any:
    """pipeline_logs in pages of PAGE (inclusive reading), the rest empty."""

    def answer(path: str, params: dict[str, str]) -> tuple[int, Any]:
        if path != "/pipeline_logs":
            return 200, EMPTY_PAGE
        start = int(params["start_element_id"])
        page = [log for log in logs if log["id"] >= start][:PAGE]
        more = bool(page) and page[-1]["id"] < logs[-1]["id"]
        return 200, page_body(page, page[-1]["id"] if more else None)

    return answer


def states_and_records(stdout: str) -> tuple[list[tuple[int, dict]], list[str]]:
    """Each STATE with how many pipeline_logs records preceded it; the records' lines."""
    states, records = [], []
    for line in stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "STATE":
            states.append((len(records), message["value"]))
        elif message["type"] == "RECORD" and message["stream"] == "pipeline_logs":
            records.append(line)
    return states, records


def test_thousands_of_ids_cost_state_bytes_about_the_logs_and_every_state_holds_them_all():
    logs = distinct_pipelines(2000)
    run = sync_in_process(answer_logs(logs))
    assert run.error is None, run.error
    states, records = states_and_records(run.stdout)
    assert len(records) == len(logs)
    state_bytes = sum(len(json.dumps(value)) for _, value in states)
    record_bytes = sum(map(len, records))
    assert state_bytes < 3 * record_bytes  # was 8 x: every page's STATE repeated every id so far
    for emitted, value in states:  # a run killed after any STATE still remembers every id it vouched for
        remembered = value["bookmarks"].get("pipeline_status", {}).get("ids", {})
        assert {str(log["pipeline_id"]) for log in logs[:emitted]} <= set(remembered)
    assert set(states[-1][1]["bookmarks"]["pipeline_status"]["ids"]) == {str(log["pipeline_id"]) for log in logs}


def test_a_few_ids_still_get_a_state_after_every_page():
    logs = distinct_pipelines(500, pipelines=40)
    run = sync_in_process(answer_logs(logs))
    assert run.error is None, run.error
    states, _ = states_and_records(run.stdout)
    pages = [path for path, _ in run.requests if path == "/pipeline_logs"]
    assert len({emitted for emitted, _ in states if emitted}) == len(pages)  # each page's logs, then a STATE
