"""Hostile and odd answers, table by table, each with its exact outcome.

An outcome is one of: retried (and then the sync completes), a clear error (naming
the problem; the records before it emitted and the bookmark at the last of them), or
the records as emitted. The tap's real streams run in process (see
test_scroll_property.sync_in_process); one case goes through the command line.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tap_kondado.errors import KondadoAPIError, ScrollError
from tests.in_process import EMPTY_PAGE, InProcessRun, ModelAPI, sync_in_process
from tests.responses import page_body
from tests.tap_runner import bookmark, config_for, run_tap

# pipeline_logs 1001..1120 in pages of 50: requests start at 0, 1050, 1099 (inclusive reading).
IDS = list(range(1001, 1121))
PAGE_1 = IDS[:50]

Hostile = Callable[[int, dict], tuple[int, Any]]  # the normal (status, body) of request 2 -> the answer


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    """Backoff waits are not what these tests are about."""
    monkeypatch.setattr("time.sleep", lambda _seconds: None)


def second_page_is(hostile: Hostile, **config: Any) -> InProcessRun:
    """Sync with pipeline_logs' second answer (only the first time it is asked for) replaced."""
    api = ModelAPI(list(IDS), page_size=50, inclusive=True, end_on_empty=False, cursor_lag=0, appends={})
    served = {"n": 0}

    def answer(path: str, params: dict[str, str]) -> tuple[int, Any]:
        if path != "/pipeline_logs":
            return 200, EMPTY_PAGE
        served["n"] += 1
        status, body = api(path, params)
        return hostile(status, copy.deepcopy(body)) if served["n"] == 2 else (status, body)

    return sync_in_process(answer, max_retries=2, **config)


def starts(run: InProcessRun) -> list[int]:
    return [int(params["start_element_id"]) for path, params in run.requests if path == "/pipeline_logs"]


# --- answer builders -----------------------------------------------------------------


def raw(data: bytes) -> Hostile:
    return lambda _status, _body: (200, data)


def body_is(value: Any) -> Hostile:
    return lambda _status, _body: (200, json.dumps(value).encode())


def edited(edit: Callable[[dict], object]) -> Hostile:
    """The normal body, changed in place by `edit`."""

    def hostile(_status: int, body: dict) -> tuple[int, bytes]:
        edit(body)
        return 200, json.dumps(body).encode()

    return hostile


def cursor(value: Any) -> Hostile:
    return edited(lambda body: body["data"]["pagination"].__setitem__("next_start_element_id", value))


def cursor_text(text: str) -> Hostile:
    """A cursor as raw JSON text (for a float literal)."""
    return lambda _status, body: (200, json.dumps(body).replace('"next_start_element_id": 1099', text).encode())


def records(*items: Any) -> Hostile:
    return edited(lambda body: body["data"].__setitem__("data", list(items)))


RETRIED = "retried"
ACCEPTED = "accepted"


def fatal(message: str, then: tuple[int, ...] = ()) -> tuple[str, list[int]]:
    """A fatal error; `then`: the ids page 2 got out before it (all emitted, the last bookmarked)."""
    return message, [*PAGE_1, *then]


SHAPE = "unexpected response: "


def bad_cursor(shown: str) -> tuple[str, list[int]]:
    return fatal(f"{SHAPE}next_start_element_id is {shown}, expected an id or null")


