"""Times as the API writes them and as people give them: one reading for the tap, the state and the status streams.

The API writes every time as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC); a setting such as `start_date` may be a bare
date or carry any offset. Everything here answers in UTC.
"""

from __future__ import annotations

import datetime
from typing import Any


def parse_time(value: object) -> datetime.datetime | None:
    """An ISO-8601 UTC time as the API sends it ("...Z"); naive means UTC; None if unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


_CANONICAL_LENGTH = len("2020-09-17T00:03:48.108Z")


def sortable_time(value: object) -> str | None:
    """A time (string or datetime) as a string that sorts chronologically: the API's form as is.

    The API writes every time as "YYYY-MM-DDTHH:MM:SS.mmmZ", which sorts as text; only
    another form pays for a parse.
    """
    if isinstance(value, str) and len(value) == _CANONICAL_LENGTH and value[-1] == "Z" and value[10] == "T":
        return value
    moment = value if isinstance(value, datetime.datetime) else parse_time(value)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    moment = moment.astimezone(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_start_date(value: object) -> datetime.datetime:
    """An ISO-8601 date or date-time as an aware UTC datetime; a bare date is UTC midnight.

    Raises ValueError with a message fit for one line.
    """
    text = str(value).strip() if isinstance(value, str) else None
    if not text:
        msg = "must be an ISO-8601 date or date-time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z"
        raise ValueError(msg)
    try:
        if len(text) == 10:
            moment = datetime.datetime.combine(datetime.date.fromisoformat(text), datetime.time())
        else:
            moment = datetime.datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        msg = "is not an ISO-8601 date or date-time; e.g. 2026-01-31 or 2026-01-31T12:00:00Z"
        raise ValueError(msg) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    try:
        return moment.astimezone(datetime.timezone.utc)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before the first UTC moment Python knows
        msg = "must fall within the years 1 to 9999 once placed in UTC"
        raise ValueError(msg) from None


def created_at(record: dict[str, Any]) -> float | None:
    """A record's createdAt in epoch seconds, None when absent or unreadable."""
    moment = parse_time(record.get("createdAt"))
    return None if moment is None else moment.timestamp()
