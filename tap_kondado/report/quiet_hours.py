"""The hours a pipeline's learned schedule does not run in, as UTC spans a run strip shades.

The package learns the hours of the week in the account's local time (schedule_hours_of_week: 168 characters,
Monday 00:00 first, 0 for a quiet hour, in schedule_time_zone); the strips are drawn in UTC. Each UTC hour of
the strip is looked up at its local hour of the week, so a change of offset (summer time) moves the shade
with it.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HOURS_OF_WEEK = 168
HOUR = datetime.timedelta(hours=1)


def quiet_spans(
    hours_of_week: str | None, zone: str | None, start: datetime.datetime, end: datetime.datetime
) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """(from, to) spans, naive UTC, of the hours between start and end the schedule does not run in.

    None for no schedule learned by the hour (still learning, pinned, an older package): nothing is shaded
    then, rather than a guess.
    """
    if not hours_of_week or len(hours_of_week) != HOURS_OF_WEEK or "1" not in hours_of_week:
        return []
    try:
        local = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return []
    spans: list[tuple[datetime.datetime, datetime.datetime]] = []
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        at = hour.replace(tzinfo=datetime.timezone.utc).astimezone(local)
        if hours_of_week[at.weekday() * 24 + at.hour] == "0":
            begin = max(hour, start)
            if spans and spans[-1][1] == begin:
                spans[-1] = (spans[-1][0], min(hour + HOUR, end))
            else:
                spans.append((begin, min(hour + HOUR, end)))
        hour += HOUR
    return spans
