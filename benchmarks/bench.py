"""Pacing, CPU and memory figures for tap-kondado against the local simulator (`make bench`).

1. Pacing: a sync of >= 300 requests under Kondado's limits at compressed time, against
   the earliest moment those limits allow (the floor): rate-limit answers and the ratio.
2. One key, two processes: two taps at once (one account each), then two full syncs back
   to back, all on the shared rate budget: requests, rate-limit answers, span / floor.
3. CPU: with limits off, the tap writing Singer messages to /dev/null next to a plain
   loop writing the same Singer messages with the same serializer (plain_loop.py):
   medians of `--repeats` runs, with min-max.
4. Memory: the tap's peak RSS for 10k and 100k records.

Prints one table: figures, not a pass/fail test. About 2.5 minutes on 2 cores, most of it pacing.
The CPU figures on a shared machine vary run to run: hence medians, with min-max.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tap_kondado.simulator import Simulator
from tap_kondado.transport.rate_limit import Window, earliest_times

HERE = Path(__file__).resolve().parent
KEY, TOKEN = "bench-key-5d1e", "bench-token-a7c3"
TOKENS = {KEY: (TOKEN, [1, 2, 3, 4])}  # every account: what the simulator holds is what a sync reads
KONDADO_LIMITS = ((1, 1.0), (20, 60.0))
PAGE = 50


@dataclass
class ClientRun:
    """One client process: how long it took, its CPU time and its peak memory."""

    wall: float
    cpu: float
    peak_mb: float


def start_client(argv: list[str], workdir: Path, name: str = "client") -> subprocess.Popen:
    """Start `argv` (a module or script) under peak_rss.py, stdout to /dev/null."""
    env = {**os.environ, "PEAK_RSS_FILE": str(workdir / f"{name}.peak")}
    with open(os.devnull, "wb") as null, (workdir / f"{name}.stderr").open("wb") as err:
        return subprocess.Popen([sys.executable, str(HERE / "peak_rss.py"), *argv], stdout=null, stderr=err, env=env)


def run_client(argv: list[str], workdir: Path, name: str = "client") -> ClientRun:
    """Run `argv` to the end; its wall time, CPU time and peak memory."""
    peak_file, err_file = workdir / f"{name}.peak", workdir / f"{name}.stderr"
    started = time.perf_counter()
    proc = start_client(argv, workdir, name)
    _, status, usage = os.wait4(proc.pid, 0)  # reaped here for its own rusage
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{argv[0]} failed:\n{err_file.read_text()[-3000:]}")
    return ClientRun(wall, usage.ru_utime + usage.ru_stime, int(peak_file.read_text()) / 1024)


def tap_argv(sim: Simulator, workdir: Path, rate_limits: list[dict[str, float]], **settings: object) -> list[str]:
    config = {"key": KEY, "token": TOKEN, "api_url": sim.url, "rate_limits": rate_limits, **settings}
    path = workdir / f"config-{len(list(workdir.glob('config-*')))}.json"
    path.write_text(json.dumps(config))
    return ["tap_kondado", "--config", str(path)]


def simulator(records: int, **kwargs: object) -> Simulator:
    """Pipeline and model logs in a 3:2 mix, `records` in all."""
    pipeline = records * 3 // 5
    return Simulator(pipeline_logs=pipeline, model_logs=records - pipeline, tokens=TOKENS, **kwargs).start()


def pacing(requests: int, time_scale: float, workdir: Path) -> list[tuple[str, str, str]]:
    sim = simulator(requests * PAGE, rate_limits=KONDADO_LIMITS, time_scale=time_scale)
    windows = [Window(n, seconds * time_scale) for n, seconds in KONDADO_LIMITS]
    limits = [{"max_requests": w.max_requests, "window_seconds": w.seconds} for w in windows]
    try:
        run_client(tap_argv(sim, workdir, limits), workdir)
    finally:
        sim.stop()
    log = sim.log
    wall = log[-1]["t"] - log[0]["t"]
    floor = earliest_times(windows, len(log))[-1]
    limits_text = " + ".join(f"{w.max_requests}/{w.seconds:g} s" for w in windows)
    return [
        ("Pacing: requests sent", f"{len(log)}", f"under {limits_text} (Kondado's x{time_scale:g})"),
        ("Pacing: RATE_LIMIT_EXCEEDED answers", f"{sim.stats()['rate_limited']}", "target 0"),
        ("Pacing: wall time, first to last request", f"{wall:.2f} s", ""),
        ("Pacing: floor for that many requests", f"{floor:.2f} s", "the limits' earliest schedule"),
        ("Pacing: wall / floor", f"{wall / floor:.3f}", "target <= 1.05"),
    ]


def scaled_limits(time_scale: float) -> tuple[list[Window], list[dict[str, float]]]:
    windows = [Window(n, seconds * time_scale) for n, seconds in KONDADO_LIMITS]
    return windows, [{"max_requests": w.max_requests, "window_seconds": w.seconds} for w in windows]


def span_rows(label: str, sim: Simulator, windows: list[Window], note: str) -> list[tuple[str, str, str]]:
    log = sim.log
    wall = log[-1]["t"] - log[0]["t"]
    floor = earliest_times(windows, len(log))[-1]
    return [
        (f"{label}: requests, RATE_LIMIT_EXCEEDED answers", f"{len(log)}, {sim.stats()['rate_limited']}", note),
        (f"{label}: span / floor", f"{wall:.2f} / {floor:.2f} s = {wall / floor:.3f}", "target <= 1.1"),
    ]


def one_key_two_processes(requests: int, time_scale: float, workdir: Path) -> list[tuple[str, str, str]]:
    """Two taps at once on one key (one account each), then two full syncs back to back."""
    windows, limits = scaled_limits(time_scale)
    rows = []
    # four accounts in the data: each tap reads one, about a quarter of it
    sim = simulator(requests * PAGE * 4, rate_limits=KONDADO_LIMITS, time_scale=time_scale)
    try:
        procs = [start_client(tap_argv(sim, workdir, limits, client_ids=[c]), workdir, f"c{c}") for c in (1, 2)]
        for proc in procs:
            if proc.wait() != 0:
                sys.exit(f"a concurrent tap failed:\n{(workdir / 'c1.stderr').read_text()[-3000:]}")
    finally:
        sim.stop()
    rows += span_rows("Two taps at once", sim, windows, "one key, shared budget")
    sim = simulator(requests * PAGE, rate_limits=KONDADO_LIMITS, time_scale=time_scale)
    try:
        for _ in range(2):  # no state: the second reads everything again
            run_client(tap_argv(sim, workdir, limits), workdir)
    finally:
        sim.stop()
    rows += span_rows("Two taps back to back", sim, windows, "span includes the second start-up")
    return rows


def cpu_and_memory(records: int, small: int, repeats: int, workdir: Path) -> list[tuple[str, str, str]]:
    def side_by_side(sim: Simulator) -> tuple[list[ClientRun], list[ClientRun]]:
        tap, plain = [], []
        argv = tap_argv(sim, workdir, [])
        for _ in range(repeats):  # alternated, so that both see the same machine
            plain.append(run_client([str(HERE / "plain_loop.py"), sim.url, KEY, TOKEN], workdir))
            tap.append(run_client(argv, workdir))
        return tap, plain

    sim = simulator(records)
    try:
        tap, plain = side_by_side(sim)
    finally:
        sim.stop()
    empty = simulator(0)  # start-up and shut-down alone: imports, two empty pages
    try:
        tap_start, plain_start = side_by_side(empty)
    finally:
        empty.stop()
    small_sim = simulator(small)
    try:
        small_run = run_client(tap_argv(small_sim, workdir, []), workdir)
    finally:
        small_sim.stop()

    def median(runs: list[ClientRun], attr: str) -> float:
        return statistics.median(getattr(run, attr) for run in runs)

    def spread(runs: list[ClientRun], attr: str, per_record: bool = False) -> str:
        values = [getattr(run, attr) for run in runs]
        if per_record:
            values = [records / v for v in values]
            return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"
        return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"

    def ratios(attr: str) -> str:
        values = [getattr(t, attr) / getattr(p, attr) for t, p in zip(tap, plain, strict=True)]
        return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"

    steady = (median(tap, "cpu") - median(tap_start, "cpu")) / (median(plain, "cpu") - median(plain_start, "cpu"))
    note = f"{records:,} records, median (min-max) of {repeats} alternated runs"
    return [
        ("CPU: tap / plain loop, CPU seconds", ratios("cpu"), f"{note}; same Singer lines, same serializer"),
        (
            "CPU: tap / plain loop, CPU seconds after start-up",
            f"{steady:.2f}x",
            "medians, each minus its run over no records",
        ),
        ("CPU: tap / plain loop, wall time", ratios("wall"), "target <= 1.5x"),
        ("CPU: tap CPU time", spread(tap, "cpu"), note),
        ("CPU: plain loop CPU time", spread(plain, "cpu"), note),
        ("CPU: tap to /dev/null, records/s", spread(tap, "wall", per_record=True), "wall time"),
        ("CPU: plain loop, records/s", spread(plain, "wall", per_record=True), "wall time"),
        (
            "CPU: start-up, tap / plain",
            f"{median(tap_start, 'cpu'):.2f} / {median(plain_start, 'cpu'):.2f} s",
            "CPU seconds of a run over no records, medians",
        ),
        ("Memory: tap peak RSS", f"{small_run.peak_mb:.0f} MB", f"{small:,} records; target < 80 MB"),
        ("Memory: tap peak RSS", f"{max(r.peak_mb for r in tap):.0f} MB", f"{records:,} records; target flat"),
        ("Memory: plain loop peak RSS", f"{max(r.peak_mb for r in plain):.0f} MB", f"{records:,} records"),
    ]


def table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    line = "| {:<{}} | {:>{}} | {:<{}} |"
    out = [line.format("Measure", widths[0], "Value", widths[1], "Notes", widths[2])]
    out.append(f"|{'-' * (widths[0] + 2)}|{'-' * (widths[1] + 1)}:|{'-' * (widths[2] + 2)}|")
    out += [line.format(a, widths[0], b, widths[1], c, widths[2]) for a, b, c in rows]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="pages in the pacing sync (default 300)")
    parser.add_argument("--time-scale", type=float, default=0.05, help="0.05: 1/s and 20/min become 1/50 ms, 20/3 s")
    parser.add_argument("--shared-requests", type=int, default=60, help="requests per tap in the two-process runs")
    parser.add_argument("--records", type=int, default=50_000, help="records in the CPU and memory runs")
    parser.add_argument("--small", type=int, default=10_000, help="records in the small memory run")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each client in the CPU comparison")
    parser.add_argument("--skip-pacing", action="store_true", help="CPU and memory only")
    args = parser.parse_args()

    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        os.environ["XDG_CACHE_HOME"] = str(workdir / "cache")  # the taps' shared budget: not the user's
        if not args.skip_pacing:
            floor = earliest_times([Window(n, s * args.time_scale) for n, s in KONDADO_LIMITS], args.requests)[-1]
            print(f"pacing: {args.requests} requests, about {floor:.0f} s ...", file=sys.stderr, flush=True)
            rows += pacing(args.requests, args.time_scale, workdir)
            print(f"one key, two processes: about {2 * args.shared_requests} requests ...", file=sys.stderr, flush=True)
            rows += one_key_two_processes(args.shared_requests, args.time_scale, workdir)
        print(f"CPU and memory: {args.records:,} records x {args.repeats} ...", file=sys.stderr, flush=True)
        rows += cpu_and_memory(args.records, args.small, args.repeats, workdir)
    print(table(rows))


if __name__ == "__main__":
    main()
