"""`lookback_hours`: re-read the recent window of logs, emit only those changed since.

An id-keyed incremental never reads an id twice, yet Kondado may change a log after
creating it (`updatedAt` moves, the id does not). Each run with lookback therefore
starts its scroll a little before the bookmark, at the first log of the window (the
`lookback_hours` before the newest log loaded), and lets through from that window only
the logs whose `updatedAt` is later than the newest `updatedAt` earlier runs saw (the
watermark). Logs past the bookmark are new and pass as always: the window and the new
logs are one scroll, so the cost is the window's pages plus the usual ones.

The window's first id comes from checkpoints kept in the partition's state: the first
(id, createdAt) of each page read, thinned to a bounded count, always keeping the newest
one at or before the window's start. No seek per run. When the newest log's createdAt is
missing or unreadable, the newest checkpoint's stands in for it (a window a little
longer, never none).

The window is anchored: it starts no later than where the previous run's started (`from`,
kept in the state), so a log that run re-read and that changed after it passed is re-read
once more, however far the newest log moved meanwhile. Bounded: never more than twice
`lookback_hours` before the newest log (runs further apart than `lookback_hours` of new
logs get only that).

A first sync from `start_date` keeps the date (`not_before`): its landing page may hold
logs created before it, and a later window that reaches back there lets none of them
through. New logs (past the bookmark) are never filtered here, whatever `start_date` says.

State, under the partition's `lookback` key (only while `lookback_hours` > 0):
`{"watermark": "<updatedAt>", "checkpoints": [[id, "<createdAt>"], ...], "from": "<createdAt>",
"not_before": "<start_date>"}` (the last two only when known). It moves only at page ends, and
a STATE goes out after each page, so a run killed mid-page resumes from what the last STATE
vouched for. The watermark (and `from`) move only once the window has been read through: a run
killed mid-window redoes the window with the old ones; and never in a run that had a bookmark
and a watermark but could place no window (it read no window: its watermark would hide every
change made in it).
And it counts only updatedAt values from before the run began: a log changed mid-run,
after the run read it, must still be newer than the watermark the next run compares with
(logs created during a run are therefore sent once more by the next one).
"""

from __future__ import annotations

import bisect
import datetime
from typing import TYPE_CHECKING, Any

from tap_kondado.times import parse_time, sortable_time

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

STATE_KEY = "lookback"
# Kondado's clock may run this much behind the machine's (NTP keeps both far closer).
CLOCK_MARGIN = datetime.timedelta(seconds=2)
MAX_CHECKPOINTS = 64
ANCHOR_REACH = 2  # an anchored window starts at most this many times lookback_hours before the newest log


def window_start_id(checkpoints: list[list[Any]], window_start: str) -> int | None:
    """The id to start re-reading from: the newest checkpoint created at or before `window_start`.

    If none is that old (lookback was turned on less than `lookback_hours` of logs ago),
    the oldest one: the window as far back as this state can place it. None without any.
    """
    best = checkpoints[0][0] if checkpoints else None
    for checkpoint_id, created in checkpoints:
        if created <= window_start:
            best = checkpoint_id  # checkpoints ascend by id
    return best


def thin(checkpoints: list[list[Any]], hours: float, limit: int = MAX_CHECKPOINTS) -> list[list[Any]]:
    """At most `limit` checkpoints, still covering any window a later run may re-read.

    The newest log only moves forward, so no later window starts before the one that ends
    at the newest checkpoint: every checkpoint older than that window's anchor (the newest
    checkpoint at or before its start) goes. If still too many, the interior checkpoint
    whose neighbours are closest (by id) goes, one at a time: an even spread, so a window
    starts at most about 1/limit of itself early.
    """
    if not checkpoints:
        return checkpoints
    newest = parse_time(checkpoints[-1][1])
    if newest is not None:
        window_start = sortable_time(newest - datetime.timedelta(hours=hours))
        anchor = 0
        for position, (_, created) in enumerate(checkpoints):
            if window_start is not None and created <= window_start:
                anchor = position
        checkpoints = checkpoints[anchor:]
    checkpoints = list(checkpoints)
    while len(checkpoints) > max(limit, 2):
        narrowest = min(range(1, len(checkpoints) - 1), key=lambda i: checkpoints[i + 1][0] - checkpoints[i - 1][0])
        del checkpoints[narrowest]
    return checkpoints


