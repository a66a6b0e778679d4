"""One consumer's view of the deliveries: what is new since its checkpoint, and moving the checkpoint."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tap_kondado.trigger.model import MODEL_LOGS, PIPELINE_LOGS, Batch, Checkpoint, Delivery, Selection, TriggerError
from tap_kondado.trigger.store import WarehouseStore


@dataclass
class Check:
    """The outcome of one look: a batch to consume, or why there is none."""

    consumer: str
    batch: Batch | None
    checkpoints: dict[str, Checkpoint] = field(default_factory=dict)
    waiting_for: list[str] = field(default_factory=list)  # with require_all: the items yet to deliver

    def summary(self) -> str:
        """One line for a person: what would run, or why nothing does."""
        if self.batch is not None:
            batch = self.batch
            count = len(batch.deliveries)
            return (
                f"{count} new deliver{'y' if count == 1 else 'ies'} for {self.consumer} "
                f"(newest: {batch.newest.describe()}; {batch.rows} rows)"
            )
        if self.waiting_for:
            return f"{self.consumer} waits for {', '.join(self.waiting_for)} to deliver (--all)"
        delivered = [c for c in self.checkpoints.values() if c.last_delivery]
        if delivered:
            # by time: the two streams' log ids are separate sequences (a checkpoint from before the column: oldest)
            newest = max(delivered, key=lambda c: c.last_delivery_at or datetime.datetime.min)
            return f"nothing new for {self.consumer} since {newest.last_delivery}"
        if self.checkpoints:
            newest = max(c.last_log_id for c in self.checkpoints.values())
            return f"nothing new for {self.consumer} since log {newest} (its starting point)"
        return f"nothing new for {self.consumer}: no delivery yet"


class Trigger:
    """Deliveries of `selection` that `consumer` has not consumed, read from `store`."""

    def __init__(self, store: WarehouseStore, consumer: str, selection: Selection) -> None:
        if not consumer or not consumer.strip():
            raise TriggerError("--consumer needs a name (e.g. retrain)")
        self.store = store
        self.consumer = consumer
        self.selection = selection

    def check(self) -> Check:
        """Look once from the consumer's checkpoint in the warehouse, without holding the lock (--dry-run)."""
        with self.store.reading():
            checkpoints = {c.stream: c for c in self.store.checkpoints(self.consumer)}
            return self.look_after({s: c.last_log_id for s, c in checkpoints.items()}, checkpoints)

    def look_after(self, positions: dict[str, int], checkpoints: dict[str, Checkpoint] | None = None) -> Check:
        """Look from `positions` (stream -> newest log id looked past), e.g. an orchestrator's own cursor."""
        deliveries: list[Delivery] = []
        horizon: dict[str, int] = {}
        checkpoints = checkpoints or {}
        with self.store.reading():
            self.store.check_ready(self.selection)
            for stream in self.selection.streams():
                logs, horizon[stream] = self.store.read_after(stream, positions.get(stream, 0), self.selection)
                deliveries.extend(log for log in logs if self.selection.is_delivery(log))
        if not deliveries:
            return Check(self.consumer, None, checkpoints)
        if self.selection.require_all and (waiting := self.selection.not_delivered(deliveries)):
            return Check(self.consumer, None, checkpoints, waiting)
        return Check(self.consumer, Batch(self.consumer, deliveries, horizon, self._commit), checkpoints)

    @contextmanager
    def poll(self) -> Iterator[Check]:
        """Look while holding the consumer's lock, kept until the block ends: commit the batch inside it."""
        with self.store.lock(self.consumer):
            yield self.check()

    def start_at(self, since: str, *, reset: bool = False) -> bool:
        """Set where a consumer starts: `now`, a log id, or an ISO time (UTC unless it says otherwise).

        Only for a consumer with no checkpoint yet, unless `reset`; True when the checkpoint was set.
        """
        with self.store.lock(self.consumer):
            if reset:
                self.store.forget(self.consumer)
            elif self.store.checkpoints(self.consumer):
                return False
            ids = self._ids_at(since)
            self.store.save([Checkpoint(self.consumer, stream, ids[stream]) for stream in (PIPELINE_LOGS, MODEL_LOGS)])
            return True

    def reset(self) -> None:
        """Forget the consumer: its next check offers every delivery there is."""
        with self.store.lock(self.consumer):
            self.store.forget(self.consumer)

    def _ids_at(self, since: str) -> dict[str, int]:
        text = since.strip()
        if text.lower() == "now":
            return self.store.newest_ids(None)
        if text.isdigit():
            return {PIPELINE_LOGS: int(text), MODEL_LOGS: int(text)}
        try:
            moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            msg = f"--since takes now, a log id or an ISO time (2026-12-01T08:00:00Z), got {since!r}"
            raise TriggerError(msg) from None
        if moment.tzinfo is not None:
            moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return self.store.newest_ids(moment)

    def _commit(self, batch: Batch) -> None:
        previous = {c.stream: c for c in self.store.checkpoints(self.consumer)}
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        rows = []
        for stream, newest_id in batch.horizon.items():
            old = previous.get(stream)
            mine = [d for d in batch.deliveries if d.stream == stream]
            count = (old.deliveries if old else 0) + len(mine)
            if mine:
                newest = max(mine, key=lambda d: d.log_id)
                last, last_at = newest.describe(), newest.created_at
            else:
                last, last_at = (old.last_delivery, old.last_delivery_at) if old else (None, None)
            rows.append(Checkpoint(self.consumer, stream, newest_id, last, count, now, last_at))
        self.store.save(rows)
