"""The trigger's checkpoints: the newest delivery named by time across both streams, and a store made before
`last_delivery_at` existed still read, then given the column by its next save (DuckDB and PostgreSQL)."""

from __future__ import annotations

import datetime

import pytest

from tap_kondado.trigger.model import CHECKPOINT_TABLE, MODEL_LOGS, PIPELINE_LOGS, Checkpoint
from tap_kondado.trigger.trigger import Check

EARLY, LATE = datetime.datetime(2026, 12, 3, 9), datetime.datetime(2026, 12, 3, 12)
# The pipeline log's id is the larger, the model's log the newer: the ids are two sequences.
PIPELINE_ROW = Checkpoint("retrain", PIPELINE_LOGS, 900_000, "log 900000, pipeline 721, 2026-12-03T09:00:00Z", 3,
                          LATE, EARLY)  # fmt: skip
MODEL_ROW = Checkpoint("retrain", MODEL_LOGS, 5_000, "log 5000, model 111, 2026-12-03T12:00:00Z", 1, LATE, LATE)


def test_nothing_new_names_the_newest_delivery_by_time_not_by_id():
    check = Check("retrain", None, {PIPELINE_LOGS: PIPELINE_ROW, MODEL_LOGS: MODEL_ROW})
    assert check.summary() == "nothing new for retrain since log 5000, model 111, 2026-12-03T12:00:00Z"


def test_a_checkpoint_from_before_the_column_counts_as_the_oldest():
    old = Checkpoint("retrain", MODEL_LOGS, 5_000, "log 5000, model 111, 2026-12-01T00:00:00Z", 1, LATE, None)
    check = Check("retrain", None, {PIPELINE_LOGS: PIPELINE_ROW, MODEL_LOGS: old})
    assert check.summary().endswith("since log 900000, pipeline 721, 2026-12-03T09:00:00Z")


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    if request.param == "duckdb":
        duckdb = pytest.importorskip("duckdb")
        from tap_kondado.trigger.duckdb_store import DuckDBStore

        path = tmp_path / "warehouse.duckdb"
        duckdb.connect(str(path)).close()  # a warehouse the tap landed into
        return DuckDBStore(path)
    pytest.importorskip("psycopg")
    from tap_kondado.trigger.postgres_store import PostgresStore

    server = request.getfixturevalue("postgres")
    database = server.create_database("trigger_checkpoints")
    return PostgresStore(f"postgresql://{server.user}@{server.host}:{server.port}/{database}")


def test_a_store_from_before_the_column_is_read_and_then_migrated(store):
    table = store.table(CHECKPOINT_TABLE)
    with store.connection(write=True) as cursor:  # the table as the first release made it
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{store.schema}"')
        cursor.execute(
            f"CREATE TABLE {table} (consumer VARCHAR NOT NULL, stream VARCHAR NOT NULL, last_log_id BIGINT NOT NULL, "
            "last_delivery VARCHAR, deliveries BIGINT NOT NULL, committed_at TIMESTAMP, PRIMARY KEY (consumer, stream))"
        )
        cursor.execute(
            f"INSERT INTO {table} VALUES ('retrain', 'model_logs', 5000, 'log 5000, model 111, x', 1, '2026-12-03')"  # noqa: S608
        )
    (before,) = store.checkpoints("retrain")
    assert (before.last_log_id, before.last_delivery, before.last_delivery_at) == (5000, "log 5000, model 111, x", None)
    store.save([PIPELINE_ROW, MODEL_ROW])
    after = {row.stream: row for row in store.checkpoints("retrain")}
    assert after == {PIPELINE_LOGS: PIPELINE_ROW, MODEL_LOGS: MODEL_ROW}
