"""The cost of one idle `kondado-trigger` check on 4 million logs, on DuckDB and PostgreSQL (target: < 100 ms).

Builds each warehouse as the targets do (one row per log, primary key `id`): 300 pipelines of 3 accounts
running every 10 minutes for 90 days, about 3.9 million pipeline logs and 0.4 million model logs. Then a
consumer catches up once (the first check, reading every delivery), and the idle check (nothing new since)
is timed: in process (the Python API: what a Dagster sensor pays each tick) and as the whole command (a
fresh process: interpreter start, import, connect). Prints medians over --repeats runs, with min-max.

PostgreSQL: a throwaway server (the tests' helper), or --postgres URL. Usage:
    python benchmarks/bench_trigger.py [--logs 3900000] [--repeats 15] [--postgres URL]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from tap_kondado.trigger import DuckDBStore, PostgresStore, Selection, Trigger

ROOT = Path(__file__).resolve().parent.parent
TRIGGER = str(Path(sys.executable).with_name("kondado-trigger"))
PIPELINES, MODELS, FIRST_ID = 300, 30, 1_000_000


def generate(path: Path, logs: int) -> None:
    """pipeline_logs and model_logs as target-duckdb lands them, built in SQL (seconds, not minutes)."""
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE SCHEMA tap_kondado")
        conn.execute(
            "CREATE TABLE tap_kondado.pipeline_logs (id BIGINT PRIMARY KEY, client_id BIGINT, pipeline_id BIGINT, "
            "pipeline_name VARCHAR, row_count BIGINT, has_deltas BOOLEAN, createdat TIMESTAMP)"
        )
        conn.execute(
            f"INSERT INTO tap_kondado.pipeline_logs SELECT {FIRST_ID} + i, i % 3 + 1, 700 + i % {PIPELINES}, "  # noqa: S608
            f"'pipeline ' || (700 + i % {PIPELINES}), CASE WHEN i % 4 = 0 THEN 0 ELSE i % 997 END, i % 4 <> 0, "
            f"TIMESTAMP '2026-09-01' + to_seconds(i * 2) FROM range({logs}) t(i)"
        )
        conn.execute(
            "CREATE TABLE tap_kondado.model_logs (id BIGINT PRIMARY KEY, client_id BIGINT, model_id BIGINT, "
            "model_name VARCHAR, row_count BIGINT, createdat TIMESTAMP)"
        )
        conn.execute(
            f"INSERT INTO tap_kondado.model_logs SELECT {FIRST_ID} + i, i % 3 + 1, 100 + i % {MODELS}, "  # noqa: S608
            f"'model ' || (100 + i % {MODELS}), 5000 + i % 100, TIMESTAMP '2026-09-01' + to_seconds(i * 20) "
            f"FROM range({logs // 10}) t(i)"
        )


def copy_to_postgres(source: Path, url: str) -> None:
    import psycopg  # noqa: PLC0415

    with duckdb.connect(str(source), read_only=True) as db, psycopg.connect(url, autocommit=True) as pg:
        pg.execute("DROP SCHEMA IF EXISTS tap_kondado CASCADE")
        pg.execute("CREATE SCHEMA tap_kondado")
        pg.execute(
            "CREATE TABLE tap_kondado.pipeline_logs (id BIGINT PRIMARY KEY, client_id BIGINT, pipeline_id BIGINT, "
            'pipeline_name TEXT, row_count BIGINT, has_deltas BOOLEAN, "createdAt" TIMESTAMP)'
        )
        pg.execute(
            "CREATE TABLE tap_kondado.model_logs (id BIGINT PRIMARY KEY, client_id BIGINT, model_id BIGINT, "
            'model_name TEXT, row_count BIGINT, "createdAt" TIMESTAMP)'
        )
        for table in ("pipeline_logs", "model_logs"):
            with pg.cursor().copy(f"COPY tap_kondado.{table} FROM STDIN") as copy:
                for row in db.execute(f"SELECT * FROM tap_kondado.{table}").fetchall():  # noqa: S608
                    copy.write_row(row)
        pg.execute("ANALYZE")


def time_idle(store_factory, command: list[str], repeats: int) -> tuple[list[float], list[float], int]:
    """Catch up once, then time idle checks: in process, and as the whole command."""
    selection = Selection(pipelines=(701, 702, 703))
    with store_factory() as store:
        trigger = Trigger(store, "bench", selection)
        first = trigger.check()
        caught_up = len(first.batch.deliveries) if first.batch else 0
        if first.batch:
            first.batch.commit()
        in_process = []
        for _ in range(repeats):
            started = time.perf_counter()
            check = trigger.check()
            in_process.append((time.perf_counter() - started) * 1000)
            if check.batch is not None:
                raise SystemExit("the idle check found something")
    whole = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        whole.append((time.perf_counter() - started) * 1000)
        if not result.stdout.startswith("nothing new for bench"):
            raise SystemExit(f"the idle command said: {result.stdout}")
    return in_process, whole, caught_up


def figure(values: list[float]) -> str:
    return f"{statistics.median(values):7.1f} ms (min {min(values):.1f}, max {max(values):.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--logs", type=int, default=3_900_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--postgres", help="a database to fill (its schema tap_kondado is replaced)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-trigger-"))
    server = None
    try:
        path = folder / "warehouse.duckdb"
        started = time.perf_counter()
        generate(path, args.logs)
        took = time.perf_counter() - started
        print(f"{args.logs:,} pipeline logs, {args.logs // 10:,} model logs in DuckDB ({took:.0f} s)")
        select = ["--consumer", "bench", "--pipeline", "701", "702", "703", "--", "true"]
        results = {
            "DuckDB": time_idle(lambda: DuckDBStore(path), [TRIGGER, "--duckdb", str(path), *select], args.repeats)
        }
        url = args.postgres
        if url is None:
            sys.path.insert(0, str(ROOT))
            from tests import postgres as pg  # noqa: PLC0415 (a throwaway server, as the tests start one)

            if (bin_dir := pg.find_bin_dir()) is not None:
                server = pg.start_server(bin_dir)
                url = server.dsn()
        if url:
            started = time.perf_counter()
            copy_to_postgres(path, url)
            print(f"copied to PostgreSQL ({time.perf_counter() - started:.0f} s)")
            results["PostgreSQL"] = time_idle(
                lambda: PostgresStore(url), [TRIGGER, "--postgres", url, *select], args.repeats
            )
        print(f"\nidle check, 3 pipelines selected, medians of {args.repeats} (target: < 100 ms)")
        for engine, (in_process, whole, caught_up) in results.items():
            print(
                f"  {engine:<11} in process {figure(in_process)}   whole command {figure(whole)}   "
                f"(first check consumed {caught_up:,} deliveries)"
            )
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
