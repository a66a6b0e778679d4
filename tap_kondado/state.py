"""The state a run resumes from: read leniently where that loses nothing, refused in one line otherwise.

Older writers and some state backends keep the bookmark as a string ("5185000"); left
as it is, the SDK compares it with each integer id and dies mid-stream.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from tap_kondado.conversion import to_id

REPLICATION_KEY = "id"
_FIX = "fix that value or remove the stream's entry from the state (it then starts from start_element_id)"


class StateError(Exception):
    """A --state file or bookmark the tap cannot resume from."""


def read_state(text: str, source: str) -> dict[str, Any]:
    """The JSON object of a --state file."""
    if not text.strip():
        msg = f"Invalid state: --state {source} is empty; give a state a run wrote, or no --state for a full sync"
        raise StateError(msg)
    try:
        state = json.loads(text)
    except ValueError as exc:
        msg = f"Invalid state: --state {source} is not JSON ({str(exc).splitlines()[0]})"
        raise StateError(msg) from None
    if not isinstance(state, dict):
        msg = f"Invalid state: --state {source} holds no JSON object"
        raise StateError(msg)
    return state


def normalize_bookmark(stream: str, context: dict | None, state: dict[str, Any]) -> None:
    """Make a partition's bookmark an integer id in place, or raise StateError naming the stream."""
    if state.get("replication_key_value") is None and state.get("replication_key") is None:
        return
    where = f"{stream}{f' {dict(context)}' if context else ''}"
    key = state.get("replication_key", REPLICATION_KEY)
    if key != REPLICATION_KEY:
        msg = f"Invalid state: {where} is bookmarked by '{key}', but this tap replicates by 'id'; {_FIX}"
        raise StateError(msg)
    stored = state.get("replication_key_value")
    value = to_id(stored)
    if value is None:
        shown = str(stored) if isinstance(stored, Decimal) else repr(stored)
        msg = f"Invalid state: the bookmark of {where} is {shown}, not a log id; {_FIX}"
        raise StateError(msg)
    state["replication_key"] = REPLICATION_KEY
    state["replication_key_value"] = value
