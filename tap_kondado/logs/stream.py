"""`LogStream`: a Kondado log endpoint read by `start_element_id` (the two log streams), on the SDK's hooks.

Each hook hands its partition's work to that partition's `Scroll` (scroll.py) through the scroll's public
methods: `start` (where it begins), `emit` (a page's records out, then a STATE), `admit` (one record's filter
and bookkeeping), `moves_bookmark` and `finish`. The scroll asks the stream for nothing back but the callables
it was built with. Requests and retries are client.py's (`KondadoStream`), a page is read by envelope.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from typing_extensions import override

from tap_kondado.client import KondadoStream
from tap_kondado.logs.pagination import ScrollPaginator
from tap_kondado.logs.progress import Progress, interval_from_env, limiter_windows
from tap_kondado.logs.scroll import Scroll
from tap_kondado.logs.state import normalize_bookmark
from tap_kondado.transport.envelope import Page, parse_page

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import requests
    from singer_sdk.helpers.types import Context

    from tap_kondado.status.memory import IdMemory


class LogStream(KondadoStream):
    """A Kondado log endpoint: scrolled by `start_element_id`, replicated by `id`."""

    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key = "id"
    is_sorted = True  # ids ascend, so the bookmark is resumable mid-stream
    #: Days the API keeps this stream's logs (None: not documented).
    retention_days: ClassVar[int | None] = None
    #: The status stream whose ids this stream's logs name (its state remembers them).
    status_stream: ClassVar[str | None] = None
    #: The scroll of the partition being synced.
    _scroll: Scroll

    @override
    @property
    def partitions(self) -> list[dict] | None:
        """One scroll per `client_ids` account, each with its own bookmark."""
        client_ids = self.config.get("client_ids")
        return [{"client_id": client_id} for client_id in client_ids] if client_ids else None

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Scroll one partition; on failure, emit the state reached before re-raising."""
        # get_new_paginator() and post_process() run per page and per record: the partition's scroll is made once.
        scroll = self._scroll = self.new_scroll(context)
        try:
            scroll.start()
            yield from super().get_records(context)
        except Exception:
            # The SDK writes no STATE when a stream raises: send what was completed.
            self._write_state_message()
            raise
        scroll.finish()

    def new_scroll(self, context: Context | None) -> Scroll:
        """The partition's scroll, given what it needs of this stream as values and callables."""
        counter = self.get_http_request_counter  # the SDK's per-stream request counter, for the seek's probes
        return Scroll(
            self.name,
            self.config,
            self.logger,
            self.get_context_state(context),
            context=context,
            bookmark=self.get_starting_replication_key_value(context),
            shape=self.shape,
            probe=lambda position: self.probe(context, position),
            request_counter=counter,
            write_state=self._write_state_message,
            memory=self.status_memory,
            stats=self.stats,
            retention_days=self.retention_days,
            progress=Progress(
                self.logger,
                self.name,
                self.stats,
                client_id=(context or {}).get("client_id"),
                interval=interval_from_env(),
                # The ETA plays the rate limits forward.
                windows=limiter_windows(getattr(self.requests_session, "limiter", None)),
                probe=lambda position: self.probe(context, position),  # where the logs end, for the ETA
            ),
        )

    @override
    def request_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The SDK's page loop, after the page the seek already fetched (if any)."""
        paginator = self._scroll.paginator
        page = paginator.first_page
        if page is not None:
            yield from self._scroll.emit(page, paginator.take_first_page())
            if paginator.finished:
                return
        yield from super().request_records(context)

    @override
    def get_new_paginator(self) -> ScrollPaginator:
        """The scroll prepared by get_records for the current partition."""
        return self._scroll.paginator

    @override
    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict[str, Any]:
        """`start_element_id` (required by the API) and the partition's `client_id`."""
        params: dict[str, Any] = {"start_element_id": next_page_token}
        if context and "client_id" in context:
            params["client_id"] = context["client_id"]
        return params

    def read_answer(self, response: requests.Response) -> Page:
        """A log page (envelope.parse_page)."""
        return parse_page(response)

    @override
    def parse_response(self, response: requests.Response) -> Iterator[dict[str, Any]]:
        """The page's records that were not emitted yet, then a STATE vouching for all of them."""
        page = parse_page(response)
        yield from self._scroll.emit(page, self._scroll.paginator.new_records(page))

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """The scroll's filter and bookkeeping around the shaping (Scroll.admit)."""
        return self._scroll.admit(row)

    @property
    def status_memory(self) -> IdMemory | None:
        """The id memory of this stream's status stream, selected or not (status/memory.py)."""
        if "_status_memory" not in self.__dict__:
            stream = self._tap.streams.get(self.status_stream) if self.status_stream else None
            self._status_memory = getattr(stream, "memory", None)
        return self._status_memory

    def probe(self, context: Context | None, position: int) -> Page:
        """One page at `position`, through the same pacing, retries and checks as the scroll."""
        return parse_page(self.send(context, position))

    @override
    def _increment_stream_state(self, latest_record: dict, *, context: Context | None = None) -> None:
        """The SDK's, skipping re-read window logs: the SDK would refuse them (is_sorted) as below the bookmark."""
        if self._scroll.moves_bookmark(latest_record["id"]):
            super()._increment_stream_state(latest_record, context=context)

    @override
    def _write_starting_replication_value(self, context: Context | None) -> None:
        """The SDK's, minus its fallback to the `start_date` setting.

        The SDK would make the date the starting value of this integer key; here the
        date is turned into a position by the seek, and the bookmark is always an id.
        A bookmark stored as a digit string becomes the id it names first.
        """
        normalize_bookmark(self.name, context, self.get_context_state(context))
        self.state_manager.write_starting_replication_value(
            context=context,
            replication_method=self.replication_method,
            replication_key=self.replication_key,
            config={},
        )
