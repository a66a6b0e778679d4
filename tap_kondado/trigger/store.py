"""What a trigger asks of a warehouse, in SQL both PostgreSQL and DuckDB speak; each engine connects and locks.

Reads touch the tables the tap lands (`<schema>.pipeline_logs`, `<schema>.model_logs`) by their primary key:
an idle check is a range scan above the checkpoint, so it costs the same on 4 million logs as on 400.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from tap_kondado.trigger.model import (
    CHECKPOINT_TABLE,
    ITEM_COLUMN,
    NAME_COLUMN,
    STREAMS,
    Checkpoint,
    Delivery,
    Selection,
    TriggerError,
)

LANDING_COMMAND = {
    "duckdb": "meltano run tap-kondado target-duckdb",
    "postgres": "meltano run tap-kondado target-postgres",
}
_CHECKPOINT_COLUMNS = "consumer, stream, last_log_id, last_delivery, deliveries, committed_at, last_delivery_at"
# Added after the table's first release: a store made before it has no such column until the next save.
_LATER_COLUMN = "last_delivery_at"


class Cursor(Protocol):
    """What both engines' cursors offer (a DuckDB connection is one)."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def fetchall(self) -> list[tuple[Any, ...]]: ...


def quote(name: str) -> str:
    """An SQL identifier, quoted the standard way (both engines)."""
    return '"' + name.replace('"', '""') + '"'


