"""Which pipelines and models the status streams ask about: every id the logs named lately.

A pipeline that fails or was switched off writes no log, so the ids of this run's logs
alone would miss exactly the ones a user must hear about. The log streams therefore
remember, as they emit logs, each id with its account, name and newest log's createdAt;
the status streams ask about every id whose newest log is younger than `status_days`.

Where it lives: in the state of the status stream, `bookmarks.<pipeline_status|model_status>.ids`,
`{"<id>": {"client_id": 1, "name": "...", "newest_log_at": "<createdAt>"}}`. A stream
without a replication key keeps that dict as it is; Meltano keeps each stream's bookmark,
so the memory survives whether or not the status stream was selected in the run that
wrote it, and a status stream running alone finds it there. Every STATE carries the whole
memory, so what a killed run had learnt is kept too.

A newest log dated in the future (a clock gone wrong) counts as written now: it would keep
its id asked about for ever and its name never updated; a remembered one is replaced by the
id's next log.

Linear in the ids: a STATE repeats the whole memory, so once it outweighs the logs of a
page the log streams write one only every few pages (`worth_a_state`): STATE bytes stay
about those of the logs, not ids x pages. Bounded: an id is not added when its log is
already older than `status_days`; ids whose newest log is older than that are dropped
when the memory is read from the state and when the status stream runs; and never more
than MAX_IDS (the oldest go first, from a heap: no scan per new id).
"""

from __future__ import annotations

import datetime
import heapq
from typing import TYPE_CHECKING, Any

from tap_kondado.conversion import to_id
from tap_kondado.times import sortable_time

if TYPE_CHECKING:
    from collections.abc import Callable

STATE_KEY = "ids"
DEFAULT_STATUS_DAYS = 30
MAX_IDS = 5000  # far above any account's pipelines and models; one request each per run
# A log in a STATE-vouched page weighs about four of the memory's entries (~350 and ~90 bytes).
ENTRIES_PER_LOG = 4
# However big the memory, a STATE at least this often: what a killed run repeats stays bounded.
STATE_EVERY_SECONDS = 60.0


class RememberedIds(dict):
    """The ids dict in the state: one `{"client_id", "name", "newest_log_at"}` dict of plain values per id.

    The SDK deep-copies the whole state at every STATE message (to see whether it changed), once
    a page; `copy.deepcopy` of a few hundred small dicts costs more than the page's records.
    Entries hold only strings and numbers, so copying each entry's dict is a deep copy.
    """

    def __deepcopy__(self, memo: dict) -> RememberedIds:
        return RememberedIds({key: dict(entry) for key, entry in self.items()})


