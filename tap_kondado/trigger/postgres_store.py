"""A trigger on PostgreSQL: one connection, and a session advisory lock per consumer.

The advisory lock is held by the trigger's own connection, so the job may use the same database freely, and
PostgreSQL lets go of it when the trigger's process dies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tap_kondado.messages import first_line
from tap_kondado.trigger.model import TriggerError
from tap_kondado.trigger.store import WarehouseStore

_LOCK_NAMESPACE = "kondado-trigger"


class PostgresStore(WarehouseStore):
    """Checkpoints and deliveries in a PostgreSQL database (target-postgres's)."""

    engine = "postgres"
    placeholder = "%s"

    def __init__(self, url: str, schema: str = "tap_kondado") -> None:
        super().__init__(schema)
        try:
            import psycopg  # noqa: PLC0415 (the optional extra: missing, it is one line, not a traceback)
            from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415
        except ImportError as error:
            raise TriggerError("psycopg is not installed: pip install 'tap-kondado[trigger]'") from error
        self._psycopg = psycopg
        try:
            params = conninfo_to_dict(url)
        except (psycopg.Error, ValueError) as error:
            raise TriggerError("not a valid PostgreSQL URL (postgresql://user:password@host:port/db)") from error
        self._where = f"PostgreSQL database {params.get('dbname', '?')} on {params.get('host', 'localhost')}:" + str(
            params.get("port", 5432)
        )
        password = str(params.get("password") or "")
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as error:
            raise TriggerError(f"cannot connect to {self._where}: {first_line(error, password)}") from error
        self._conn.execute("SET TIME ZONE 'UTC'")  # naive timestamps are UTC, whatever the server's zone

    def where(self) -> str:
        return self._where

    @contextmanager
    def connection(self, *, write: bool) -> Iterator[Any]:  # noqa: ARG002 (one connection reads and writes)
        try:
            with self._conn.transaction(), self._conn.cursor() as cursor:
                yield cursor
        except self._psycopg.Error as error:
            raise TriggerError(f"{self._where}: {first_line(error)}") from error

    @contextmanager
    def lock(self, consumer: str) -> Iterator[None]:
        key = int.from_bytes(
            hashlib.sha256(f"{_LOCK_NAMESPACE}\0{self.schema}\0{consumer}".encode()).digest()[:8], "big", signed=True
        )
        self._conn.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            yield
        finally:
            self._conn.execute("SELECT pg_advisory_unlock(%s)", [key])

    def close(self) -> None:
        self._conn.close()
