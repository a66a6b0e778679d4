"""What `lookback_hours` costs per run: requests of an idle run, against the window's own pages.

For each window, a simulated account (by default 100 pipelines run hourly: 2,400 logs a
day, evenly spread, ending a minute ago) is synced in full (checkpoints thinned as a long sync
does), four logs inside the window are changed, and the next run is measured: its
pipeline_logs requests, the logs in the window, the floor (window logs / 50), what it
emitted. Requests at Kondado's 20 a minute make the minutes. Prints a table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

from tap_kondado.simulator import Simulator
from tap_kondado.times import parse_time

KEY, TOKEN = "bench-key-5d1e", "bench-token-a7c3"


def run(config: dict, state: dict | None, workdir: Path) -> tuple[dict, list[dict]]:
    """One tap run: its last STATE and its records."""
    (workdir / "config.json").write_text(json.dumps(config))
    command = [sys.executable, "-m", "tap_kondado", "--config", str(workdir / "config.json")]
    if state:
        (workdir / "state.json").write_text(json.dumps(state))
        command += ["--state", str(workdir / "state.json")]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    messages = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    return states[-1], [m["record"] for m in messages if m["type"] == "RECORD"]


def spread(records: list[dict], per_day: float) -> None:
    """createdAt (and updatedAt) of `records` evenly spaced at `per_day`, the last one now."""
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
    for back, record in enumerate(reversed(records)):
        moment = now - datetime.timedelta(days=back / per_day)
        record["createdAt"] = record["updatedAt"] = moment.strftime("%Y-%m-%dT%H:%M:%S.") + (
            f"{moment.microsecond // 1000:03d}Z"
        )


def measure(logs: int, per_day: float, hours: float, workdir: Path) -> tuple[str, ...]:
    with Simulator(pipeline_logs=logs, model_logs=10, tokens={KEY: (TOKEN, [1, 2, 3, 4])}) as sim:
        spread(sim.records["pipeline_logs"], per_day)
        config = {"key": KEY, "token": TOKEN, "api_url": sim.url, "rate_limits": [], "lookback_hours": hours}
        state, _ = run(config, None, workdir)
        records = sim.records["pipeline_logs"]
        newest = parse_time(records[-1]["createdAt"])
        window = [r for r in records if parse_time(r["createdAt"]) >= newest - datetime.timedelta(hours=hours)]
        for record in window[:: max(1, len(window) // 4)][:4]:
            sim.update_log("pipeline_logs", record["id"], row_count="1")
        before = len(sim.log)
        _, emitted = run(config, state, workdir)
        requests = sum(1 for e in sim.log[before:] if e["path"] == "/pipeline_logs")
    floor = math.ceil(len(window) / 50)
    return (
        f"{hours:g} h",
        f"{logs:,}",
        f"{len(window):,}",
        str(floor),
        str(requests),
        f"{requests / 20:.1f}",
        str(len(emitted)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logs", type=int, default=20_000, help="pipeline logs in the account (default 20,000)")
    parser.add_argument("--per-day", type=float, default=2_400, help="logs a day (default 2,400: 100 hourly)")
    args = parser.parse_args()
    head = ("window", "logs", "in window", "floor (window/50)", "requests", "min at 20/min", "emitted")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for hours in (1, 6, 24, 72):  # 72 h of 2,400 a day: 7,200 logs
            print(f"lookback_hours={hours} ...", file=sys.stderr, flush=True)
            rows.append(measure(args.logs, args.per_day, hours, Path(tmp)))
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---:" for _ in head) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
