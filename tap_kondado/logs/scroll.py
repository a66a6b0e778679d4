"""One stream-partition's scroll in one run: where it starts, what it lets through, what it writes to the state.

`LogStream` (stream.py) makes one `Scroll` per partition and talks to it only through its public methods:
`start` decides the position (the bookmark, the lookback window before it, or the start_date seek), `emit`
sends a page's new records and then a STATE, `admit` filters and shapes one record and keeps the bookkeeping,
`moves_bookmark` says whether a record may move the bookmark, `finish` closes the partition. What the scroll
needs of its stream it is given at birth: values (name, config, the partition's state dict, the bookmark) and
callables (`shape`, `probe`, `write_state`, `request_counter`).

It holds everything that partition needs in this run: its state dict, the paginator, the progress lines,
the start_date filter (`not_before`), the lookback pass and the re-read window (`window_until`). What the
state remembers of each record: the bookmark (the SDK's), the lookback's bookkeeping, and each log's pipeline
or model id for the status streams.
"""

from __future__ import annotations

import datetime
import time
from typing import TYPE_CHECKING, Any

from tap_kondado.logs.lookback import STATE_KEY as LOOKBACK_STATE_KEY
from tap_kondado.logs.lookback import LookbackPass
from tap_kondado.logs.pagination import ScrollPaginator
from tap_kondado.logs.seek import DEFAULT_TOLERANCE, seek
from tap_kondado.times import created_at, parse_start_date, parse_time

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterator, Mapping

    from singer_sdk.helpers.types import Context

    from tap_kondado.logs.progress import Progress, StreamStats
    from tap_kondado.status.memory import IdMemory
    from tap_kondado.transport.envelope import Page

CREATED_AT_STATE_KEY = "last_created_at"  # createdAt of the bookmarked record
# While a scroll that began at start_date may still meet logs created before it (createdAt
# runs back by up to the seek's tolerance), the partition state keeps that date, so a
# resumed run drops them too.
NOT_BEFORE_STATE_KEY = "start_date_floor"


