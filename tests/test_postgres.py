"""tests/postgres.py's shared server: the workers of one run that ask at once get one server, stopped once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import postgres as pg

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
psycopg = pytest.importorskip("psycopg")
ROOT = Path(__file__).resolve().parent.parent
# One worker asking for the run's server: its port.
ASK = "import sys, pathlib; from tests import postgres; print(postgres.shared_server(pathlib.Path(sys.argv[1])).port)"


@pytest.fixture
def binaries():
    reason = pg.unavailable_reason()
    if reason is not None:
        if os.environ.get(pg.REQUIRE_ENV) == "1":
            pytest.fail(f"{pg.REQUIRE_ENV}=1 but {reason}")
        pytest.skip(reason)


@pytest.mark.usefixtures("binaries")
def test_workers_asking_at_once_share_one_server_and_the_run_stops_it(tmp_path):
    askers = [
        subprocess.Popen([sys.executable, "-c", ASK, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    try:
        ports = {asker.communicate(timeout=120)[0].strip() for asker in askers}
        assert all(asker.returncode == 0 for asker in askers)
        assert len(ports) == 1
        server = pg.shared_server(tmp_path)  # a later ask: the same one, not a second
        assert str(server.port) == ports.pop()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        pg.stop_shared_server(tmp_path)
    assert not (tmp_path / pg.SHARED_RECORD).exists()
    assert not server.data_dir.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.dsn(), connect_timeout=5)


def test_a_database_name_carries_the_worker(monkeypatch):
    created = []

    class Connection:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, statement):
            created.append(statement)

    monkeypatch.setattr(psycopg, "connect", lambda *_args, **_kwargs: Connection())
    server = pg.PostgresServer(Path("/nonexistent"), Path("/nonexistent/data"), 5432)
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    assert server.create_database("e2e") == "e2e_gw3"
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert server.create_database("e2e") == "e2e"
    assert created == [
        'DROP DATABASE IF EXISTS "e2e_gw3"',
        'CREATE DATABASE "e2e_gw3"',
        'DROP DATABASE IF EXISTS "e2e"',
        'CREATE DATABASE "e2e"',
    ]
