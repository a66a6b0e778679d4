"""What a trigger selects, what it delivers, and the checkpoint rows it keeps: plain values, no database."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PIPELINE_LOGS = "pipeline_logs"
MODEL_LOGS = "model_logs"
STREAMS = (PIPELINE_LOGS, MODEL_LOGS)
ITEM_COLUMN = {PIPELINE_LOGS: "pipeline_id", MODEL_LOGS: "model_id"}
NAME_COLUMN = {PIPELINE_LOGS: "pipeline_name", MODEL_LOGS: "model_name"}
CHECKPOINT_TABLE = "kondado_trigger_checkpoints"


class TriggerError(Exception):
    """Bad input or an unusable warehouse: one line for the person who ran the command."""


@dataclass(frozen=True)
class Selection:
    """Which logs count for a consumer: named pipelines and models, or every item of some accounts.

    `require_all`: deliver only once every named pipeline and model has delivered since the checkpoint.
    `min_rows`: the fewest rows a pipeline log must have moved; `has_deltas`: use that flag instead.
    """

    pipelines: tuple[int, ...] = ()
    models: tuple[int, ...] = ()
    clients: tuple[int, ...] = ()
    require_all: bool = False
    min_rows: int = 1
    has_deltas: bool = False

    def __post_init__(self) -> None:
        if not (self.pipelines or self.models or self.clients):
            raise TriggerError(
                "select something: --pipeline ID, --model ID or --client ID "
                "(or the settings KONDADO_TRIGGER_PIPELINES, _MODELS, _CLIENTS)"
            )
        if self.require_all and not (self.pipelines or self.models):
            raise TriggerError("--all needs the pipelines or models it waits for (--pipeline ID, --model ID)")
        if self.require_all and self.clients:
            raise TriggerError("--all waits for named pipelines and models; it cannot be combined with --client")
        if self.min_rows < 1:
            raise TriggerError(f"--min-rows must be at least 1, got {self.min_rows}")

    def streams(self) -> tuple[str, ...]:
        """The log streams this selection reads."""
        if self.clients:
            return STREAMS
        return tuple(s for s, ids in ((PIPELINE_LOGS, self.pipelines), (MODEL_LOGS, self.models)) if ids)

    def items(self, stream: str) -> tuple[int, ...]:
        """The named pipeline or model ids of `stream` (empty: every item of the selected accounts)."""
        return self.pipelines if stream == PIPELINE_LOGS else self.models

    def not_delivered(self, deliveries: list[Delivery]) -> list[str]:
        """With require_all: the named pipelines and models that have no delivery among `deliveries`."""
        seen = {(d.stream, d.item_id) for d in deliveries}
        wanted = [(PIPELINE_LOGS, i) for i in self.pipelines] + [(MODEL_LOGS, i) for i in self.models]
        return [f"{'pipeline' if s == PIPELINE_LOGS else 'model'} {i}" for s, i in wanted if (s, i) not in seen]

    def is_delivery(self, log: Delivery) -> bool:
        if log.stream == MODEL_LOGS:
            return True  # a model run rebuilt its table; its row_count is the table's size, not new rows
        if self.has_deltas:
            return log.has_deltas is True
        return log.rows is not None and log.rows >= self.min_rows


@dataclass(frozen=True)
class Delivery:
    """One log that may be a delivery, as read from the warehouse."""

    stream: str
    log_id: int
    client_id: int | None
    item_id: int | None
    item_name: str | None
    rows: int | None
    has_deltas: bool | None
    created_at: datetime.datetime | None  # naive UTC

    def describe(self) -> str:
        kind = "pipeline" if self.stream == PIPELINE_LOGS else "model"
        when = self.created_at.isoformat(timespec="seconds") + "Z" if self.created_at else "an unknown time"
        return f"log {self.log_id}, {kind} {self.item_id}, {when}"


@dataclass(frozen=True)
class Checkpoint:
    """One consumer's position in one stream: the newest log id it looked past, and what it last consumed."""

    consumer: str
    stream: str
    last_log_id: int
    last_delivery: str | None = None  # Delivery.describe() of the newest delivery consumed
    deliveries: int = 0  # deliveries consumed so far
    committed_at: datetime.datetime | None = None
    last_delivery_at: datetime.datetime | None = None  # that delivery's createdAt (naive UTC): newest across streams


@dataclass
class Batch:
    """Deliveries a consumer has not consumed, and how far its checkpoint moves once they are."""

    consumer: str
    deliveries: list[Delivery]
    horizon: dict[
        str, Any
    ]  # stream -> newest log id read (or, from the API, the tap's state): the checkpoint after commit
    committer: Callable[[Batch], None] = field(repr=False)  # writes the checkpoint (the store's transaction)
    committed: bool = False

    @property
    def log_ids(self) -> list[int]:
        return [d.log_id for d in self.deliveries]

    def ids_of(self, stream: str) -> list[int]:
        return [d.log_id for d in self.deliveries if d.stream == stream]

    def items_of(self, stream: str) -> list[int]:
        return sorted({d.item_id for d in self.deliveries if d.stream == stream and d.item_id is not None})

    @property
    def rows(self) -> int:
        """Rows the pipeline deliveries moved (model row counts are table sizes, left out)."""
        return sum(d.rows or 0 for d in self.deliveries if d.stream == PIPELINE_LOGS)

    @property
    def newest(self) -> Delivery:
        return max(self.deliveries, key=lambda d: (d.created_at or datetime.datetime.min, d.log_id))

    @property
    def run_key(self) -> str:
        """A stable name for this set of deliveries (an orchestrator's run key)."""
        parts = [
            f"{'p' if s == PIPELINE_LOGS else 'm'}{min(ids)}-{max(ids)}" for s in STREAMS if (ids := self.ids_of(s))
        ]
        return f"{self.consumer}:{':'.join(parts)}"

    def commit(self) -> None:
        """Move the consumer's checkpoint past these deliveries: call only after the job succeeded."""
        if not self.committed:
            self.committer(self)
            self.committed = True