class Scroll:
    """One stream-partition's scroll in one run: its start, its filters, its state."""

    def __init__(
        self,
        name: str,
        config: Mapping[str, Any],
        logger: logging.Logger,
        partition_state: dict[str, Any],
        *,
        context: Context | None,
        bookmark: Any,
        shape: Callable[[dict], dict],
        probe: Callable[[int], Page],
        request_counter: Callable[[], Any],
        write_state: Callable[[], None],
        memory: IdMemory | None,
        stats: StreamStats,
        retention_days: int | None,
        progress: Progress,
    ) -> None:
        """The partition's state dict and progress; the start is decided by `start`."""
        self.name, self.config, self.logger = name, config, logger
        self.context, self.bookmark = context, bookmark
        self.stats, self.retention_days = stats, retention_days
        self.shape, self.probe, self.request_counter, self.write_state = shape, probe, request_counter, write_state
        #: The status stream's id memory, told each log this run (None: no status stream).
        self.memory = memory
        #: The SDK's writeable state dict of this partition.
        self.partition_state = partition_state
        self.progress = progress
        #: The paginator, set by `start`.
        self.paginator: ScrollPaginator
        #: Epoch seconds: logs created before this are dropped (a scroll from start_date).
        self.not_before: float | None = None
        #: The partition's lookback this run (None: `lookback_hours` is 0).
        self.lookback: LookbackPass | None = None
        #: Ids up to here are re-read window logs: they must not move the bookmark (-1: none).
        self.window_until: int = -1
        #: The id the scroll started after (set by `start`).
        self.started_after: int = -1
        #: Logs since the last STATE this scroll wrote, and when it wrote it (monotonic seconds).
        self.logs_since_state = 0
        self.state_at = time.monotonic()

    # --- the partition's life -------------------------------------------------------

    def start(self) -> ScrollPaginator:
        """Decide where the scroll starts (`paginator`), warning first if logs may have been purged since."""
        self.warn_if_logs_may_be_purged()
        self.paginator = self.start_position()
        self.started_after = self.paginator.last_id
        return self.paginator

    def finish(self) -> None:
        """The partition is done: the lookback's bookkeeping closed and stated, the progress's last line."""
        if self.lookback is not None:
            self.lookback.finish()
            self.write_state()
        self.progress.end()
        self.warn_if_account_brought_nothing()

    def moves_bookmark(self, record_id: int) -> bool:
        """Whether a record may move the bookmark: not a re-read window log."""
        return record_id > self.window_until

    # --- where the scroll starts ----------------------------------------------------

    def start_position(self) -> ScrollPaginator:
        """Where this partition's scroll starts.

        From the bookmark, or the lookback window before it; on a first sync with
        `start_date`, from where the seek landed.
        """
        bookmark, context = self.bookmark, self.context
        first_id = int(self.config.get("start_element_id", 0))
        floor = self.partition_state.get(NOT_BEFORE_STATE_KEY)
        self.not_before = created_at({"createdAt": floor}) if bookmark is not None else None
        self.lookback = self.start_lookback(None if bookmark is None else int(bookmark))
        self.window_until = -1
        if bookmark is not None:
            after_id = int(bookmark)
            if self.lookback is not None and self.lookback.start_id is not None:
                self.window_until = after_id  # ids up to the bookmark are the re-read window
                after_id = self.lookback.after_id(after_id)
                # No start_date filter here: the window keeps its first sync's date itself (lookback.py),
                # and the logs past the bookmark are new whatever the setting says now.
            return ScrollPaginator(self.name, after_id)
        start_date = self.config.get("start_date")
        if not start_date:
            return ScrollPaginator(self.name, first_id - 1)
        date = parse_start_date(start_date)
        self.not_before = date.timestamp()
        self.partition_state[NOT_BEFORE_STATE_KEY] = date.isoformat().replace("+00:00", "Z")
        with self.request_counter() as counter:
            counter.with_context(context)

            def probe(position: int) -> Page:
                counter.increment()
                return self.probe(position)

            landing = seek(probe, date, lower=max(first_id - 1, 0))
        self.logger.info(
            "%s%s: logs since start_date %s begin at or after start_element_id %d (found in %d requests)",
            self.name,
            f" {dict(context)}" if context else "",
            self.partition_state[NOT_BEFORE_STATE_KEY],
            landing.start,
            landing.probes,
        )
        return ScrollPaginator(
            self.name, max(landing.start - 1, first_id - 1), start=landing.start, first_page=landing.page
        )

    def start_lookback(self, bookmark: int | None) -> LookbackPass | None:
        """The partition's lookback for this run, if `lookback_hours` asks for one."""
        hours = float(self.config.get("lookback_hours") or 0)
        if hours <= 0:
            # Off: forget its bookkeeping, or turning it on again later would re-read (and
            # re-send) everything loaded since, from a stale checkpoint and watermark.
            self.partition_state.pop(LOOKBACK_STATE_KEY, None)
            return None
        # A first sync from start_date hands the date to the lookback, which keeps it for later windows.
        start_date = self.config.get("start_date") if bookmark is None else None
        lookback = LookbackPass(
            self.partition_state,
            hours,
            bookmark,
            self.partition_state.get(CREATED_AT_STATE_KEY),
            start_date=parse_start_date(start_date) if start_date else None,
        )
        if reason := lookback.why_no_window():
            where = f"{self.name} {dict(self.context)}" if self.context else self.name
            self.logger.info("%s: lookback re-reads nothing this run: %s", where, reason)
        return lookback

    # --- what goes out --------------------------------------------------------------

    def emit(self, page: Page, new_records: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """A page's new records, the run's bookkeeping on that page, then a STATE vouching for them."""
        records = page.records
        if self.lookback is None:
            yield from new_records
        else:
            yield from self.lookback.emit(new_records)
            self.lookback.page_done(records)
        last = records[-1] if records else {}
        self.progress.page(last.get("createdAt"), last.get("id"))
        # The SDK resumes this generator only once the page's last record is written and
        # counted; a STATE now means a run killed before the next page repeats nothing, and
        # one killed mid-page repeats only what it emitted of that page. A STATE repeats the
        # status streams' whole id memory: with thousands of ids, one every few pages only.
        self.logs_since_state += len(records)
        memory = self.memory
        if memory is None or memory.worth_a_state(self.logs_since_state, time.monotonic() - self.state_at):
            self.write_state()
            self.logs_since_state, self.state_at = 0, time.monotonic()

    def admit(self, row: dict) -> dict | None:
        """The record in its schema's types and fields, or None (before start_date); its ids remembered."""
        if self.not_before is not None and self.created_before_start_date(row):
            return None
        row = self.shape(row)
        if self.moves_bookmark(row["id"]):
            self.partition_state[CREATED_AT_STATE_KEY] = row.get("createdAt")
            self.stats.new += 1
        else:  # a re-read window log let through: changed, and not the bookmark's
            self.stats.changed += 1
        if self.memory is not None:
            self.memory.saw(row)
        return row

    def created_before_start_date(self, row: dict) -> bool:
        """Whether a log of a scroll begun at start_date (or of a window re-read) predates it: dropped.

        Once a log created `tolerance` past the date has gone by, no later id can predate
        the date: the check, and its state key, are dropped for the rest of the scroll.
        """
        moment = created_at(row)
        if moment is None:
            return False
        assert self.not_before is not None  # noqa: S101
        if moment >= self.not_before + DEFAULT_TOLERANCE.total_seconds():
            self.not_before = None
            self.partition_state.pop(NOT_BEFORE_STATE_KEY, None)
        return self.not_before is not None and moment < self.not_before

    # --- warnings -------------------------------------------------------------------

    def warn_if_account_brought_nothing(self) -> None:
        """A `client_ids` account never synced whose whole scroll was empty: most likely a typo."""
        client_id = (self.context or {}).get("client_id")
        if client_id is None or self.paginator.last_id != self.started_after:
            return
        if self.bookmark is None:
            self.logger.warning(
                "%s: client_ids account %s brought no logs; check the id, and that the token can see that account",
                self.name,
                client_id,
            )

    def warn_if_logs_may_be_purged(self) -> None:
        """The last log emitted is older than the API keeps logs: those written since may be gone unread."""
        if self.retention_days is None:
            return
        last = self.partition_state.get(CREATED_AT_STATE_KEY)
        created = parse_time(last)
        if created is None:
            return
        age = datetime.datetime.now(datetime.timezone.utc) - created
        if age > datetime.timedelta(days=self.retention_days):
            self.logger.warning(
                "%s%s: the last log emitted was created %s, %d days ago; Kondado keeps "
                "these logs %d days, so logs written since may have been purged unread",
                self.name,
                f" {dict(self.context)}" if self.context else "",
                last,
                age.days,
                self.retention_days,
            )
