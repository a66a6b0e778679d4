"""The health models' share of a `kondado` package build on DuckDB: 300 pipelines every 10 minutes for 90 days
(about 3.9 million logs) and 50 models every hour, loaded straight into a DuckDB file, then `dbt run` with the
project's dbt-duckdb utility (`meltano install` first). Prints each model's time from dbt's run_results.json.

    .venv/bin/python benchmarks/bench_health.py [--pipelines 300] [--days 90] [--transform OTHER/transform]

`--transform` builds another checkout's package on the same data (an earlier version, to compare).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UTILITY = ROOT / ".meltano" / "utilities" / "dbt-duckdb" / "venv" / "bin"
END = "2026-11-30 12:00:00"

LOAD = """
create schema tap_kondado;
create table tap_kondado.pipeline_logs as
select
    row_number() over (order by ts, p) * 7 as id, 1 + p % 5 as client_id, p as pipeline_id,
    'Pipeline ' || p as pipeline_name, ts as "createdAt", ts as "updatedAt",
    100 + hash(p, ts) % 50 as row_count, 110 + hash(p, ts) % 60 as raw_row_count,
    5 + hash(ts, p) % 20 as execution_time_seconds, 0.01 as mb_estimate, true as is_billable, true as has_deltas,
    null::varchar as initial_savepoint, null::varchar as new_savepoint, '3.220.239.218' as external_ip
from range({pipelines}) as pipelines(p),
    generate_series(timestamp '{end}' - interval {days} day, timestamp '{end}', interval 10 minute) as times(ts);
create table tap_kondado.model_logs as
select
    row_number() over (order by ts, m) * 11 as id, 1 + m % 5 as client_id, m as model_id, 'Model ' || m as model_name,
    ts as "createdAt", ts as "updatedAt", 1000 + hash(m, ts) % 100 as row_count,
    1 + hash(ts, m) % 60 as execution_time_seconds
from range(50) as models(m),
    generate_series(timestamp '{end}' - interval {days} day, timestamp '{end}', interval 1 hour) as times(ts);
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=300)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--transform", type=Path, default=ROOT / "transform")
    args = parser.parse_args()
    if not (UTILITY / "dbt").exists():
        sys.exit("the dbt-duckdb utility is not installed: run `meltano install` first")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        load = LOAD.format(pipelines=args.pipelines, days=args.days, end=END)
        subprocess.run([UTILITY / "python", "-c", _LOADER, str(path), load], check=True)
        env = {
            **os.environ,
            "DBT_DUCKDB_PATH": str(path),
            "DBT_TARGET_PATH": str(Path(tmp) / "target"),
            "DBT_LOG_PATH": str(Path(tmp) / "logs"),
        }
        command = [UTILITY / "dbt", "run", "--profiles-dir", "profiles/duckdb"]
        command += ["--vars", json.dumps({"kondado_as_of": END.replace(" ", "T") + "Z"})]
        started = time.monotonic()
        subprocess.run(command, cwd=args.transform, env=env, check=True, capture_output=True)
        total = time.monotonic() - started
        results = json.loads((Path(tmp) / "target" / "run_results.json").read_text())["results"]
    timings = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results}
    health = sum(seconds for name, seconds in timings.items() if name.endswith("_health"))
    print(f"DuckDB, {args.pipelines} pipelines every 10 min for {args.days} days, {args.transform}")
    print(f"  dbt run: {total:.1f} s in all")
    for name, seconds in sorted(timings.items(), key=lambda item: -item[1]):
        print(f"  {name:40} {seconds:6.2f} s")
    print(f"  health models: {health:.2f} s, {100 * health / sum(timings.values()):.0f}% of the models' time")


# Run by the utility's Python (its DuckDB reads the file dbt writes).
_LOADER = """
import sys, duckdb
with duckdb.connect(sys.argv[1]) as conn:
    conn.execute(sys.argv[2])
    print(conn.execute("select count(*) from tap_kondado.pipeline_logs").fetchone()[0], "pipeline logs")
"""


if __name__ == "__main__":
    main()
