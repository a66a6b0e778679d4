"""A `kondado` package build on DuckDB and PostgreSQL at scale: 300 pipelines every 10 minutes for 90 days (about
3.9 million logs) and 50 models every hour, loaded straight into each warehouse; `dbt run` with the project's
dbt utility for that engine (`meltano install` first), then one hour of new logs and `dbt run` again, as an
hourly schedule runs it. Prints both builds' times, the dbt process's peak memory and each model's time from
dbt's run_results.json.

    .venv/bin/python benchmarks/bench_health.py [--engine duckdb|postgres|both] [--pipelines 300] [--days 90]
        [--transform OTHER/transform]

`--transform` builds another checkout's package on the same data (an earlier version, to compare). PostgreSQL
runs on a throwaway server from the machine's binaries (tests/postgres.py), in UTC.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests import postgres  # noqa: E402  (the suite's throwaway server)

UTILITIES = ROOT / ".meltano" / "utilities"
END = datetime.datetime(2026, 11, 30, 12)
DAY, HOUR, TEN_MINUTES = (datetime.timedelta(minutes=m) for m in (1440, 60, 10))
MODELS = 50

# Columns as the SQL targets land them; row counts and durations pseudo-random but the same on every run.
PIPELINE_COLUMNS = """
    1 + p % 5 as client_id, p as pipeline_id, 'Pipeline ' || p as pipeline_name, ts as "createdAt", ts as "updatedAt",
    100 + {hash_a} % 50 as row_count, 110 + {hash_a} % 60 as raw_row_count, 5 + {hash_b} % 20 as execution_time_seconds,
    0.01 as mb_estimate, true as is_billable, true as has_deltas, cast(null as varchar) as initial_savepoint,
    cast(null as varchar) as new_savepoint, '3.220.239.218' as external_ip
"""
MODEL_COLUMNS = """
    1 + m % 5 as client_id, m as model_id, 'Model ' || m as model_name, ts as "createdAt", ts as "updatedAt",
    1000 + {hash_c} % 100 as row_count, 1 + {hash_d} % 60 as execution_time_seconds
"""


class Engine:
    """How one warehouse is loaded and how its dbt utility reaches it."""

    name = ""
    utility = ""
    profiles = ""

    def series(self, alias: str, start: str, stop: str, step: str) -> str:
        raise NotImplementedError

    def items(self, alias: str, count: int) -> str:
        raise NotImplementedError

    def hashes(self, item: str) -> dict[str, str]:
        raise NotImplementedError

    def execute(self, sql: str) -> None:
        raise NotImplementedError

    def dbt_env(self) -> dict[str, str]:
        raise NotImplementedError

    def logs_sql(self, pipelines: int, start: str, stop: str, first_id: str) -> str:
        """Create or append (`first_id` the id before the first) the logs of every item from `start` to `stop`."""
        pipeline_columns = PIPELINE_COLUMNS.format(**self.hashes("p"))
        model_columns = MODEL_COLUMNS.format(**self.hashes("m"))
        return f"""
