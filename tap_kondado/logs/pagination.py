"""The `start_element_id` scroll, exactly-once whichever way the API reads the parameter.

Kondado's pages disagree on whether `start_element_id` is inclusive ("the oldest id
to retrieve") or exclusive ("the 50 records after it"). The paginator therefore
remembers the last id it let through and decides for itself what is new:

- a page's first record equal to that id is the inclusive echo of the start: skipped;
- any other id not above it means the API went backwards: a `ScrollError`;
- the scroll goes on while a page names a next start beyond the current one, even a
  page with nothing new (the docs do not say whether other accounts' logs are filtered
  out before or after a page is cut); so the inclusive API's endless answer
  "[last record], next = last" is the natural end, not the SDK's "loop detected";
- once the echo was seen, the API reads inclusively: the next start is the last id + 1,
  so each page brings 50 new logs, not 49 (never before: under the exclusive reading
  last id + 1 would skip a log).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from singer_sdk.pagination import BaseAPIPaginator
from typing_extensions import override

from tap_kondado.conversion import INT64_MAX
from tap_kondado.errors import ScrollError
from tap_kondado.transport.envelope import Page

if TYPE_CHECKING:
    from collections.abc import Iterator

    import requests


class ScrollPaginator(BaseAPIPaginator[int]):
    """Cursor over `next_start_element_id` that filters what was already emitted."""

    def __init__(
        self, stream_name: str, after_id: int, *, start: int | None = None, first_page: Page | None = None
    ) -> None:
        """Start a scroll that emits only ids above `after_id` (the bookmark, or start - 1).

        `start` is the first request's `start_element_id` (default: `after_id`); with
        `first_page`, that request was already made (by the date seek): its page is the
        scroll's first, taken with `take_first_page` instead of being fetched again.
        """
        super().__init__(start_value=max(after_id, 0) if start is None else start)
        self.stream_name = stream_name
        self.last_id = after_id
        self._page: Page | None = None
        self._inclusive = False  # the API echoed a start element: it reads inclusively
        self.first_page = first_page

    def take_first_page(self) -> Iterator[dict[str, Any]]:
        """The pre-fetched first page's new records; afterwards the scroll stands at the next page."""
        page, self.first_page = self.first_page, None
        if page is None:
            return
        yield from self.new_records(page)
        self.advance(None)  # type: ignore[arg-type]  # the cursor comes from the page, not a response

    def new_records(self, page: Page) -> Iterator[dict[str, Any]]:
        """Yield the records of `page` not emitted yet, in id order; check all before yielding any."""
        self._page = page
        for record in self._checked(page.records):
            self.last_id = record["id"]
            yield record

    def _checked(self, records: list[Any]) -> list[dict[str, Any]]:
        """The page's new records sorted by id, or a ScrollError before any is emitted.

        A page whose ids are unique and all above the last one emitted is sorted (emitting
        [1, 3, 2] as it comes would bookmark 3 and lose 2); any other disorder is an error
        raised while the bookmark still stands where the last page left it.
        """
        ids: list[int] = []
        for record in records:
            ids.append(self._id_of(record, after=ids[-1] if ids else self.last_id))
        skip = 1 if ids and ids[0] == self.last_id else 0  # inclusive reading: the start comes back first
        self._inclusive = self._inclusive or skip == 1
        seen: set[int] = set()
        highest = self.last_id
        for record_id in ids[skip:]:
            if record_id <= self.last_id or record_id in seen:
                msg = (
                    f"{self.stream_name}: the API returned id {record_id} after id {highest}; ids must "
                    f"ascend (scroll started at {self.current_value})"
                )
                raise ScrollError(msg)
            seen.add(record_id)
            highest = max(highest, record_id)
        new = records[skip:]
        if any(a > b for a, b in zip(ids[skip:], ids[skip + 1 :], strict=False)):
            new = sorted(new, key=lambda record: record["id"])
        return new

    @override
    def has_more(self, response: requests.Response) -> bool:
        """Go on while the last page names a next start beyond the current one."""
        next_id = self._page.next_start_element_id if self._page is not None else None
        if next_id is None:
            return False
        if self._inclusive and next_id == self.last_id == self.current_value - 1:
            return False  # asked for last + 1, told "next = last": nothing after it
        if next_id < self.current_value:
            msg = (
                f"{self.stream_name}: next_start_element_id {next_id} is lower than the "
                f"current start_element_id {self.current_value}; refusing to scroll backwards"
            )
            raise ScrollError(msg)
        return max(next_id, self.last_id) > self.current_value

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        """A page with nothing new still counts if it moves the scroll on."""
        return self.has_more(response)

    @override
    def get_next(self, response: requests.Response) -> int:
        """The API's next start, never behind what was already emitted (nor on it, once inclusive)."""
        assert self._page is not None  # has_more() checked it  # noqa: S101
        next_id = self._page.next_start_element_id
        assert next_id is not None  # noqa: S101
        return max(next_id, self.last_id + 1 if self._inclusive else self.last_id)

    def _id_of(self, record: object, after: int) -> int:
        if not isinstance(record, dict):
            msg = f"{self.stream_name}: a record after id {after} is {type(record).__name__}, not an object"
            raise ScrollError(msg)
        record_id = record.get("id")
        if isinstance(record_id, int) and not isinstance(record_id, bool):
            if record_id > INT64_MAX:  # no target's key column holds it: stop before it, not in the target
                msg = f"{self.stream_name}: a record after id {after} has id {record_id}, past a 64-bit integer"
                raise ScrollError(msg)
            return record_id
        shown = str(record_id) if isinstance(record_id, Decimal) else repr(record_id)
        msg = (
            f"{self.stream_name}: a record after id {after} has "
            f"{'no id' if record_id is None else f'a non-integer id {shown}'}"
        )
        raise ScrollError(msg)
