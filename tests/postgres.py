"""A throwaway PostgreSQL server on 127.0.0.1, made from the machine's own PostgreSQL binaries.

initdb and pg_ctl refuse to run as root, so as root they run as the `postgres` user, in a
directory it owns. The cluster trusts local connections and skips fsync: it only lives for
one test run and is removed afterwards. The pytest workers of one run share one server
(`shared_server`): the first to need it starts it, the run's main process stops it.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REQUIRE_ENV = "TAP_KONDADO_REQUIRE_POSTGRES"  # "1" (set by .ci/run): missing binaries fail instead of skip
INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found: install them (Debian/Ubuntu: "
    "`apt-get install postgresql`; macOS: `brew install postgresql`) or point PG_BIN at their directory"
)
SERVICE_USER = "postgres"
SHARED_RECORD = "postgres.json"  # in a run's directory: the shared server's port and files


@dataclass
class PostgresServer:
    """A running cluster: connect as `user` (no password) to `host:port`."""

    bin_dir: Path
    data_dir: Path
    port: int
    host: str = "127.0.0.1"
    user: str = "postgres"

    def dsn(self, database: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={database}"

    def meltano_env(self, database: str, prefix: str = "TARGET_POSTGRES") -> dict[str, str]:
        """Meltano's connection settings for `database`: target-postgres's, or dbt-postgres's (prefix DBT_POSTGRES)."""
        name = "DATABASE" if prefix == "TARGET_POSTGRES" else "DBNAME"
        return {
            f"{prefix}_HOST": self.host,
            f"{prefix}_PORT": str(self.port),
            f"{prefix}_USER": self.user,
            f"{prefix}_PASSWORD": "",
            f"{prefix}_{name}": database,
        }

    def create_database(self, name: str) -> str:
        """A fresh empty database; its name, which is `name` with the pytest worker's id: use the name returned.

        The workers of a run share one server: the suffix keeps two tests that pick the same
        name on different workers apart.
        """
        import psycopg

        if worker := os.environ.get("PYTEST_XDIST_WORKER"):
            name = f"{name}_{worker}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def stop(self) -> None:
        """Stop the server and delete its files."""
        _run_as_owner([str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "immediate", "-w"])
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def shared_server(run_dir: Path) -> PostgresServer:
    """The run's server, started by the first process to ask (a file lock in `run_dir` orders them)."""
    with _locked(run_dir):
        record = run_dir / SHARED_RECORD
        if record.exists():
            fields = json.loads(record.read_text())
            return PostgresServer(Path(fields["bin_dir"]), Path(fields["data_dir"]), fields["port"])
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise RuntimeError(INSTALL_HINT)
        server = start_server(bin_dir)
        record.write_text(
            json.dumps({"bin_dir": str(server.bin_dir), "data_dir": str(server.data_dir), "port": server.port})
        )
        return server


def stop_shared_server(run_dir: Path) -> None:
    """Stop the run's server, if one was started: once every process that used it is done."""
    with _locked(run_dir):
        record = run_dir / SHARED_RECORD
        if record.exists():
            fields = json.loads(record.read_text())
            PostgresServer(Path(fields["bin_dir"]), Path(fields["data_dir"]), fields["port"]).stop()
            record.unlink()


@contextlib.contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    with (run_dir / "postgres.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def find_bin_dir() -> Path | None:
    """The directory holding initdb and pg_ctl: $PG_BIN, Debian's newest, or the PATH."""
    candidates = [os.environ.get("PG_BIN", "")]
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    candidates += debian + sorted(glob.glob("/usr/pgsql-*/bin"), reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(str(Path(initdb).resolve().parent))
    for candidate in filter(None, candidates):
        if (Path(candidate) / "initdb").is_file() and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    return None


def unavailable_reason() -> str | None:
    """Why no server can be started here (None: one can)."""
    if find_bin_dir() is None:
        return INSTALL_HINT
    if _is_root():
        try:
            import pwd

            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            return f"running as root, PostgreSQL needs a '{SERVICE_USER}' user to run as; none exists"
    return None


def start_server(bin_dir: Path, *, attempts: int = 3, time_zone: str | None = None) -> PostgresServer:
    """initdb a cluster in a temp directory and start it on a free port (`time_zone`: the server's TimeZone)."""
    root = Path(tempfile.mkdtemp(prefix="tap-kondado-pg-"))
    data_dir = root / "data"
    if _is_root():
        shutil.chown(root, SERVICE_USER, SERVICE_USER)
    _run_as_owner(
        [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]
    )
    for attempt in range(attempts):
        port = _free_port()
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off -c full_page_writes=off"
        if time_zone:
            options += f" -c TimeZone={time_zone}"
        pg_ctl = [str(bin_dir / "pg_ctl"), "start", "-D", str(data_dir), "-w", "-t", "60"]
        started = _run_as_owner([*pg_ctl, "-o", options, "-l", str(root / "server.log")], check=False)
        if started.returncode == 0:
            return PostgresServer(bin_dir, data_dir, port)
        # Most likely the port was taken between _free_port() and the start: try another.
        if attempt == attempts - 1:
            log = (root / "server.log").read_text(errors="replace") if (root / "server.log").exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            msg = f"pg_ctl start failed: {started.stderr}\n{log}"
            raise RuntimeError(msg)
        time.sleep(0.2)
    raise AssertionError  # unreachable


def _run_as_owner(command: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    if _is_root():
        command = ["runuser", "-u", SERVICE_USER, "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd="/")
    if check and result.returncode != 0:
        msg = f"{' '.join(command)} failed ({result.returncode}): {result.stderr or result.stdout}"
        raise RuntimeError(msg)
    return result


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
