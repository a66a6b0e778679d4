"""A `kondado` package build on DuckDB, PostgreSQL and Spark at scale: 300 pipelines every 10 minutes for 90 days
(about 3.9 million logs) and 50 models every hour, loaded straight into each warehouse; `dbt run` with the
project's dbt utility for that engine (`meltano install` first; Spark: `make spark`), then one hour of new logs
and `dbt run` again, as an hourly schedule runs it (the incremental models add that hour). Prints both builds'
times (dbt's own elapsed time, and the process's with dbt's start-up), peak memory (with Spark's JVM) and each
model's time from dbt's run_results.json.

    .venv/bin/python benchmarks/bench_health.py [--engine duckdb|postgres|spark|all] [--pipelines 300] [--days 90]
        [--transform OTHER/transform]

`--transform` builds another checkout's package on the same data (an earlier version, to compare). PostgreSQL
runs on a throwaway server from the machine's binaries (tests/postgres.py), in UTC; Spark in local mode with the
profile transform/profiles/spark, its tables in a temporary directory.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

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

    def bin_dir(self) -> Path:
        """Where the engine's dbt is: its Meltano utility's venv."""
        return UTILITIES / self.utility / "venv" / "bin"

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


class Spark(Engine):
    """Spark in local mode (transform/profiles/spark), its Parquet tables under a temporary DBT_SPARK_DIR, the logs
    generated there with the column names spark_land.py gives (lower case) and ids computed from (time, item), so
    no window over all of them."""

    name, profiles = "Spark", "profiles/spark"

    def __init__(self, tmp: Path) -> None:
        self.dir = tmp / "spark"
        self.bin = ROOT / ".venv-spark" / "bin"
        if not (self.bin / "dbt").exists():
            sys.exit("no .venv-spark: run `make spark` first")

    def execute(self, sql):
        env = {**os.environ, **self.dbt_env()}
        subprocess.run([self.bin / "python", "-c", _SPARK_EXECUTE, str(ROOT / "scripts"), sql], check=True, env=env)

    def create_sql(self):
        return "create schema if not exists tap_kondado"

    def logs_sql(self, pipelines, start, stop, first_id):
        def logs(table, items, count, step, columns):
            return f"""
create table if not exists tap_kondado.{table} using parquet as select * from (
    select 0 as id, {columns} from (select 0 as {items}, timestamp '{start}' as ts)) where false;
insert into tap_kondado.{table}
select ({first_id.format(table=table)}) + ((unix_timestamp(ts) - unix_timestamp(timestamp '{start}')) div {step}
        * {count} + {items} + 1) as id, {columns}
