"""The log scroll: where a log stream's partition starts, what it lets through, what it writes to the state.

`LogStream` is a Kondado endpoint read by `start_element_id` (the two log streams). For
each partition it makes one `Scroll`, which holds everything that partition needs in
this run: its state dict, the paginator, the progress lines, the start_date filter
(`_not_before`), the lookback pass and the re-read window (`_window_until`). The start
position comes from the bookmark, the lookback window before it, or the start_date seek.

Where things happen: requests and retries in client.py (`KondadoStream`), a page is
read in envelope.py (`parse_page`), a record is shaped in client.py (`KondadoStream.shape`);
here, which records of a page go out and what the state remembers of them (the bookmark,
the lookback's bookkeeping, and each log's pipeline or model id for the status streams).
"""

from __future__ import annotations

import datetime
import time
from typing import TYPE_CHECKING, Any, ClassVar

from tap_kondado.client import KondadoStream
from tap_kondado.conversion import parse_time
from tap_kondado.envelope import Page, parse_page
from tap_kondado.lookback import STATE_KEY as LOOKBACK_STATE_KEY
from tap_kondado.lookback import LookbackPass
from tap_kondado.pagination import ScrollPaginator
from tap_kondado.progress import Progress, interval_from_env, limiter_windows
from tap_kondado.seek import DEFAULT_TOLERANCE, created_at, parse_start_date, seek
from tap_kondado.state import normalize_bookmark

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import requests
    from singer_sdk.helpers.types import Context

    from tap_kondado.status_memory import IdMemory

CREATED_AT_STATE_KEY = "last_created_at"  # createdAt of the bookmarked record
# While a scroll that began at start_date may still meet logs created before it (createdAt
# runs back by up to the seek's tolerance), the partition state keeps that date, so a
# resumed run drops them too.
NOT_BEFORE_STATE_KEY = "start_date_floor"


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
    #: The status stream's id memory, remembered per log this run (None: no status stream).
    _memory: IdMemory | None

    @property
    def partitions(self) -> list[dict] | None:
        """One scroll per `client_ids` account, each with its own bookmark."""
        client_ids = self.config.get("client_ids")
        return [{"client_id": client_id} for client_id in client_ids] if client_ids else None

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Scroll one partition; on failure, emit the state reached before re-raising."""
        # get_new_paginator() and post_process() run per page and per record: the
        # partition's scroll and state dict are set up once here.
        scroll = self._scroll = Scroll(self, context)
        self._memory = self.status_memory  # looked up once: post_process runs per record
        scroll._warn_if_logs_may_be_purged(context)
        try:
            scroll._paginator = scroll._start_scroll(context)
            after_id = scroll._paginator.last_id
            yield from super().get_records(context)
        except Exception:
            # The SDK writes no STATE when a stream raises: send what was completed.
            self._write_state_message()
            raise
        if scroll._lookback is not None:
            scroll._lookback.finish()
            self._write_state_message()
        scroll._progress.end()
        scroll._warn_if_account_brought_nothing(context, after_id)

    def request_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The SDK's page loop, after the page the seek already fetched (if any)."""
        paginator = self._scroll._paginator
        page = paginator.first_page
        if page is not None:
            yield from self._scroll._emit(page, paginator.take_first_page())
            if paginator.finished:
                return
        yield from super().request_records(context)

    def get_new_paginator(self) -> ScrollPaginator:
        """The scroll prepared by get_records for the current partition."""
        return self._scroll._paginator

    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict[str, Any]:
        """`start_element_id` (required by the API) and the partition's `client_id`."""
        params: dict[str, Any] = {"start_element_id": next_page_token}
        if context and "client_id" in context:
            params["client_id"] = context["client_id"]
        return params

    def read_answer(self, response: requests.Response) -> Page:
        """A log page (envelope.parse_page)."""
        return parse_page(response)

    def parse_response(self, response: requests.Response) -> Iterator[dict[str, Any]]:
        """The page's records that were not emitted yet, then a STATE vouching for all of them."""
        page = parse_page(response)
        yield from self._scroll._emit(page, self._scroll._paginator.new_records(page))

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """The scroll's filter and bookkeeping around the shaping (Scroll.post_process); its id remembered."""
        row = self._scroll.post_process(row, context)
        if row is not None and self._memory is not None:
            self._memory.saw(row)
        return row

    @property
    def status_memory(self) -> IdMemory | None:
        """The id memory of this stream's status stream, selected or not (status_memory.py)."""
        if "_status_memory" not in self.__dict__:
            stream = self._tap.streams.get(self.status_stream) if self.status_stream else None
            self._status_memory = getattr(stream, "memory", None)
        return self._status_memory

    def probe(self, context: Context | None, position: int) -> Page:
        """One page at `position`, through the same pacing, retries and checks as the scroll."""
        return parse_page(self.send(context, position))

    def _increment_stream_state(self, latest_record: dict, *, context: Context | None = None) -> None:
        """The SDK's, skipping re-read window logs: the SDK would refuse them (is_sorted) as below the bookmark."""
        if latest_record["id"] > self._scroll._window_until:
            super()._increment_stream_state(latest_record, context=context)

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


