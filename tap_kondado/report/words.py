"""Codes from Kondado's API and the package's models, said in words a person reads.

A code such as `too_many_consecutive_failed_builds__blocked` has no space to wrap at, so a narrow column broke
it mid-word; and it says less than a sentence.
"""

from __future__ import annotations

# Pipeline and model statuses, as the status endpoints document them.
STATUS_WORDS = {
    "running": "running now",
    "scheduled": "queued to run",
    "active": "active",
    "not_active": "disabled in Kondado",
    "error_building_tables": "error building its tables",
    "too_many_consecutive_failed_builds": "too many failed builds in a row",
    "too_many_consecutive_failed_builds__blocked": "blocked after too many failed builds",
}

# A health badge's text; "warned" is the report's own: on_time, with a warning.
HEALTH_WORDS = {
    "failing": "failing",
    "stalled": "stalled",
    "late": "late",
    "inactive": "inactive",
    "unknown": "unknown",
    "warned": "on time, with a warning",
    "on_time": "on time",
}


def status_words(status: str) -> str:
    """A status in words; one this list does not know: its underscores as spaces."""
    return STATUS_WORDS.get(status) or " ".join(status.replace("_", " ").split())


def health_words(health: str) -> str:
    """A health (or the report's "warned") in words."""
    return HEALTH_WORDS.get(health) or " ".join(health.replace("_", " ").split())