class LookbackPass:
    """One stream-partition's lookback in one run: where to start, what to let through."""

    def __init__(
        self,
        partition_state: dict,
        hours: float,
        bookmark: int | None,
        newest_created: object,
        started: datetime.datetime | None = None,
        *,
        start_date: datetime.datetime | None = None,
    ) -> None:
        """`partition_state` is the SDK's writeable dict; `bookmark` the largest id already emitted.

        `started`: when this scroll began (UTC; default now). Only updatedAt values from before
        it, less CLOCK_MARGIN, raise the watermark: a log changed while the run reads, after the
        run passed it, is later than every value counted, so the next run still sees it as changed.
        `start_date`: on a first sync (no bookmark) from that date, kept so no window lets
        through a log created before it.
        """
        self.state: dict[str, Any] = partition_state.setdefault(STATE_KEY, {})
        self.state.setdefault("checkpoints", [])
        self.hours = hours
        self.bookmark = bookmark  # ids up to here are the window; above it, new logs
        self.watermark: str | None = self.state.get("watermark")
        self._seen_newest: str | None = self.watermark  # newest updatedAt read this run, up to _counts_until
        started = started or datetime.datetime.now(datetime.timezone.utc)
        self._counts_until = str(sortable_time(started - CLOCK_MARGIN))
        self.start_id: int | None = None  # first id of the window, when it can be re-read
        if bookmark is None:  # a first sync: from start_date, or from the first log
            self.state.pop("not_before", None)
            if start_date is not None:
                self.state["not_before"] = sortable_time(start_date)
        self.not_before: str | None = self.state.get("not_before")
        # The newest log's createdAt; unreadable, the newest checkpoint's (older: a longer window).
        checkpoints = self.state["checkpoints"]
        newest = parse_time(newest_created) or (parse_time(checkpoints[-1][1]) if checkpoints else None)
        self._from: str | None = None  # where this run's own window starts, before anchoring
        if bookmark is not None and newest is not None and self.watermark is not None:
            span = datetime.timedelta(hours=hours)
            self._from = sortable_time(newest - span)
            window_start = self._from
            previous = self.state.get("from")
            if isinstance(previous, str) and previous < window_start:  # anchored, bounded
                window_start = max(previous, str(sortable_time(newest - ANCHOR_REACH * span)))
            start_id = window_start_id(checkpoints, str(window_start))
            if start_id is not None and start_id <= bookmark:
                self.start_id = start_id
        self.in_window = self.start_id is not None
        # A run with a bookmark and a watermark but no window reads no window: its updatedAt values
        # must not raise the watermark past changes it never looked for.
        self._may_commit = bookmark is None or self.watermark is None or self.start_id is not None

    def after_id(self, default: int) -> int:
        """Where the paginator starts: just before the window, or `default` (the bookmark)."""
        return default if self.start_id is None else self.start_id - 1

    def why_no_window(self) -> str | None:
        """Why this run re-reads nothing though it has a bookmark, else None."""
        if self.bookmark is None or self.start_id is not None:
            return None
        if self.watermark is None:
            return "no updatedAt watermark in the state yet (lookback was just turned on)"
        return "no checkpoint in the state yet"

    def emit(self, records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The records to emit: new ones, and window ones whose updatedAt passed the watermark."""
        bookmark = self.bookmark if self.in_window else None
        watermark = self.watermark or ""
        not_before = self.not_before
        for record in records:
            if bookmark is not None and record["id"] <= bookmark:
                updated = sortable_time(record.get("updatedAt"))
                if updated is not None and updated <= watermark:  # unchanged (unreadable: sent, the target judges)
                    continue
                if (
                    not_before is not None
                    and (created := sortable_time(record.get("createdAt")))
                    and created < not_before
                ):
                    continue  # the first sync's landing page, before its start_date
            yield record

    def page_done(self, records: list[dict[str, Any]]) -> None:
        """After a page is emitted: a checkpoint, and the watermark once the window is read through."""
        if records:
            first = records[0]
            created = sortable_time(first.get("createdAt"))
            if isinstance(first.get("id"), int) and not isinstance(first["id"], bool) and created is not None:
                self._add_checkpoint(first["id"], created)
            until = self._counts_until
            updated = [
                u for u in map(sortable_time, (r.get("updatedAt") for r in records)) if u is not None and u <= until
            ]
            if updated and (self._seen_newest is None or max(updated) > self._seen_newest):
                self._seen_newest = max(updated)
            last_id = records[-1].get("id")
            if self.in_window and isinstance(last_id, int) and self.bookmark is not None and last_id > self.bookmark:
                self.in_window = False  # past the bookmark: the window is read through
        if not self.in_window:
            self._commit()

    def finish(self) -> None:
        """The scroll ended: the window is read through even if no log came after the bookmark."""
        self.in_window = False
        self._commit()

    def _commit(self) -> None:
        """The window is read through: the watermark, and where this run's window started."""
        if not self._may_commit:
            return
        if self._seen_newest is not None:
            self.state["watermark"] = self._seen_newest
        if self._from is not None:
            self.state["from"] = self._from

    def _add_checkpoint(self, record_id: int, created: str) -> None:
        checkpoints = self.state["checkpoints"]
        position = bisect.bisect_left(checkpoints, record_id, key=lambda c: c[0])
        if position < len(checkpoints) and checkpoints[position][0] == record_id:
            return  # a page of the window read again from the same start
        checkpoints.insert(position, [record_id, created])
        if len(checkpoints) > MAX_CHECKPOINTS:
            self.state["checkpoints"] = thin(checkpoints, ANCHOR_REACH * self.hours)  # an anchored window's reach
