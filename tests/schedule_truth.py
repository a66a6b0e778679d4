"""What the health models must say of each planted item at a past moment, from the scenario alone.

An item is in an outage from the first run it missed (a scheduled moment an outage skipped, or one cadence after
the last run of a cadenced item that went silent) until it runs again. The replay test
(tests/test_schedule_replay.py) asks, at each moment: outside an outage, `on_time`; in one for a whole interval
or more, `late` or `stalled`; in the first interval, either.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from tap_kondado.simulator import scenario as planted

SILENT = {"stalled", "failing", "blocked", "not_active", "late"}  # cadenced items whose runs stop before now
HEALTHY, GRACE, OUTAGE, TOO_FEW = "healthy", "grace", "outage", "too few runs"
MIN_RUNS = 4  # the package's kondado_min_runs: fewer, health is unknown


@dataclass(frozen=True)
class Expectation:
    """One item's outage, if it had one: from the first run it missed to the run that ended it."""

    item: planted.Planted
    missed_from: datetime.datetime | None
    resumed_at: datetime.datetime | None
    runs: tuple[datetime.datetime, ...]

    def at(self, moment: datetime.datetime) -> str:
        """HEALTHY (must be on_time), GRACE (either), OUTAGE (must be late or stalled) or TOO_FEW (runs to judge:
        unknown) at `moment`."""
        if sum(run <= moment for run in self.runs) < MIN_RUNS:
            return TOO_FEW
        if self.missed_from is None or moment < self.missed_from:
            return HEALTHY
        if self.resumed_at is not None and moment >= self.resumed_at:
            return HEALTHY
        interval = datetime.timedelta(hours=self.item.cadence_hours)
        return OUTAGE if moment >= self.missed_from + interval else GRACE


def expectations(
    catalog: tuple[planted.Planted, ...], runs: dict[int, list[datetime.datetime]], now: datetime.datetime
) -> dict[int, Expectation]:
    """Every judged item of `catalog` that has runs (`runs`: its createdAt moments, oldest first, aware UTC)."""
    found = {}
    for item in catalog:
        moments = runs.get(item.item_id)
        if not moments or item.anomaly == "new":  # too few runs: unknown, judged by the dbt tests
            continue
        missed_from = resumed_at = None
        if item.schedule is not None and item.outage is not None:
            skipped = item.outage.skipped(item.schedule.moments(now - datetime.timedelta(days=60), now))
            missed_from = skipped[0]
            resumed_at = next((run for run in moments if run > skipped[-1]), None)
        elif item.schedule is None and item.anomaly in SILENT:
            missed_from = moments[-1] + datetime.timedelta(hours=item.cadence_hours)
        found[item.item_id] = Expectation(item, missed_from, resumed_at, tuple(moments))
    return found


def checkpoints(expected: dict[int, Expectation], now: datetime.datetime) -> list[datetime.datetime]:
    """Moments worth judging at besides the regular ones: one interval after each outage began, just after each
    resumption."""
    found = []
    for expectation in expected.values():
        if expectation.missed_from is not None:
            found.append(expectation.missed_from + datetime.timedelta(hours=expectation.item.cadence_hours, minutes=1))
        if expectation.resumed_at is not None:
            found.append(expectation.resumed_at + datetime.timedelta(minutes=2))
    return [moment for moment in found if moment <= now]
