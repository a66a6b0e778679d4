"""A trigger on a DuckDB file: short connections, and a lock file beside the database.

DuckDB lets one process write a file at a time, so the trigger holds no connection while the job runs (the
job may open the same file, to read the new rows or to run dbt), and its lock is a file lock beside it.
"""

from __future__ import annotations

import fcntl
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tap_kondado.messages import first_line
from tap_kondado.trigger.model import TriggerError
from tap_kondado.trigger.store import LANDING_COMMAND, WarehouseStore

BUSY_WAIT_SECONDS = 60.0  # how long to wait for another process (a load, a dbt build) to let go of the file
_BUSY_POLL = 0.2


class DuckDBStore(WarehouseStore):
    """Checkpoints and deliveries in a DuckDB file (target-duckdb's)."""

    engine = "duckdb"
    placeholder = "?"

    def __init__(self, path: str | Path, schema: str = "tap_kondado", *, busy_wait: float = BUSY_WAIT_SECONDS) -> None:
        super().__init__(schema)
        try:
            import duckdb  # noqa: PLC0415 (the optional extra: missing, it is one line, not a traceback)
        except ImportError as error:
            raise TriggerError("duckdb is not installed: pip install 'tap-kondado[trigger]'") from error
        self._duckdb = duckdb
        self.path = Path(path)
        self.busy_wait = busy_wait
        if not self.path.is_file():
            raise TriggerError(
                f"no DuckDB file at {self.path}: the tap has not landed anything there; "
                f"run `{LANDING_COMMAND['duckdb']}` first"
            )

    def where(self) -> str:
        return str(self.path)

    @contextmanager
    def connection(self, *, write: bool) -> Iterator[Any]:
        conn = self._connect(write=write)
        try:
            conn.execute("SET TimeZone = 'UTC'")  # timestamps with a zone convert in UTC, whatever TZ says
            conn.execute("BEGIN TRANSACTION")
            yield conn
            conn.execute("COMMIT")
        except self._duckdb.Error as error:
            raise TriggerError(f"DuckDB at {self.path}: {first_line(error)}") from error
        finally:
            conn.close()

    def _connect(self, *, write: bool) -> Any:
        """A connection; while another process writes the file, wait for it (up to busy_wait seconds)."""
        deadline = time.monotonic() + self.busy_wait
        while True:
            try:
                return self._duckdb.connect(str(self.path), read_only=not write)
            except self._duckdb.IOException as error:
                if "lock" not in str(error).lower() or time.monotonic() >= deadline:
                    raise TriggerError(f"cannot open {self.path}: {first_line(error)}") from error
                time.sleep(_BUSY_POLL)
            except self._duckdb.Error as error:
                raise TriggerError(f"cannot open {self.path} as DuckDB: {first_line(error)}") from error

    @contextmanager
    def lock(self, consumer: str) -> Iterator[None]:
        digest = hashlib.sha256(f"{self.schema}\0{consumer}".encode()).hexdigest()[:16]
        lock_path = self.path.with_name(f"{self.path.name}.kondado-trigger-{digest}.lock")
        with lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # the OS lets go if this process dies
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