insert into tap_kondado.pipeline_logs
select ({first_id.format(table="pipeline_logs")}) + row_number() over (order by ts, p) * 7 as id, {pipeline_columns}
from {self.items("pipelines(p)", pipelines)}, {self.series("times(ts)", start, stop, "10 minute")};
insert into tap_kondado.model_logs
select ({first_id.format(table="model_logs")}) + row_number() over (order by ts, m) * 11 as id, {model_columns}
from {self.items("models(m)", MODELS)}, {self.series("times(ts)", start, stop, "1 hour")};
"""  # noqa: S608  (the benchmark's own constants)

    def create_sql(self) -> str:
        """Empty tables of the landed shape (the first insert's columns, no rows)."""
        pipeline_columns = PIPELINE_COLUMNS.format(**self.hashes("p"))
        model_columns = MODEL_COLUMNS.format(**self.hashes("m"))
        return f"""
create schema tap_kondado;
create table tap_kondado.pipeline_logs as
select cast(0 as bigint) as id, {pipeline_columns}
from {self.items("pipelines(p)", 1)}, {self.series("times(ts)", str(END), str(END), "10 minute")} where false;
create table tap_kondado.model_logs as
select cast(0 as bigint) as id, {model_columns}
from {self.items("models(m)", 1)}, {self.series("times(ts)", str(END), str(END), "1 hour")} where false;
"""  # noqa: S608

    def count(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the engine started."""


class DuckDB(Engine):
    name, utility, profiles = "DuckDB", "dbt-duckdb", "profiles/duckdb"

    def __init__(self, tmp: Path) -> None:
        self.path = tmp / "bench.duckdb"

    def series(self, alias, start, stop, step):
        return f"generate_series(timestamp '{start}', timestamp '{stop}', interval {step}) as {alias}"

    def items(self, alias, count):
        return f"range({count}) as {alias}"

    def hashes(self, item):
        return {"hash_a": f"hash({item}, ts)", "hash_b": f"hash(ts, {item})", "hash_c": f"hash({item}, ts)",
                "hash_d": f"hash(ts, {item})"}  # fmt: skip

    def execute(self, sql):
        # Run by the utility's Python: its DuckDB writes the file format the dbt run reads.
        python = UTILITIES / self.utility / "venv" / "bin" / "python"
        subprocess.run([python, "-c", _DUCKDB_EXECUTE, str(self.path), sql], check=True)

    def count(self):
        python = UTILITIES / self.utility / "venv" / "bin" / "python"
        query = "select count(*) from tap_kondado.pipeline_logs"
        done = subprocess.run([python, "-c", _DUCKDB_QUERY, str(self.path), query], check=True, capture_output=True)
        return int(done.stdout)

    def dbt_env(self):
        return {"DBT_DUCKDB_PATH": str(self.path)}


class Postgres(Engine):
    name, utility, profiles = "PostgreSQL", "dbt-postgres", "profiles/postgres"

    def __init__(self, _tmp: Path) -> None:
        bin_dir = postgres.find_bin_dir()
        if bin_dir is None:
            sys.exit(postgres.INSTALL_HINT)
        self.server = postgres.start_server(bin_dir, time_zone="UTC")
        self.database = self.server.create_database("bench")

    def series(self, alias, start, stop, step):
        return f"generate_series(timestamp '{start}', timestamp '{stop}', interval '{step}') as {alias}"

    def items(self, alias, count):
        return f"generate_series(0, {count - 1}) as {alias}"

    def hashes(self, item):
        key = f"({item} || '/' || ts)"
        return {"hash_a": f"abs(hashtext({key}))", "hash_b": f"abs(hashtext('b' || {key}))",
                "hash_c": f"abs(hashtext({key}))", "hash_d": f"abs(hashtext('d' || {key}))"}  # fmt: skip

    def execute(self, sql):
        with psycopg.connect(self.server.dsn(self.database), autocommit=True) as conn:
            conn.execute(sql)
            conn.execute("analyze")

    def count(self):
        with psycopg.connect(self.server.dsn(self.database)) as conn:
            return conn.execute("select count(*) from tap_kondado.pipeline_logs").fetchone()[0]

    def dbt_env(self):
        return self.server.meltano_env(self.database, prefix="DBT_POSTGRES")

    def close(self):
        self.server.stop()


ENGINES = {"duckdb": DuckDB, "postgres": Postgres}


def build(engine: Engine, transform: Path, tmp: Path, as_of: datetime.datetime) -> tuple[float, int, dict]:
    """One `dbt run`: (seconds, the dbt process's peak RSS in MiB, each model's seconds)."""
    bin_dir = UTILITIES / engine.utility / "venv" / "bin"
    peak_file = tmp / "peak_rss"
    env = {**os.environ, **engine.dbt_env(), "DBT_TARGET_PATH": str(tmp / "target"), "DBT_LOG_PATH": str(tmp / "logs")}
    env["PEAK_RSS_FILE"] = str(peak_file)
    vars_ = json.dumps({"kondado_as_of": as_of.isoformat() + "Z"})
    # dbt's own script run by peak_rss.py, which records that process's high-water mark (not the loader's).
    command = [bin_dir / "python", ROOT / "benchmarks" / "peak_rss.py", bin_dir / "dbt", "run"]
    command += ["--profiles-dir", engine.profiles, "--vars", vars_]
    started = time.monotonic()
    done = subprocess.run(command, cwd=transform, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode:
        sys.exit(f"dbt run on {engine.name} failed:\n{done.stdout[-4000:]}{done.stderr[-2000:]}")
    peak_mib = int(peak_file.read_text()) // 1024
    results = json.loads((tmp / "target" / "run_results.json").read_text())["results"]
    return seconds, peak_mib, {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results}


def bench(engine_name: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        engine = ENGINES[engine_name](tmp)
        if not (UTILITIES / engine.utility / "venv" / "bin" / "dbt").exists():
            sys.exit(f"the {engine.utility} utility is not installed: run `meltano install` first")
        try:
            engine.execute(engine.create_sql())
            engine.execute(engine.logs_sql(args.pipelines, str(END - args.days * DAY), str(END), "select 0"))
            logs = engine.count()
            full = build(engine, args.transform, tmp, END)
            append = "select max(id) from tap_kondado.{table}"
            engine.execute(engine.logs_sql(args.pipelines, str(END + TEN_MINUTES), str(END + HOUR), append))
            hourly = build(engine, args.transform, tmp, END + HOUR)
        finally:
            engine.close()
    print(
        f"{engine.name}, {args.pipelines} pipelines every 10 min for {args.days} days ({logs:,} logs), {args.transform}"
    )
    for label, (seconds, peak, _) in (("full build", full), ("after one hour of new logs", hourly)):
        print(f"  {label:28} {seconds:6.1f} s, dbt's peak memory {peak} MiB")
    timings = full[2]
    for name, seconds in sorted(timings.items(), key=lambda item: -item[1]):
        print(f"  {name:40} {seconds:6.2f} s")
    health = sum(seconds for name, seconds in timings.items() if name.endswith("_health"))
    print(f"  health models: {health:.2f} s, {100 * health / sum(timings.values()):.0f}% of the models' time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=[*ENGINES, "both"], default="both")
    parser.add_argument("--pipelines", type=int, default=300)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--transform", type=Path, default=ROOT / "transform")
    args = parser.parse_args()
    for name in ENGINES if args.engine == "both" else [args.engine]:
        bench(name, args)


_DUCKDB_EXECUTE = """
import sys, duckdb
with duckdb.connect(sys.argv[1]) as conn:
    conn.execute(sys.argv[2])
"""
_DUCKDB_QUERY = """
import sys, duckdb
with duckdb.connect(sys.argv[1]) as conn:
    print(conn.execute(sys.argv[2]).fetchone()[0])
"""


if __name__ == "__main__":
    main()
