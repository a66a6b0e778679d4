"""Seek figures for `start_date` over simulated accounts (`make bench`, second part).

1. The seek alone: requests per stream-partition (the landing page included) over many
   realistic accounts (90 days, 1,000 to 5,000 visible logs over ~1 to 3 million ids,
   whole token and one account of it, both readings and end signals) and dates from
   hours ago to before the first log and into the future. Prints median and maximum.
2. A first sync of "the last 7 days" against a full scan of the same account: requests,
   and minutes at Kondado's 20 requests a minute. The tap's own seek and ScrollPaginator
   run in process against the simulator's page logic; no HTTP, no pacing.
"""

from __future__ import annotations

import argparse
import datetime
import math
import random
import statistics
import sys
import time
from collections import defaultdict

from tap_kondado.logs.pagination import ScrollPaginator
from tap_kondado.logs.seek import MAX_PROBES, seek
from tap_kondado.simulator import Simulator
from tap_kondado.times import created_at
from tap_kondado.transport.envelope import Page

PER_MINUTE = 20  # Kondado's limit: what a request costs in wall time at best
EVERY_ACCOUNT = {"bench-key": ("bench-token", [1, 2, 3, 4])}  # the token sees every log generated
DAYS_BACK = (0.1, 0.5, 1, 3, 7, 14, 30, 60, 85)


class CountingProbe:
    """`probe(start)` over the simulator's page logic, counting requests."""

    def __init__(self, sim: Simulator, stream: str, client_id: int | None) -> None:
        self.sim, self.stream, self.client_id = sim, stream, client_id
        self.requests = 0

    def __call__(self, start: int) -> Page:
        self.requests += 1
        body = self.sim.page(self.stream, start, client_id=self.client_id)
        inner = body["data"]
        return Page(inner["data"], inner["pagination"]["next_start_element_id"])


def scroll(probe: CountingProbe, paginator: ScrollPaginator, cut: float | None) -> int:
    """Run the scroll as the stream does; return how many logs it emits."""
    emitted = 0
    if paginator.first_page is not None:
        emitted += sum(1 for r in paginator.take_first_page() if cut is None or created_at(r) >= cut)
    while not paginator.finished:
        new = list(paginator.new_records(probe(paginator.current_value)))
        emitted += sum(1 for r in new if cut is None or created_at(r) >= cut)
        if not new and not paginator.continue_if_empty(None):
            break
        paginator.advance(None)
    return emitted


def first_sync(sim: Simulator, date: datetime.datetime | None) -> tuple[int, int, int]:
    """(seek requests, all requests, logs emitted) of a first sync of pipeline_logs, from `date` or in full."""
    probe = CountingProbe(sim, "pipeline_logs", None)
    if date is None:
        emitted = scroll(probe, ScrollPaginator("bench", -1), None)
        return 0, probe.requests, emitted
    landing = seek(probe, date)
    paginator = ScrollPaginator("bench", landing.start - 1, start=landing.start, first_page=landing.page)
    emitted = scroll(probe, paginator, date.timestamp())
    return landing.probes, probe.requests, emitted


def seek_figures(accounts: int) -> list[int]:
    print(f"1. Seek requests per stream-partition, {accounts} realistic 90-day accounts", flush=True)
    rng = random.Random(20261127)
    counts: list[int] = []
    by_kind: dict[str, list[int]] = defaultdict(list)
    wrong = 0
    started = time.perf_counter()
    for number in range(accounts):
        sim = Simulator(
            pipeline_logs=rng.choice([1_000, 2_000, 3_000, 5_000]),
            model_logs=0,
            realistic=True,
            days=90,
            seed=number,
            ids_per_day=rng.uniform(10_000, 30_000),
            reading=rng.choice(["inclusive", "exclusive"]),
            end_signal=rng.choice(["last", "empty"]),
        )
        now = datetime.datetime.now(datetime.timezone.utc)
        for client_id in (None, rng.choice([1, 2, 3])):
            visible = sim.visible("pipeline_logs", client_id=client_id)
            dates = [("recent" if d < 3 else "inside", now - datetime.timedelta(days=d)) for d in DAYS_BACK]
            dates += [("before all", now - datetime.timedelta(days=120)), ("future", now + datetime.timedelta(days=1))]
            for kind, date in dates:
                probe = CountingProbe(sim, "pipeline_logs", client_id)
                landing = seek(probe, date)
                counts.append(probe.requests)
                by_kind[kind].append(probe.requests)
                first = next((r["id"] for r in visible if created_at(r) >= date.timestamp()), None)
                page_ids = [r["id"] for r in landing.page.records]
                wrong += first is not None and bool(page_ids) and page_ids[0] > first
    print(f"   {len(counts)} seeks in {time.perf_counter() - started:.1f} s; landed after the first log: {wrong}")
    print(f"   requests: median {statistics.median(counts):g}, p90 {_p90(counts)}, max {max(counts)}")
    print(f"   (budget {MAX_PROBES}, aim 10)")
    for kind, values in by_kind.items():
        print(f"   {kind:>10}: median {statistics.median(values):g}, max {max(values)} ({len(values)} seeks)")
    return counts


def _p90(values: list[int]) -> int:
    return sorted(values)[math.ceil(0.9 * len(values)) - 1]


def last_week_vs_full(logs: int, ids_per_day: float) -> None:
    print(f"2. First sync of pipeline_logs, 90-day account with {logs:,} logs: last 7 days vs full scan", flush=True)
    sim = Simulator(
        pipeline_logs=logs, model_logs=0, realistic=True, days=90, seed=9, ids_per_day=ids_per_day, tokens=EVERY_ACCOUNT
    )
    week = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=7)
    _, full_requests, full_logs = first_sync(sim, None)
    seek_requests, week_requests, week_logs = first_sync(sim, week)
    expected = [r["id"] for r in sim.visible("pipeline_logs", "bench-key") if created_at(r) >= week.timestamp()]
    if week_logs != len(expected):
        sys.exit(f"the last 7 days emitted {week_logs} logs, not {len(expected)}")
    oracle = CountingProbe(sim, "pipeline_logs", None)  # a scroll told where the week starts
    scroll(oracle, ScrollPaginator("bench", expected[0] - 1), week.timestamp())
    for label, requests, emitted in (
        ("full scan", full_requests, full_logs),
        ("last 7 days", week_requests, week_logs),
    ):
        minutes = requests / PER_MINUTE
        print(f"   {label:>11}: {requests:>6,} requests, {emitted:>7,} logs, {_duration(minutes)} at 20 requests/min")
    print(
        f"   last 7 days: seek {seek_requests} requests (landing page included), {week_requests - oracle.requests} "
        f"more than a scroll told where the week starts ({oracle.requests}); "
        f"{full_requests / week_requests:.1f}x fewer than the full scan"
    )


def _duration(minutes: float) -> str:
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest:02d} min" if hours else f"{minutes:.1f} min"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=60, help="simulated accounts for the seek figures")
    parser.add_argument("--big-logs", type=int, default=216_000, help="logs of the big account (100 pipelines hourly)")
    args = parser.parse_args(argv)
    counts = seek_figures(args.accounts)
    last_week_vs_full(3_000, 16_667)
    last_week_vs_full(args.big_logs, 400_000)
    if max(counts) > MAX_PROBES:
        sys.exit(f"a seek took {max(counts)} requests, over the budget of {MAX_PROBES}")


if __name__ == "__main__":
    main()