class WarehouseStore:
    """The SQL of a trigger; subclasses open connections (`connection`), hold the consumer's `lock`."""

    engine = ""
    placeholder = "?"

    def __init__(self, schema: str = "tap_kondado") -> None:
        self.schema = schema
        self._reader: Cursor | None = None  # the open cursor of `reading()`, shared by the reads inside it

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One connection for every read inside the block (one look costs one connection, not one per query)."""
        if self._reader is not None:
            yield
            return
        with self.connection(write=False) as cursor:
            self._reader = cursor
            try:
                yield
            finally:
                self._reader = None

    @contextmanager
    def _read(self) -> Iterator[Cursor]:
        if self._reader is not None:
            yield self._reader
        else:
            with self.connection(write=False) as cursor:
                yield cursor

    # --- what each engine provides -------------------------------------------------------------------------
    def connection(self, *, write: bool) -> AbstractContextManager[Cursor]:
        """A cursor in one transaction, committed when the block ends without an error."""
        raise NotImplementedError

    def lock(self, consumer: str) -> AbstractContextManager[None]:
        """Held while a consumer's deliveries are read, consumed and committed; never blocks the job's own use."""
        raise NotImplementedError

    def where(self) -> str:
        """The warehouse, for messages (no password)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the store holds open."""

    def __enter__(self) -> WarehouseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reads ---------------------------------------------------------------------------------------------
    def table(self, name: str) -> str:
        return f"{quote(self.schema)}.{quote(name)}"

    def existing_tables(self, cursor: Cursor) -> set[str]:
        p = self.placeholder
        cursor.execute(f"SELECT table_name FROM information_schema.tables WHERE table_schema = {p}", [self.schema])
        return {row[0] for row in cursor.fetchall()}

    def check_ready(self, selection: Selection) -> None:
        """One line when the tap has not landed a table the selection reads, or a named id never appeared."""
        with self._read() as cursor:
            tables = self.existing_tables(cursor)
            for stream in selection.streams():
                if stream not in tables:
                    raise TriggerError(
                        f"no table {self.schema}.{stream} in {self.where()}: the tap has not landed it yet; "
                        f"run `{LANDING_COMMAND[self.engine]}` first (or give --schema)"
                    )
                self._check_items(cursor, stream, selection.items(stream))

    def _check_items(self, cursor: Cursor, stream: str, items: tuple[int, ...]) -> None:
        column = quote(ITEM_COLUMN[stream])
        missing = []
        for item in items:
            cursor.execute(f"SELECT 1 FROM {self.table(stream)} WHERE {column} = {self.placeholder} LIMIT 1", [item])
            if not cursor.fetchall():
                missing.append(item)
        if missing:
            cursor.execute(f"SELECT DISTINCT {column} FROM {self.table(stream)} ORDER BY 1 LIMIT 21")
            seen = [str(row[0]) for row in cursor.fetchall() if row[0] is not None]
            listed = ", ".join(seen[:20]) + (", ..." if len(seen) > 20 else "") if seen else "none"
            kind = ITEM_COLUMN[stream].split("_")[0]
            raise TriggerError(
                f"{kind} {', '.join(map(str, missing))} never appeared in {self.schema}.{stream}; "
                f"{kind}s that did: {listed}"
            )

    def read_after(self, stream: str, after: int, selection: Selection) -> tuple[list[Delivery], int]:
        """The selected logs of `stream` with id > `after`, and the newest id read (at least `after`).

        The newest id is taken first and bounds the read: a log landed meanwhile waits for the next check
        instead of being passed over by a checkpoint that never saw it.
        """
        p = self.placeholder
        item, name = quote(ITEM_COLUMN[stream]), quote(NAME_COLUMN[stream])
        deltas = "has_deltas" if stream == "pipeline_logs" else "NULL"
        with self._read() as cursor:
            cursor.execute(f"SELECT max(id) FROM {self.table(stream)} WHERE id > {p}", [after])
            newest = cursor.fetchall()[0][0]
            if newest is None:
                return [], after
            filters, params = [f"id > {p}", f"id <= {p}"], [after, int(newest)]
            if selection.clients:
                filters.append(f"client_id IN ({', '.join(p for _ in selection.clients)})")
                params.extend(selection.clients)
            if selection.items(stream):
                filters.append(f"{item} IN ({', '.join(p for _ in selection.items(stream))})")
                params.extend(selection.items(stream))
            cursor.execute(
                f"SELECT id, client_id, {item}, {name}, row_count, {deltas}, {quote('createdAt')} "
                f"FROM {self.table(stream)} WHERE {' AND '.join(filters)} ORDER BY id",
                params,
            )
            logs = [_delivery(stream, row) for row in cursor.fetchall()]
        return logs, int(newest)

    def newest_ids(self, since: datetime.datetime | None) -> dict[str, int]:
        """Per stream, the newest log id created before `since` (None: the newest of all)."""
        found = {}
        with self._read() as cursor:
            tables = self.existing_tables(cursor)
            for stream in STREAMS:
                if stream not in tables:
                    found[stream] = 0
                    continue
                if since is None:
                    cursor.execute(f"SELECT max(id) FROM {self.table(stream)}")
                else:
                    created = quote("createdAt")
                    cursor.execute(
                        f"SELECT max(id) FROM {self.table(stream)} WHERE {created} < {self.placeholder}", [since]
                    )
                found[stream] = int(cursor.fetchall()[0][0] or 0)
        return found

    # --- checkpoints ---------------------------------------------------------------------------------------
    def checkpoints(self, consumer: str | None = None) -> list[Checkpoint]:
        """The consumer's checkpoint rows (every consumer's when None); none before the table exists."""
        with self._read() as cursor:
            if CHECKPOINT_TABLE not in self.existing_tables(cursor):
                return []
            columns = _CHECKPOINT_COLUMNS
            if _LATER_COLUMN not in self.checkpoint_columns(cursor):
                columns = columns.replace(_LATER_COLUMN, f"NULL AS {_LATER_COLUMN}")
            sql = f"SELECT {columns} FROM {self.table(CHECKPOINT_TABLE)}"
            if consumer is None:
                cursor.execute(sql + " ORDER BY consumer, stream")
            else:
                cursor.execute(sql + f" WHERE consumer = {self.placeholder} ORDER BY stream", [consumer])
            return [
                Checkpoint(*row[:5], committed_at=_naive_utc(row[5]), last_delivery_at=_naive_utc(row[6]))
                for row in cursor.fetchall()
            ]

    def checkpoint_columns(self, cursor: Cursor) -> set[str]:
        p = self.placeholder
        cursor.execute(
            f"SELECT column_name FROM information_schema.columns WHERE table_schema = {p} AND table_name = {p}",
            [self.schema, CHECKPOINT_TABLE],
        )
        return {row[0] for row in cursor.fetchall()}

    def save(self, checkpoints: list[Checkpoint]) -> None:
        """Write checkpoint rows in one transaction (creating the table the first time)."""
        p = self.placeholder
        with self.connection(write=True) as cursor:
            self._create_table(cursor)
            for row in checkpoints:
                cursor.execute(
                    f"INSERT INTO {self.table(CHECKPOINT_TABLE)} ({_CHECKPOINT_COLUMNS}) "
                    f"VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT (consumer, stream) DO UPDATE SET "
                    "last_log_id = excluded.last_log_id, last_delivery = excluded.last_delivery, "
                    "deliveries = excluded.deliveries, committed_at = excluded.committed_at, "
                    "last_delivery_at = excluded.last_delivery_at",
                    [row.consumer, row.stream, row.last_log_id, row.last_delivery, row.deliveries, row.committed_at,
                     row.last_delivery_at],
                )  # fmt: skip

    def forget(self, consumer: str) -> None:
        with self.connection(write=True) as cursor:
            if CHECKPOINT_TABLE in self.existing_tables(cursor):
                cursor.execute(
                    f"DELETE FROM {self.table(CHECKPOINT_TABLE)} WHERE consumer = {self.placeholder}", [consumer]
                )

    def _create_table(self, cursor: Cursor) -> None:
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(self.schema)}")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table(CHECKPOINT_TABLE)} ("
            "consumer VARCHAR NOT NULL, stream VARCHAR NOT NULL, last_log_id BIGINT NOT NULL, "
            "last_delivery VARCHAR, deliveries BIGINT NOT NULL, committed_at TIMESTAMP, last_delivery_at TIMESTAMP, "
            "PRIMARY KEY (consumer, stream))"
        )
        # a table made before the column: both engines add it once
        cursor.execute(f"ALTER TABLE {self.table(CHECKPOINT_TABLE)} ADD COLUMN IF NOT EXISTS {_LATER_COLUMN} TIMESTAMP")


def _delivery(stream: str, row: tuple[Any, ...]) -> Delivery:
    log_id, client_id, item_id, name, rows, deltas, created = row
    return Delivery(
        stream=stream,
        log_id=int(log_id),
        client_id=None if client_id is None else int(client_id),
        item_id=None if item_id is None else int(item_id),
        item_name=name,
        rows=None if rows is None else int(rows),
        has_deltas=deltas,
        created_at=_naive_utc(created),
    )


def _naive_utc(value: Any) -> datetime.datetime | None:
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value if isinstance(value, datetime.datetime) else None