BODY_CASES = [
    # Not JSON at all: a proxy, a cut connection. Transient: retried.
    pytest.param(raw(b""), RETRIED, id="empty-body"),
    pytest.param(raw(b"<html><body>502 Bad Gateway</body></html>"), RETRIED, id="html-page"),
    pytest.param(raw(b'{"success": true, "data": {"success": tr'), RETRIED, id="truncated-json"),
    pytest.param(raw(b"\xff\xfe\x00garbage"), RETRIED, id="not-utf8"),
    # JSON of the wrong shape: the API changed, retrying will not help. Fatal, naming the problem.
    pytest.param(body_is(None), fatal(SHAPE + "top level is null or missing, expected an object"), id="null"),
    pytest.param(body_is([page_body([], None)]), fatal(SHAPE + "top level is a list, expected an object"), id="list"),
    pytest.param(body_is("ok"), fatal(SHAPE + "top level is a string, expected an object"), id="string"),
    pytest.param(
        body_is({"success": True}), fatal(SHAPE + "'data' is null or missing, expected an object"), id="no-data"
    ),
    pytest.param(
        body_is({"success": True, "data": [{"id": 1}]}),
        fatal(SHAPE + "'data' is a list, expected an object"),
        id="data-a-list",
    ),
    pytest.param(
        edited(lambda b: b["data"].__setitem__("data", {"id": 1050})),
        fatal(SHAPE + "'data.data' is an object, expected a list"),
        id="data.data-an-object",
    ),
    pytest.param(
        edited(lambda b: b["data"].__setitem__("data", None)),
        fatal(SHAPE + "'data.data' is null or missing, expected a list"),
        id="data.data-null",
    ),
    pytest.param(
        edited(lambda b: b["data"].pop("pagination")),
        fatal(SHAPE + "'data.pagination.next_start_element_id' is missing"),
        id="no-pagination",
    ),
    pytest.param(
        edited(lambda b: b["data"]["pagination"].pop("next_start_element_id")),
        fatal(SHAPE + "'data.pagination.next_start_element_id' is missing"),
        id="no-cursor",
    ),
    # Nested past what any JSON reader follows: one line, not a RecursionError; the same document again.
    pytest.param(
        raw(b"[" * 100_000 + b"]" * 100_000),
        fatal("HTTP 200 with a JSON body nested too deeply to read (200,000 bytes)"),
        id="nested-100000-lists",
    ),
    pytest.param(
        raw(b'{"data":' * 100_000 + b"null" + b"}" * 100_000),
        fatal("HTTP 200 with a JSON body nested too deeply to read (900,004 bytes)"),
        id="nested-100000-objects",
    ),
    # The cursor.
    pytest.param(cursor("1099"), ACCEPTED, id="cursor-digit-string"),
    pytest.param(cursor(" 1099 "), ACCEPTED, id="cursor-digit-string-spaces"),
    pytest.param(cursor("abc"), bad_cursor("'abc'"), id="cursor-abc"),
    pytest.param(cursor(-1), bad_cursor("-1"), id="cursor-negative"),
    pytest.param(cursor("-1"), bad_cursor("'-1'"), id="cursor-'-1'"),
    pytest.param(cursor("²"), bad_cursor("'²'"), id="cursor-'²'"),
    pytest.param(cursor("١٠٩٩"), bad_cursor("'١٠٩٩'"), id="cursor-arabic"),
    pytest.param(cursor(True), bad_cursor("True"), id="cursor-true"),
    pytest.param(
        cursor_text('"next_start_element_id": 1099.0'),
        bad_cursor("1099.0"),
        id="cursor-float",
    ),
    pytest.param(
        cursor(1040),
        fatal(
            "pipeline_logs: next_start_element_id 1040 is lower than the current start_element_id 1050; "
            "refusing to scroll backwards",
            then=tuple(IDS[50:99]),  # the page itself was fine, and is kept
        ),
        id="cursor-below-current-start",
    ),
    pytest.param(cursor(1070), ACCEPTED, id="cursor-between-start-and-last-emitted"),
    pytest.param(cursor(1050), ACCEPTED, id="cursor-equal-to-current-start"),
    # Records whose id cannot be trusted: the scroll stops before the page.
    pytest.param(
        records({"id": 1051}, {"id": 1052}, {"client_id": 1}),
        fatal("pipeline_logs: a record after id 1052 has no id"),
        id="id-missing",
    ),
    pytest.param(
        records({"id": 1051}, {"id": None}),
        fatal("pipeline_logs: a record after id 1051 has no id"),
        id="id-null",
    ),
    pytest.param(
        records({"id": "1051"}),
        fatal("pipeline_logs: a record after id 1050 has a non-integer id '1051'"),
        id="id-a-string",
    ),
    pytest.param(
        records({"id": 1051}, {"id": 1051.5}),
        fatal("pipeline_logs: a record after id 1051 has a non-integer id 1051.5"),
        id="id-a-fraction",
    ),
    pytest.param(
        records({"id": True}),
        fatal("pipeline_logs: a record after id 1050 has a non-integer id True"),
        id="id-a-boolean",
    ),
    pytest.param(
        records({"id": 1051}, {"id": 2**64}),
        fatal("pipeline_logs: a record after id 1051 has id 18446744073709551616, past a 64-bit integer"),
        id="id-past-64-bits",
    ),
    pytest.param(
        records({"id": 1051}, "1052"),
        fatal("pipeline_logs: a record after id 1051 is str, not an object"),
        id="record-a-string",
    ),
    pytest.param(
        records({"id": 1050}, {"id": 1051}, {"id": 1055}, {"id": 1051}),
        fatal("pipeline_logs: the API returned id 1051 after id 1055; ids must ascend (scroll started at 1050)"),
        id="id-twice-out-of-order",
    ),
    pytest.param(
        records({"id": 1051}, {"id": 1051}),
        fatal("pipeline_logs: the API returned id 1051 after id 1051; ids must ascend (scroll started at 1050)"),
        id="id-repeated-mid-page",
    ),
    pytest.param(
        records({"id": 1049}, {"id": 1051}),
        fatal("pipeline_logs: the API returned id 1049 after id 1050; ids must ascend (scroll started at 1050)"),
        id="id-below-the-start",
    ),
]