class Scroll:
    """One stream-partition's scroll in one run: its start, its filters, its state.

    Made by `LogStream.get_records` for each partition; what it needs of the stream
    (name, config, logger, requests, the state writer) it reaches through `stream`.
    """

    def __init__(self, stream: LogStream, context: Context | None) -> None:
        """The partition's state dict and progress; the start is decided by `_start_scroll`."""
        self.stream = stream
        self.name, self.config, self.logger = stream.name, stream.config, stream.logger
        self.stats, self.retention_days = stream.stats, stream.retention_days
        self._shape = stream.shape
        #: The SDK's writeable state dict of this partition.
        self._partition_state: dict[str, Any] = stream.get_context_state(context)
        self._progress = Progress(
            self.logger,
            self.name,
            self.stats,
            client_id=(context or {}).get("client_id"),
            interval=interval_from_env(),
            # The ETA plays the rate limits forward (issue 17).
            windows=limiter_windows(getattr(stream.requests_session, "limiter", None)),
            probe=lambda position: stream.probe(context, position),  # where the logs end, for the ETA
        )
        #: The paginator, set by get_records from `_start_scroll`.
        self._paginator: ScrollPaginator
        #: Epoch seconds: logs created before this are dropped (a scroll from start_date).
        self._not_before: float | None = None
        #: The partition's lookback this run (None: `lookback_hours` is 0).
        self._lookback: LookbackPass | None = None
        #: Ids up to here are re-read window logs: they must not move the bookmark (-1: none).
        self._window_until: int = -1
        #: Logs since the last STATE this scroll wrote, and when it wrote it (monotonic seconds).
        self._logs_since_state = 0
        self._state_at = time.monotonic()

    # --- what the scroll asks of its stream ------------------------------------

    def get_starting_replication_key_value(self, context: Context | None) -> Any:
        """The partition's bookmark (the SDK's)."""
        return self.stream.get_starting_replication_key_value(context)

    def get_http_request_counter(self) -> Any:
        """The SDK's request counter of the stream."""
        return self.stream.get_http_request_counter()

    def _probe(self, context: Context | None, position: int) -> Page:
        return self.stream.probe(context, position)

    def _write_state_message(self) -> None:
        self.stream._write_state_message()

    # --- where the scroll starts ----------------------------------------------------

    def _start_scroll(self, context: Context | None) -> ScrollPaginator:
        """Where this partition's scroll starts.

        From the bookmark, or the lookback window before it; on a first sync with
        `start_date`, from where the seek landed.
        """
        bookmark = self.get_starting_replication_key_value(context)
        first_id = int(self.config.get("start_element_id", 0))
        floor = self._partition_state.get(NOT_BEFORE_STATE_KEY)
        self._not_before = created_at({"createdAt": floor}) if bookmark is not None else None
        self._lookback = self._start_lookback(context, None if bookmark is None else int(bookmark))
        self._window_until = -1
        if bookmark is not None:
            after_id = int(bookmark)
            if self._lookback is not None and self._lookback.start_id is not None:
                self._window_until = after_id  # ids up to the bookmark are the re-read window
                after_id = self._lookback.after_id(after_id)
                # No start_date filter here: the window keeps its first sync's date itself (lookback.py),
                # and the logs past the bookmark are new whatever the setting says now (issue 17).
            return ScrollPaginator(self.name, after_id)
        start_date = self.config.get("start_date")
        if not start_date:
            return ScrollPaginator(self.name, first_id - 1)
        date = parse_start_date(start_date)
        self._not_before = date.timestamp()
        self._partition_state[NOT_BEFORE_STATE_KEY] = date.isoformat().replace("+00:00", "Z")
        with self.get_http_request_counter() as counter:
            counter.with_context(context)

            def probe(position: int) -> Page:
                counter.increment()
                return self._probe(context, position)

            landing = seek(probe, date, lower=max(first_id - 1, 0))
        self.logger.info(
            "%s%s: logs since start_date %s begin at or after start_element_id %d (found in %d requests)",
            self.name,
            f" {dict(context)}" if context else "",
            self._partition_state[NOT_BEFORE_STATE_KEY],
            landing.start,
            landing.probes,
        )
        return ScrollPaginator(
            self.name, max(landing.start - 1, first_id - 1), start=landing.start, first_page=landing.page
        )

    def _start_lookback(self, context: Context | None, bookmark: int | None) -> LookbackPass | None:
        """The partition's lookback for this run, if `lookback_hours` asks for one."""
        hours = float(self.config.get("lookback_hours") or 0)
        if hours <= 0:
            # Off: forget its bookkeeping, or turning it on again later would re-read (and
            # re-send) everything loaded since, from a stale checkpoint and watermark.
            self._partition_state.pop(LOOKBACK_STATE_KEY, None)
            return None
        # A first sync from start_date hands the date to the lookback, which keeps it for later windows.
        start_date = self.config.get("start_date") if bookmark is None else None
        lookback = LookbackPass(
            self._partition_state,
            hours,
            bookmark,
            self._partition_state.get(CREATED_AT_STATE_KEY),
            start_date=parse_start_date(start_date) if start_date else None,
        )
        if reason := lookback.why_no_window():
            where = f"{self.name} {dict(context)}" if context else self.name
            self.logger.info("%s: lookback re-reads nothing this run: %s", where, reason)
        return lookback

    # --- what goes out --------------------------------------------------------------

    def _emit(self, page: Page, new_records: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """A page's new records, the run's bookkeeping on that page, then a STATE vouching for them."""
        records = page.records
        if self._lookback is None:
            yield from new_records
        else:
            yield from self._lookback.emit(new_records)
            self._lookback.page_done(records)
        last = records[-1] if records else {}
        self._progress.page(last.get("createdAt"), last.get("id"))
        # The SDK resumes this generator only once the page's last record is written and
        # counted; a STATE now means a run killed before the next page repeats nothing, and
        # one killed mid-page repeats only what it emitted of that page. A STATE repeats the
        # status streams' whole id memory: with thousands of ids, one every few pages only.
        self._logs_since_state += len(records)
        memory = self.stream._memory
        if memory is None or memory.worth_a_state(self._logs_since_state, time.monotonic() - self._state_at):
            self._write_state_message()
            self._logs_since_state, self._state_at = 0, time.monotonic()

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:  # noqa: ARG002
        """Values of their schema types, only the schema's fields, and the createdAt of the bookmark."""
        if self._not_before is not None and self._created_before_start_date(row):
            return None
        row = self._shape(row)
        if row["id"] > self._window_until:
            self._partition_state[CREATED_AT_STATE_KEY] = row.get("createdAt")
            self.stats.new += 1
        else:  # a re-read window log let through: changed, and not the bookmark's
            self.stats.changed += 1
        return row

    def _created_before_start_date(self, row: dict) -> bool:
        """Whether a log of a scroll begun at start_date (or of a window re-read) predates it: dropped.

        Once a log created `tolerance` past the date has gone by, no later id can predate
        the date: the check, and its state key, are dropped for the rest of the scroll.
        """
        moment = created_at(row)
        if moment is None:
            return False
        assert self._not_before is not None  # noqa: S101
        if moment >= self._not_before + DEFAULT_TOLERANCE.total_seconds():
            self._not_before = None
            self._partition_state.pop(NOT_BEFORE_STATE_KEY, None)
        return self._not_before is not None and moment < self._not_before

    # --- warnings -------------------------------------------------------------------

    def _warn_if_account_brought_nothing(self, context: Context | None, after_id: int) -> None:
        """A `client_ids` account never synced whose whole scroll was empty: most likely a typo."""
        client_id = (context or {}).get("client_id")
        if client_id is None or self._paginator.last_id != after_id:
            return
        if self.get_starting_replication_key_value(context) is None:
            self.logger.warning(
                "%s: client_ids account %s brought no logs; check the id, and that the token can see that account",
                self.name,
                client_id,
            )

    def _warn_if_logs_may_be_purged(self, context: Context | None) -> None:
        if self.retention_days is None:
            return
        last = self._partition_state.get(CREATED_AT_STATE_KEY)
        created = parse_time(last)
        if created is None:
            return
        age = datetime.datetime.now(datetime.timezone.utc) - created
        if age > datetime.timedelta(days=self.retention_days):
            self.logger.warning(
                "%s%s: the last log emitted was created %s, %d days ago; Kondado keeps "
                "these logs %d days, so logs written since may have been purged unread",
                self.name,
                f" {dict(context)}" if context else "",
                last,
                age.days,
                self.retention_days,
            )
