"""Schedules as Kondado users set them, in the account's local time: the scenario's scheduled items run on these.

A schedule is a set of weekdays and times of day (São Paulo time, as the `kondado` dbt package's default
`kondado_time_zone`); each run finishes a few minutes after its scheduled time. An outage skips a run of scheduled
moments counted back from `now`: an item that stopped (its status still `active`) skips its latest ones, one that
stopped and resumed skips some before them.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

TIME_ZONE = ZoneInfo("America/Sao_Paulo")
WEEKDAYS = (0, 1, 2, 3, 4)  # Monday to Friday
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
FINISH_SECONDS = (60.0, 300.0)  # a run's log is created this long after its scheduled time


@dataclass(frozen=True)
class Schedule:
    """Runs on `weekdays` (0: Monday) at each of `times` ((hour, minute), local time)."""

    weekdays: tuple[int, ...]
    times: tuple[tuple[int, int], ...]

    def moments(self, start: datetime.datetime, end: datetime.datetime) -> list[datetime.datetime]:
        """Every scheduled moment in [start, end), aware UTC, in order."""
        day = start.astimezone(TIME_ZONE).date() - datetime.timedelta(days=1)
        found = []
        while day <= end.astimezone(TIME_ZONE).date():
            if day.weekday() in self.weekdays:
                for hour, minute in self.times:
                    local = datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=TIME_ZONE)
                    moment = local.astimezone(datetime.timezone.utc)
                    if start <= moment < end:
                        found.append(moment)
            day += datetime.timedelta(days=1)
        return found


def every(minutes: int, weekdays: tuple[int, ...], first_hour: int, until_hour: int) -> Schedule:
    """Every `minutes` from first_hour:00 on, before until_hour:00."""
    times = []
    moment = first_hour * 60
    while moment < until_hour * 60:
        times.append(divmod(moment, 60))
        moment += minutes
    return Schedule(weekdays, tuple(times))


@dataclass(frozen=True)
class Outage:
    """Skips the scheduled moments `skip_from` to `skip_to` (exclusive) counted back from now (1: the latest)."""

    skip_to: int  # 0: it never resumed
    skip_from: int

    def skipped(self, moments: list[datetime.datetime]) -> list[datetime.datetime]:
        """The moments of `moments` (oldest first, all before now) the outage skips, oldest first."""
        newest_first = moments[::-1]
        return newest_first[self.skip_to : self.skip_from][::-1]


def scheduled_runs(
    schedule: Schedule, outage: Outage | None, rng: random.Random, start: datetime.datetime, now: datetime.datetime
) -> list[datetime.datetime]:
    """When a scheduled item's logs were created, oldest first.

    Each scheduled moment a few minutes on, those the outage skips left out, none after `now`.
    """
    moments = schedule.moments(start, now)
    skipped = set(outage.skipped(moments)) if outage else set()
    runs = [m + datetime.timedelta(seconds=rng.uniform(*FINISH_SECONDS)) for m in moments if m not in skipped]
    return [run for run in runs if run <= now]