@pytest.mark.parametrize(("hostile", "outcome"), BODY_CASES)
def test_hostile_second_page(hostile, outcome):
    run = second_page_is(hostile)
    if outcome in (RETRIED, ACCEPTED):
        assert run.error is None, run.error
        assert run.ids("pipeline_logs") == IDS
        assert bookmark(run.final_state, "pipeline_logs") == IDS[-1]
        # page 2 echoes its start (1050): from then on the scroll asks for last + 1
        assert starts(run) == ([0, 1050, 1050, 1100] if outcome == RETRIED else [0, 1050, 1100])
        return
    message, emitted = outcome
    assert isinstance(run.error, KondadoAPIError)
    assert str(run.error) == message
    assert run.ids("pipeline_logs") == emitted
    assert bookmark(run.final_state, "pipeline_logs") == emitted[-1]  # the last good record
    assert starts(run) == [0, 1050]  # not retried


def test_id_errors_are_scroll_errors():
    run = second_page_is(records({"id": 1051}, {"id": 1049}))
    assert isinstance(run.error, ScrollError)


def test_a_page_filtered_to_nothing_does_not_end_the_scroll():
    """An empty page whose cursor moves on (other accounts' logs, filtered out after the cut)."""
    run = second_page_is(records())
    assert run.error is None
    assert run.ids("pipeline_logs") == [*PAGE_1, *IDS[98:]]
    assert starts(run) == [0, 1050, 1099]


def test_the_command_line_reports_a_bad_id_in_one_line_and_keeps_the_last_good_bookmark(make_sim):
    sim = make_sim(pipeline_logs=0, model_logs=0)
    good = [{"id": 1051, "client_id": 1}, {"id": 1052, "client_id": 1}]
    sim.schedule(
        {
            1: {"kind": "body", "body": json.dumps(page_body(good, 1052))},
            2: {"kind": "body", "body": json.dumps(page_body([good[-1], {"id": 1053}, {"id": "x"}], 1054))},
        }
    )
    run = run_tap(config_for(sim.url))
    assert run.returncode == 1
    errors = [line.split(" | ", 3)[-1] for line in run.stderr.splitlines() if "| ERROR " in line]
    assert errors[-1] == "model_logs: a record after id 1053 has a non-integer id 'x'"
    assert "Traceback" not in run.stderr
    assert run.ids("model_logs") == [1051, 1052]
    assert bookmark(run.final_state, "model_logs") == 1052


def test_the_command_line_reports_a_page_nested_100000_levels_in_one_line(make_sim):
    sim = make_sim(pipeline_logs=0, model_logs=0)
    sim.schedule({1: {"kind": "body", "body": "[" * 100_000 + "]" * 100_000}})
    run = run_tap(config_for(sim.url))
    assert run.returncode == 1
    errors = [line.split(" | ", 3)[-1] for line in run.stderr.splitlines() if "| ERROR " in line]
    assert errors == ["HTTP 200 with a JSON body nested too deeply to read (200,000 bytes)"]
    assert "Traceback" not in run.stderr
    assert "RecursionError" not in run.stderr


def test_a_value_nested_as_deep_as_the_reader_goes_is_one_short_warning(caplog):
    """Deep enough to parse, shown nested a few levels only: a full repr could overflow the stack."""
    nested = "[" * 900 + "]" * 900
    body = json.dumps(page_body([{"id": 1001, "client_id": 1, "pipeline_name": "@"}], None))
    body = body.replace('"@"', nested).encode()
    with caplog.at_level(logging.WARNING):
        run = sync_in_process(lambda path, _params: (200, body) if path == "/pipeline_logs" else (200, EMPTY_PAGE))
    assert run.error is None
    assert [r["pipeline_name"] for r in run.records("pipeline_logs")] == [None]
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "pipeline_name=[[[" in warning
    assert len(warning) < 200


