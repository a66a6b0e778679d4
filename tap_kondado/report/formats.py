"""Numbers, durations and times as the report says them, on the page and in its text form alike."""

from __future__ import annotations

import datetime


def age_hours(as_of: datetime.datetime, moment: datetime.datetime) -> float:
    """Hours from `moment` to `as_of`."""
    return (as_of - moment).total_seconds() / 3600


def hours(value: float | None) -> str:
    """As 24 min, 6.0 h or 4.5 days; "-" for none."""
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 60:.0f} min"
    if value < 48:
        return f"{value:.1f} h"
    return f"{value / 24:.1f} days"


def count(n: int, noun: str) -> str:
    """As 1 pipeline or 2 pipelines."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def integer(value: float | None) -> str:
    """Rounded, with thousands separators; "-" for none."""
    return "-" if value is None else f"{round(value):,}"


def moment(value: datetime.datetime) -> str:
    """A naive UTC time to the minute, saying UTC."""
    return value.strftime("%Y-%m-%d %H:%M UTC")


def day(value: datetime.date) -> str:
    """As Nov 20."""
    return f"{value.strftime('%b')} {value.day}"