from (select id as {items} from range({count})) as items
lateral view explode(sequence(timestamp '{start}', timestamp '{stop}', interval {step} seconds)) as ts"""  # noqa: S608

        def lower(columns):
            return columns.replace('"createdAt"', "createdat").replace('"updatedAt"', "updatedat")

        hashes = {"hash_a": "abs(hash({0}, ts))", "hash_b": "abs(hash(ts, {0}))"}
        pipeline_columns = lower(PIPELINE_COLUMNS.format(**{k: v.format("p") for k, v in hashes.items()}))
        model_columns = MODEL_COLUMNS.format(hash_c="abs(hash(m, ts))", hash_d="abs(hash(ts, m))")
        pipeline_columns = pipeline_columns.replace("'Pipeline ' || p", "concat('Pipeline ', p)")
        model_columns = lower(model_columns).replace("'Model ' || m", "concat('Model ', m)")
        pipeline_columns = pipeline_columns.replace("cast(null as varchar)", "cast(null as string)")
        return ";".join(
            [
                logs("pipeline_logs", "p", pipelines, 600, pipeline_columns),
                logs("model_logs", "m", MODELS, 3600, model_columns),
            ]
        )

    def count(self):
        env = {**os.environ, **self.dbt_env()}
        sql = "select count(*) from tap_kondado.pipeline_logs"
        done = subprocess.run(
            [self.bin / "python", "-c", _SPARK_EXECUTE, str(ROOT / "scripts"), sql], check=True, env=env,
            capture_output=True, text=True,
        )  # fmt: skip
        return int(done.stdout.split()[-1])

    def dbt_env(self):
        return {"DBT_SPARK_DIR": str(self.dir), "DBT_SPARK_DRIVER_MEMORY": "8g"}

    def bin_dir(self):
        return self.bin


ENGINES = {"duckdb": DuckDB, "postgres": Postgres, "spark": Spark}


class Build(NamedTuple):
    wall: float  # the dbt process, start to exit
    dbt: float  # dbt's own elapsed time (run_results.json): the models and hooks, not its start-up
    peak_mib: int
    models: dict[str, float]


def build(engine: Engine, transform: Path, tmp: Path, as_of: datetime.datetime, *select: str) -> Build:
    """One `dbt run` (of `select`, else every model)."""
    bin_dir = engine.bin_dir()
    peak_file = tmp / "peak_rss"
    env = {**os.environ, **engine.dbt_env(), "DBT_TARGET_PATH": str(tmp / "target"), "DBT_LOG_PATH": str(tmp / "logs")}
    env["PEAK_RSS_FILE"] = str(peak_file)
    vars_ = json.dumps({"kondado_as_of": as_of.isoformat() + "Z"})
    # dbt's own script run by peak_rss.py, which records that process's high-water mark (not the loader's).
    command = [bin_dir / "python", ROOT / "benchmarks" / "peak_rss.py", bin_dir / "dbt", "run"]
    command += ["--profiles-dir", engine.profiles, "--vars", vars_, *(["--select", *select] if select else [])]
    started = time.monotonic()
    with subprocess.Popen(command, cwd=transform, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as dbt:
        tree_peak = TreePeak(dbt.pid)  # with Spark's JVM, which dbt starts as a child
        output = dbt.communicate()[0].decode(errors="replace")
        tree_peak.stop()
    seconds = time.monotonic() - started
    if dbt.returncode:
        sys.exit(f"dbt run on {engine.name} failed:\n{output[-6000:]}")
    peak_mib = max(int(peak_file.read_text()) // 1024, tree_peak.mib)
    run_results = json.loads((tmp / "target" / "run_results.json").read_text())
    models = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in run_results["results"]}
    return Build(seconds, run_results["elapsed_time"], peak_mib, models)


class TreePeak:
    """The highest total RSS of a process and its descendants, sampled every 0.2 s from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid, self.mib, self._done = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(0.2):
            parents: dict[int, int] = {}
            rss: dict[int, int] = {}
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        fields = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines())
                    except (OSError, ValueError):
                        continue
                    parents[int(entry.name)] = int(fields.get("PPid", "0"))
                    rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0])
            tree, grew = {self.pid}, True
            while grew:
                more = {pid for pid, parent in parents.items() if parent in tree} - tree
                tree |= more
                grew = bool(more)
            self.mib = max(self.mib, sum(rss.get(pid, 0) for pid in tree) // 1024)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def bench(engine_name: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        engine = ENGINES[engine_name](tmp)
        if not (engine.bin_dir() / "dbt").exists():
            sys.exit(f"the {engine.utility} utility is not installed: run `meltano install` first")
        try:
            engine.execute(engine.create_sql())
            engine.execute(engine.logs_sql(args.pipelines, str(END - args.days * DAY), str(END), "select 0"))
            logs = engine.count()
            full = build(engine, args.transform, tmp, END)
            append = "select max(id) from tap_kondado.{table}"
            engine.execute(engine.logs_sql(args.pipelines, str(END + TEN_MINUTES), str(END + HOUR), append))
            hourly = build(engine, args.transform, tmp, END + HOUR)
            idle = build(engine, args.transform, tmp, END + HOUR, "tag:no_such_tag")  # dbt starting, no model
        finally:
            engine.close()
    print(
        f"{engine.name}, {args.pipelines} pipelines every 10 min for {args.days} days ({logs:,} logs), {args.transform}"
    )
    for label, run in (("full build", full), ("after one hour of new logs", hourly)):
        print(
            f"  {label:28} {run.dbt:6.1f} s by dbt's clock, {run.wall:6.1f} s the process, {run.peak_mib} MiB at peak"
        )
    print(f"  {'dbt run of no model':28} {idle.wall:6.1f} s the process (dbt starting up)")
    timings = full.models
    print(f"  {'model':40} {'full':>8} {'hourly':>8}")
    for name, seconds in sorted(timings.items(), key=lambda item: -item[1]):
        print(f"  {name:40} {seconds:6.2f} s {hourly.models.get(name, 0):6.2f} s")
    health = sum(seconds for name, seconds in timings.items() if name.endswith("_health"))
    print(f"  health models: {health:.2f} s, {100 * health / sum(timings.values()):.0f}% of the models' time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=[*ENGINES, "all"], default="all")
    parser.add_argument("--pipelines", type=int, default=300)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--transform", type=Path, default=ROOT / "transform")
    args = parser.parse_args()
    for name in ENGINES if args.engine == "all" else [args.engine]:
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


_SPARK_EXECUTE = """
import sys
sys.path.insert(0, sys.argv[1])
from pyspark.sql import SparkSession
from spark_land import spark_conf
builder = SparkSession.builder.enableHiveSupport()
for key, value in spark_conf().items():
    builder = builder.config(key, value)
spark = builder.getOrCreate()
for statement in sys.argv[2].split(";"):
    if statement.strip():
        rows = spark.sql(statement).collect()
print(rows[0][0] if rows else "")
spark.stop()
"""


if __name__ == "__main__":
    main()