class IdMemory:
    """The remembered ids of one kind (pipelines or models), kept in a state dict."""

    def __init__(
        self,
        state: Callable[[], dict[str, Any]],
        id_field: str,
        name_field: str,
        days: float,
        now: datetime.datetime | None = None,
    ) -> None:
        """`state` gives the status stream's writeable state dict; `id_field`/`name_field`: the log's fields.

        A getter: the SDK makes a stream's state entry when asked, and only a stream that
        remembers an id should get one.
        """
        self._state = state
        self._ids: dict[str, dict[str, Any]] | None = None
        #: (newest_log_at, id) of every entry, some outdated; built once the memory reaches MAX_IDS.
        self._by_age: list[tuple[str, str]] | None = None
        self.id_field, self.name_field = id_field, name_field
        self.days = days
        now = now or datetime.datetime.now(datetime.timezone.utc)
        self.cutoff = str(sortable_time(now - datetime.timedelta(days=days)))
        self.now = str(sortable_time(now))
        #: Ids remembered with a newest log in the future, set to now: any log of this run is newer.
        self._from_the_future: set[str] = set()

    @property
    def ids(self) -> dict[str, dict[str, Any]]:
        """The remembered ids (created in the state only once one is remembered)."""
        if self._ids is None:
            state = self._state()
            remembered = state.get(STATE_KEY)
            entries = remembered.items() if isinstance(remembered, dict) else ()
            # The same dict for the whole run (saw() runs per log); entries that are no dict are dropped,
            # and those already too old: the cutoff holds for the run, so none grows stale later.
            ids = RememberedIds((k, dict(v)) for k, v in entries if isinstance(v, dict) and self._fresh(v))
            for key, entry in ids.items():
                if str(entry.get("newest_log_at")) > self.now:  # else fresh for ever, its name never updated
                    entry["newest_log_at"] = self.now
                    self._from_the_future.add(key)
            self._ids = state[STATE_KEY] = ids
        return self._ids

    def count(self) -> int:
        """How many ids are remembered, without making a state entry."""
        remembered = self._ids if self._ids is not None else self._state().get(STATE_KEY)
        return len(remembered) if isinstance(remembered, dict) else 0

    def saw(self, log: dict[str, Any]) -> None:
        """A log was emitted: remember its id, account, name and createdAt if it is the id's newest."""
        object_id = log.get(self.id_field)
        created = log.get("createdAt")
        if created is None or to_id(object_id) is None:  # no id the status endpoint could be asked about
            return
        created = sortable_time(created)
        if created is None or created < self.cutoff:
            return
        created = min(created, self.now)  # a log dated in the future was written by now, no later
        key = str(object_id)
        ids = self.ids
        known = ids.get(key)
        if known is None:
            ids[key] = {"client_id": log.get("client_id"), "name": log.get(self.name_field), "newest_log_at": created}
        elif created >= str(known.get("newest_log_at") or "") or key in self._from_the_future:
            self._from_the_future.discard(key)
            known["client_id"] = log.get("client_id")
            known["name"] = log.get(self.name_field)
            known["newest_log_at"] = created
        else:
            return
        if self._by_age is not None:
            heapq.heappush(self._by_age, (created, key))
            if len(self._by_age) > 2 * len(ids):  # mostly outdated: rebuilt when next needed
                self._by_age = None
        if known is None and len(ids) > MAX_IDS:
            self._drop_oldest()

    def prune(self) -> int:
        """Drop ids whose newest log is older than `status_days`, then the oldest past MAX_IDS; how many went."""
        ids = self.ids
        stale = [key for key, entry in ids.items() if not self._fresh(entry)]
        for key in stale:
            del ids[key]
        if stale:
            self._by_age = None  # rebuilt from what is left when next needed
        return len(stale) + self._drop_oldest()

    def worth_a_state(self, logs_since: int, seconds_since: float) -> bool:
        """Whether a STATE (which repeats the whole memory) is worth writing after `logs_since` logs.

        Yes once those logs outweigh the memory, or `STATE_EVERY_SECONDS` went by: with a few
        hundred ids that is every page, as before; with thousands, every few pages.
        """
        return logs_since * ENTRIES_PER_LOG >= self.count() or seconds_since >= STATE_EVERY_SECONDS

    def _drop_oldest(self) -> int:
        """Drop the ids with the oldest newest log until MAX_IDS are left; how many went.

        The heap holds an entry per update; one whose time is no longer its id's is skipped,
        and the heap is rebuilt (once it holds twice as many as the memory, it is dropped).
        """
        ids = self.ids
        if len(ids) <= MAX_IDS:
            return 0
        heap = self._by_age
        if heap is None:
            heap = self._by_age = [(str(entry.get("newest_log_at")), key) for key, entry in ids.items()]
            heapq.heapify(heap)
        dropped = 0
        while len(ids) > MAX_IDS:
            at, key = heapq.heappop(heap)
            entry = ids.get(key)
            if entry is not None and str(entry.get("newest_log_at")) == at:
                del ids[key]
                dropped += 1
        return dropped

    def current(self) -> list[tuple[int, dict[str, Any]]]:
        """The ids to ask about, ascending: remembered, readable, newest log within `status_days`."""
        chosen = []
        for key, entry in self.ids.items():
            object_id = to_id(key)
            if object_id is not None and isinstance(entry, dict) and self._fresh(entry):
                chosen.append((object_id, entry))
        return sorted(chosen, key=lambda item: item[0])

    def _fresh(self, entry: object) -> bool:
        if not isinstance(entry, dict):
            return False
        newest = sortable_time(entry.get("newest_log_at"))
        return newest is not None and newest >= self.cutoff
