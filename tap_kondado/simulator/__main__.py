"""`kondado-simulator`: run the local Kondado API until interrupted.

kondado-simulator --port 8765                      # 1,200 pipeline and 600 model logs
kondado-simulator --reading exclusive --end-signal empty --rate-limits off
kondado-simulator --realistic --days 90 --pipeline-logs 3000   # sparse global ids, last 90 days
kondado-simulator --scenario --days 35   # realistic ids; pipelines on cadences, the health package's anomalies
curl -X POST localhost:8765/_admin/append -d '{"stream": "pipeline_logs", "count": 30}'
curl -X POST localhost:8765/_admin/update -d '{"stream": "pipeline_logs", "id": 5181910, "fields": {"row_count": "9"}}'
curl -X POST localhost:8765/_admin/status -d '{"kind": "pipelines", "id": 702, "status": "not_active"}'
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from tap_kondado.simulator.data import DEFAULT_IDS_PER_DAY
from tap_kondado.simulator.server import DEFAULT_LIMITS, Simulator


def _limits(text: str) -> list[tuple[int, float]]:
    """`1/1,20/60` (requests/seconds, comma-separated) or `off`."""
    if text == "off":
        return []
    pairs = []
    for item in text.split(","):
        requests, _, seconds = item.partition("/")
        pairs.append((int(requests), float(seconds)))
    return pairs


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The module docstring as written, and every option's default in `--help`."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kondado-simulator", description=__doc__, formatter_class=_HelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed on start)")
    parser.add_argument("--key", default="demo-key", help="the token key the tap must send")
    parser.add_argument("--token", default="demo-token", help="the token secret the tap must send")
    parser.add_argument("--clients", default="1,2,3", help="accounts the token sees (4 exists, never seen)")
    parser.add_argument("--pipeline-logs", type=int, default=1200, help="pipeline logs generated")
    parser.add_argument("--model-logs", type=int, default=600, help="model logs generated")
    parser.add_argument("--seed", type=int, default=7, help="same seed, same logs")
    parser.add_argument(
        "--reading", choices=["inclusive", "exclusive"], default="inclusive", help="is start_element_id included?"
    )
    parser.add_argument("--end-signal", choices=["last", "empty"], default="last", help="the page whose cursor is null")
    parser.add_argument(
        "--rate-limits",
        type=_limits,
        default=",".join(f"{n}/{w:g}" for n, w in DEFAULT_LIMITS),  # a string: argparse parses it, --help shows it
        help="requests/seconds pairs (Kondado's), or off",
    )
    parser.add_argument("--time-scale", type=float, default=1.0, help="0.05: a 60 s window lasts 3 s")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="N=KIND",
        help="answer request N with a fault (see faults.py), repeatable",
    )
    parser.add_argument("--data-file", type=Path, help="load records from (and save them to) this file")
    parser.add_argument(
        "--append-on-start",
        type=int,
        default=0,
        metavar="N",
        help="with a loaded --data-file: add N new logs to each stream, as if time had passed",
    )
    parser.add_argument(
        "--realistic",
        action="store_true",
        help="ids sparse in one sequence shared with other customers, createdAt over the last --days",
    )
    parser.add_argument(
        "--scenario",
        action="store_true",
        help="realistic ids and times; logs from the planted catalog (simulator/scenario.py), not --*-logs",
    )
    parser.add_argument("--days", type=float, default=90, help="with --realistic: days of logs, ending now")
    parser.add_argument(
        "--ids-per-day", type=float, default=DEFAULT_IDS_PER_DAY, help="with --realistic: global ids a day"
    )
    parser.add_argument(
        "--status-envelope",
        choices=["vendor", "flipped", "bare", "wrapped"],
        default="vendor",
        help="shape of the status answers: vendor (pipelines bare, models wrapped, as the vendor's examples), "
        "flipped (the other way round), or one shape for both",
    )
    parser.add_argument("--port-file", type=Path, help="write the port here once listening")
    return parser


def banner(sim: Simulator, key: str) -> str:
    """What a user needs to point a tap at this simulator: URL, credentials, limits as served."""
    token, clients = sim.tokens[key]
    lines = [
        f"Kondado simulator on {sim.url} ({sim.reading} start_element_id, null cursor on the {sim.end_signal} page)",
        f"  api_url: {sim.url}   key: {key}   token: {token}   accounts: {', '.join(map(str, clients))}",
    ]
    if sim.windows:
        windows = ", ".join(f"{n} per {w:g} s" for n, w in sim.windows)
        limits = [{"max_requests": n, "window_seconds": round(w, 6)} for n, w in sim.windows]
        lines += [
            f"  rate limits: {windows}; an excess blocks the key for {sim.penalty:g} s",
            f"  the tap's rate_limits to match: {json.dumps(limits)}",
        ]
    else:
        lines.append('  rate limits: off (the tap can skip its pacing too: rate_limits "[]")')
    lines.append("Ctrl-C stops it")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run until SIGINT or SIGTERM."""
    args = _parser().parse_args(argv)
    faults = dict(item.split("=", 1) for item in args.fault)
    sim = Simulator(
        pipeline_logs=args.pipeline_logs,
        model_logs=args.model_logs,
        seed=args.seed,
        tokens={args.key: (args.token, [int(c) for c in args.clients.split(",")])},
        reading=args.reading,
        end_signal=args.end_signal,
        rate_limits=args.rate_limits,
        time_scale=args.time_scale,
        faults=faults,
        host=args.host,
        port=args.port,
        realistic=args.realistic,
        days=args.days,
        ids_per_day=args.ids_per_day,
        scenario=args.scenario,
        status_envelope=args.status_envelope,
    )
    if args.data_file and args.data_file.exists():
        sim.load(json.loads(args.data_file.read_text()))
        for stream in sim.records:
            sim.append(stream, args.append_on_start)
    sim.start()
    if args.port_file:
        args.port_file.write_text(str(sim.url.rsplit(":", 1)[1]))
    print(banner(sim, args.key), flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    sim.stop()
    if args.data_file:
        args.data_file.write_text(json.dumps(sim.records))
    sys.exit(0)


if __name__ == "__main__":
    main()