# --- record values ---------------------------------------------------------------------

# (field, value sent, value emitted). Each row becomes one pipeline log with that one field.
VALUE_CASES = [
    ("row_count", "256", 256),
    ("row_count", " 256 ", 256),
    ("row_count", "\t1e3\n", 1000),
    ("row_count", "1.5E+2", 150),
    ("row_count", "", None),
    ("row_count", "NaN", None),  # warned (first bad row_count)
    ("row_count", "12.5", None),
    ("row_count", True, None),
    ("row_count", 2**63 - 1, 2**63 - 1),  # the largest a bigint column holds
    ("row_count", 2**64, None),  # no target column holds it: target-postgres would fail the batch
    ("row_count", -(2**63) - 1, None),
    ("raw_row_count", "123456789012345678901234567890", None),  # warned
    ("raw_row_count", 2**70, None),
    ("raw_row_count", "-7", -7),
    ("raw_row_count", "1e5000", None),  # a 5001-digit count is no count
    ("raw_row_count", "1_000", None),
    ("raw_row_count", "١٢", None),
    ("pipeline_id", "702", 702),
    ("pipeline_id", "seven", None),  # warned
    ("client_id", 1, 1),
    ("execution_time_seconds", "0.486988", Decimal("0.486988")),
    ("execution_time_seconds", " 0.486988 ", Decimal("0.486988")),
    ("execution_time_seconds", "1E-7", Decimal("1E-7")),
    ("execution_time_seconds", "2.50", Decimal("2.50")),
    ("execution_time_seconds", 0.201923, Decimal("0.201923")),  # a JSON number, read exactly
    ("execution_time_seconds", "", None),
    ("execution_time_seconds", "NaN", None),  # warned
    ("execution_time_seconds", "Infinity", None),
    ("execution_time_seconds", float("nan"), None),  # a bare NaN literal, which Python's JSON reads
    ("mb_estimate", "0x1A", None),  # warned
    ("mb_estimate", "1e999999999", None),
    ("mb_estimate", "-0.5", Decimal("-0.5")),
    ("pipeline_name", "Kondado - Blog", "Kondado - Blog"),
    ("pipeline_name", "", ""),
    ("pipeline_name", 2024, "2024"),  # a name that looks like a number, sent as one
    ("pipeline_name", {"pt": "Blog"}, None),  # warned
    ("initial_savepoint", 1600000000, "1600000000"),
    ("has_deltas", False, False),
    ("has_deltas", "true", True),
    ("has_deltas", " False ", False),
    ("has_deltas", "yes", None),  # warned
    ("is_billable", 1, None),  # warned
    ("createdAt", "2020-09-17T00:03:48.108Z", "2020-09-17T00:03:48.108Z"),
    ("createdAt", "2020-09-17T00:03:48Z", "2020-09-17T00:03:48Z"),  # no milliseconds
    ("createdAt", "2020-09-16T21:03:48.108-03:00", "2020-09-16T21:03:48.108-03:00"),  # an offset
    ("createdAt", "", None),
    ("updatedAt", 1600300000, None),  # warned
]
# One warning per stream and field per run, naming the first bad value.
VALUE_WARNINGS = {
    "row_count": "'NaN', not a 64-bit integer",
    "raw_row_count": "'123456789012345678901234567890', not a 64-bit integer",
    "pipeline_id": "'seven', not a 64-bit integer",
    "execution_time_seconds": "'NaN', not a number",
    "mb_estimate": "'0x1A', not a number",
    "pipeline_name": "{'pt': 'Blog'}, not a string",
    "has_deltas": "'yes', not a boolean",
    "is_billable": "1, not a boolean",
    "updatedAt": "1600300000, not a date-time string",
}


def one_page(*pipeline: dict, model: tuple[dict, ...] = ()) -> Callable[[str, dict[str, str]], tuple[int, bytes]]:
    """Each stream answers one page (a float nan becomes the bare NaN literal)."""

    def answer(path: str, params: dict[str, str]) -> tuple[int, bytes]:
        items = list(pipeline if path == "/pipeline_logs" else model) if params["start_element_id"] == "0" else []
        return 200, json.dumps(page_body(items, None)).encode()

    return answer


