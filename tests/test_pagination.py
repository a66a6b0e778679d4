"""ScrollPaginator: exactly-once under both readings of start_element_id."""

from __future__ import annotations

import pytest

from tap_kondado.errors import ScrollError
from tap_kondado.logs.pagination import ScrollPaginator
from tap_kondado.transport.envelope import Page


def _records(*ids: int) -> list[dict]:
    return [{"id": i} for i in ids]


def _take(paginator: ScrollPaginator, ids: tuple[int, ...], next_id: int | None) -> list[int]:
    """Feed one page, return the ids let through, and advance like the SDK's loop does."""
    new = [r["id"] for r in paginator.new_records(Page(_records(*ids), next_id))]
    if new:  # the SDK stops before advance() when a page yields nothing
        paginator.advance(None)
    return new


def test_first_request_starts_from_the_floor_and_never_below_zero():
    assert ScrollPaginator("s", after_id=41).current_value == 41
    assert ScrollPaginator("s", after_id=-1).current_value == 0


def test_exclusive_reading_three_pages_then_the_end_emit_each_id_once():
    paginator = ScrollPaginator("s", after_id=10)
    assert _take(paginator, (11, 12, 13), 13) == [11, 12, 13]
    assert paginator.current_value == 13  # no echo seen: last + 1 could skip a log
    assert _take(paginator, (20, 21), 21) == [20, 21]
    assert paginator.current_value == 21
    assert _take(paginator, (), None) == []
    assert paginator.last_id == 21


def test_inclusive_reading_asks_for_last_plus_one_once_the_echo_is_seen():
    """Each page then brings only new logs (50 of 50, not 49)."""
    paginator = ScrollPaginator("s", after_id=10)
    assert _take(paginator, (10, 11, 12, 13), 13) == [11, 12, 13]
    assert paginator.current_value == 14
    assert _take(paginator, (20, 21), 21) == [20, 21]  # no echo: all of the page is new
    assert paginator.current_value == 22
    assert _take(paginator, (), None) == []  # the SDK ends the scroll on an empty page
    assert paginator.last_id == 21


def test_inclusive_reading_ends_on_the_endless_last_answer_at_last_plus_one():
    """Asked for last + 1, an API may still answer "[last], next = last": the end, no loop, no error."""
    paginator = ScrollPaginator("s", after_id=10)
    _take(paginator, (10, 11, 12), 12)
    assert paginator.current_value == 13
    assert list(paginator.new_records(Page(_records(12), 12))) == []
    paginator.advance(None)
    assert paginator.finished


def test_a_short_page_with_a_cursor_does_not_end_the_scroll():
    paginator = ScrollPaginator("s", after_id=0)
    _take(paginator, (1, 2), 2)
    assert not paginator.finished
    assert paginator.current_value == 2


def test_null_cursor_ends_after_the_page_is_emitted():
    paginator = ScrollPaginator("s", after_id=0)
    assert _take(paginator, (1, 2, 3), None) == [1, 2, 3]
    assert paginator.finished


def test_cursor_behind_what_was_emitted_is_raised_to_the_last_id():
    paginator = ScrollPaginator("s", after_id=0)
    _take(paginator, (5, 6, 7), 6)
    assert paginator.current_value == 7


def test_cursor_lower_than_the_current_start_is_refused():
    paginator = ScrollPaginator("pipeline_logs", after_id=100)
    list(paginator.new_records(Page(_records(101), 99)))
    with pytest.raises(ScrollError, match=r"pipeline_logs: next_start_element_id 99 is lower than .* 100"):
        paginator.advance(None)


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ((11, 10), r"model_logs: the API returned id 10 after id 11"),
        ((11, 11), r"model_logs: the API returned id 11 after id 11"),
        ((9,), r"model_logs: the API returned id 9 after id 10"),
    ],
)
def test_ids_that_do_not_ascend_are_an_error_naming_stream_and_ids(ids, message):
    paginator = ScrollPaginator("model_logs", after_id=10)
    with pytest.raises(ScrollError, match=message):
        list(paginator.new_records(Page(_records(*ids), None)))


@pytest.mark.parametrize(
    ("record", "words"),
    [({}, "no id"), ({"id": "12"}, "a non-integer id '12'"), ({"id": True}, "a non-integer id True")],
)
def test_a_record_without_an_integer_id_is_an_error(record, words):
    paginator = ScrollPaginator("model_logs", after_id=10)
    with pytest.raises(ScrollError, match=f"model_logs: a record after id 10 has {words}"):
        list(paginator.new_records(Page([record], None)))


def test_nothing_of_a_page_in_error_is_let_through():
    """The whole page is checked first: the bookmark stays where the last page left it."""
    paginator = ScrollPaginator("s", after_id=0)
    emitted = []
    with pytest.raises(ScrollError, match="returned id 1 after id 2"):
        emitted.extend(r["id"] for r in paginator.new_records(Page(_records(1, 2, 1), None)))
    assert emitted == []
    assert paginator.last_id == 0


@pytest.mark.parametrize("inclusive", [True, False])
def test_a_page_out_of_order_is_emitted_sorted_and_loses_nothing(inclusive):
    """Page [1, 3, 2] then [4]: emitting 1, 3 then failing on 2 lost 2 for good."""
    paginator = ScrollPaginator("s", after_id=0)
    assert _take(paginator, (1, 3, 2), 3) == [1, 2, 3]
    echo = (3,) if inclusive else ()
    assert _take(paginator, (*echo, 4), None) == [4]


@pytest.mark.parametrize("ids", [(12, 14, 13, 14), (12, 9, 13), (12, 14, 10)])
def test_a_page_out_of_order_with_an_old_or_twice_seen_id_emits_nothing(ids):
    paginator = ScrollPaginator("s", after_id=10)
    emitted = []
    with pytest.raises(ScrollError):
        emitted.extend(r["id"] for r in paginator.new_records(Page(_records(*ids), None)))
    assert emitted == []
    assert paginator.last_id == 10
