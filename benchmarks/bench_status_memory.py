"""The status memory's cost: one sync whose logs name N distinct pipeline ids.

Every log of the account names a pipeline of its own, all of them recent, so the log
stream remembers N ids for the status stream (status_memory.py). Prints, per N, the wall
and CPU seconds of the `tap-kondado` command against the simulator (no pacing, no
status request: the cost is the memory's) and the bytes of its STATE messages. Linear in
N is the goal: ten times the ids, about ten times the time and the bytes.

python benchmarks/bench_status_memory.py [N ...]   (default: 2000 20000)
"""

from __future__ import annotations

import datetime
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tap_kondado.simulator import Simulator
from tap_kondado.simulator.data import stamp

KEY, TOKEN, CLIENT = "bench-key", "bench-token", 1


def account(ids: int) -> Simulator:
    """An account of `ids` logs, each of another pipeline, created over the last day."""
    sim = Simulator(pipeline_logs=0, model_logs=0, tokens={KEY: (TOKEN, [CLIENT])})
    now = datetime.datetime.now(datetime.timezone.utc)
    step = datetime.timedelta(days=1) / ids
    logs = [
        {
            "id": 1_000_000 + n,
            "client_id": CLIENT,
            "pipeline_id": 10_000 + n,
            "pipeline_name": f"Pipeline {n}",
            "row_count": n,
            "createdAt": stamp(now - datetime.timedelta(days=1) + n * step),
        }
        for n in range(ids)
    ]
    sim.add_records("pipeline_logs", logs)
    return sim


def measure(ids: int) -> dict[str, float]:
    """One sync of `ids` ids: wall and CPU seconds, STATE messages and their bytes, ids remembered."""
    with account(ids) as sim, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp, "config.json")
        config.write_text(json.dumps({"key": KEY, "token": TOKEN, "api_url": sim.url, "rate_limits": []}))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-m", "tap_kondado", "--config", str(config)],
            capture_output=True,
            check=True,
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    states = [line for line in run.stdout.splitlines() if line.startswith(b'{"type":"STATE"')]
    remembered = json.loads(states[-1])["value"]["bookmarks"]["pipeline_status"]["ids"]
    return {
        "wall": wall,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "states": len(states),
        "state_bytes": sum(len(line) + 1 for line in states),
        "remembered": len(remembered),
    }


def main(sizes: list[int]) -> None:
    print(f"{'ids':>7} {'wall s':>8} {'CPU s':>7} {'STATEs':>7} {'STATE MB':>9} {'remembered':>10}")
    for ids in sizes:
        m = measure(ids)
        print(
            f"{ids:>7,} {m['wall']:>8.1f} {m['cpu']:>7.1f} {m['states']:>7,} "
            f"{m['state_bytes'] / 1e6:>9.1f} {m['remembered']:>10,}"
        )


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [2000, 20000])