def decimal_records(run: InProcessRun, stream: str) -> list[dict]:
    """Records as emitted, numbers read exactly."""
    lines = (json.loads(line, parse_float=Decimal) for line in run.stdout.splitlines())
    return [m["record"] for m in lines if m["type"] == "RECORD" and m["stream"] == stream]


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_record_values_come_out_as_their_schema_type(caplog):
    rows = [{"id": 1 + n, field: value} for n, (field, value, _) in enumerate(VALUE_CASES)]
    with caplog.at_level(logging.WARNING):
        run = sync_in_process(one_page(*rows))
    assert run.error is None, run.error
    emitted = decimal_records(run, "pipeline_logs")
    assert [r["id"] for r in emitted] == [r["id"] for r in rows]
    for (field, sent, expected), record in zip(VALUE_CASES, emitted, strict=True):
        assert record == {"id": record["id"], field: expected}, f"{field}={sent!r}"
        assert type(record[field]) is type(expected), f"{field}={sent!r}"
    first_bad = {
        field: next(1 + n for n, (f, sent, out) in enumerate(VALUE_CASES) if f == field and out is None and sent != "")
        for field in VALUE_WARNINGS
    }
    assert sorted(warnings_of(caplog)) == sorted(
        f"pipeline_logs: id {first_bad[field]} has {field}={shown}; emitted as null"
        for field, shown in VALUE_WARNINGS.items()
    )


def test_the_docs_examples_pass_through_unchanged_but_for_numbers(caplog):
    from tap_kondado.simulator.data import MODEL_EXAMPLE, PIPELINE_EXAMPLE

    with caplog.at_level(logging.WARNING):
        run = sync_in_process(one_page(PIPELINE_EXAMPLE, model=(MODEL_EXAMPLE,)))
    pipeline = decimal_records(run, "pipeline_logs")[0]
    assert pipeline == {
        **PIPELINE_EXAMPLE,
        "execution_time_seconds": Decimal("0.486988"),
        "row_count": 256,
        "raw_row_count": 123,
        "mb_estimate": Decimal("0.00231"),
    }
    assert decimal_records(run, "model_logs") == [{**MODEL_EXAMPLE, "execution_time_seconds": Decimal("0.201923")}]
    assert warnings_of(caplog) == []


def test_null_in_every_nullable_field_is_emitted_as_null(caplog):
    from tap_kondado.streams import ModelLogsStream, PipelineLogsStream

    def all_null(schema: dict, record_id: int) -> dict:
        return {name: record_id if name == "id" else None for name in schema["properties"]}

    pipeline = [all_null(PipelineLogsStream.schema, 7)]
    model = (all_null(ModelLogsStream.schema, 8),)
    with caplog.at_level(logging.WARNING):
        run = sync_in_process(one_page(*pipeline, model=model))
    assert run.error is None
    assert decimal_records(run, "pipeline_logs") == pipeline
    assert decimal_records(run, "model_logs") == list(model)
    assert warnings_of(caplog) == []


def test_unexpected_fields_are_left_out_with_one_warning_per_stream(caplog):
    pipeline = [{"id": 1, "surprise": 1}, {"id": 2, "surprise": 2, "another": "x"}, {"id": 3, "row_count": "4"}]
    model = ({"id": 5, "model_id": 9, "tags": ["a"]}, {"id": 6, "tags": []})
    with caplog.at_level(logging.WARNING):
        run = sync_in_process(one_page(*pipeline, model=model))
    assert decimal_records(run, "pipeline_logs") == [{"id": 1}, {"id": 2}, {"id": 3, "row_count": 4}]
    assert decimal_records(run, "model_logs") == [{"id": 5, "model_id": 9}, {"id": 6}]
    assert sorted(warnings_of(caplog)) == [
        "model_logs: the API sent fields not in the schema, left out: tags",
        "pipeline_logs: the API sent fields not in the schema, left out: surprise",
    ]


def test_a_page_out_of_order_loses_no_log():
    """Page [1, 3, 2] then [4]: 2 was lost when 1 and 3 went out before the check."""
    pages = {0: ([1, 3, 2], 3), 3: ([3, 4], None)}

    def answer(path: str, params: dict[str, str]) -> tuple[int, Any]:
        if path != "/pipeline_logs":
            return 200, EMPTY_PAGE
        ids, next_id = pages[int(params["start_element_id"])]
        return 200, page_body([{"id": i, "client_id": 1} for i in ids], next_id)

    run = sync_in_process(answer)
    assert run.error is None, run.error
    assert run.ids("pipeline_logs") == [1, 2, 3, 4]
    assert bookmark(run.final_state, "pipeline_logs") == 4
