"""Run a downstream job once per delivery of new data: `kondado-trigger` and the Python API under it.

A *delivery* is a pipeline log that moved rows (`row_count` >= `min_rows`, 1 by default, or `has_deltas`
instead) or any model log (a model run rebuilt its table). Its identity is the log's id, which Kondado never
reuses, so a log edited later (the tap's lookback) is not a new delivery.

A *consumer* (a name: "retrain", "promote-staging") keeps a checkpoint in the warehouse: for each log stream,
the newest log id it has looked past. The tap lands each stream's logs in id order (its scroll ascends by id),
so everything above the checkpoint is new. The checkpoint moves, in one transaction, only after the job
succeeded: a job that fails, is killed or never finishes is offered the same deliveries next time.

    trigger = Trigger(DuckDBStore("warehouse.duckdb"), "retrain", Selection(pipelines=(702,)))
    with trigger.poll() as batch:           # holds the consumer's lock; None inside when nothing is new
        if batch is not None:
            retrain(batch.log_ids)
            batch.commit()                  # only after success
"""

from tap_kondado.trigger.duckdb_store import DuckDBStore
from tap_kondado.trigger.model import Batch, Delivery, Selection, TriggerError
from tap_kondado.trigger.postgres_store import PostgresStore
from tap_kondado.trigger.trigger import Trigger

__all__ = ["Batch", "Delivery", "DuckDBStore", "PostgresStore", "Selection", "Trigger", "TriggerError"]
