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
#: Every stream this tap has or is adding (the status streams keep their entries under bookmarks too).
STREAMS = ("pipeline_logs", "model_logs", "pipeline_status", "model_status")
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
    wrapped = state.get("singer_state")
    if isinstance(wrapped, dict) and "bookmarks" not in state:  # as `meltano state get` prints it
        state = wrapped
    return state


def check_state(state: dict[str, Any], source: str) -> str | None:
    """Check every bookmark before the first request; the warning to log, if any.

    Each of this tap's bookmarks is made an integer id in place (StateError otherwise), so a
    wrong one stops the run before any stream emits. A state that names only other streams
    is another tap's: an error, since reading it as no state means a sync from the start,
    hours at Kondado's limits, for a file given by mistake. Foreign streams next to this
    tap's own (a hand-merged file) cost nothing: a warning.
    """
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        msg = f"Invalid state: 'bookmarks' in --state {source} is no JSON object"
        raise StateError(msg)
    ours = [name for name in bookmarks if name in STREAMS]
    foreign = sorted(name for name in bookmarks if name not in STREAMS)
    if foreign and not ours:
        msg = (
            f"Invalid state: --state {source} holds bookmarks for {', '.join(map(repr, foreign))} only, "
            f"none for this tap's streams ({', '.join(STREAMS[:2])}): it is another tap's state; "
            "give this tap's own state, or no --state for a sync from the start"
        )
        raise StateError(msg)
    for name in ours:
        _check_stream(name, bookmarks[name])
    if foreign:
        names = ", ".join(map(repr, foreign))
        return f"--state {source} also holds bookmarks for {names}, not streams of this tap: ignored"
    if not ours:
        return f"--state {source} holds no bookmark: every stream syncs from the start"
    return None


def _check_stream(name: str, stream_state: object) -> None:
    if not isinstance(stream_state, dict):
        msg = f"Invalid state: the entry of {name} is no JSON object; {_FIX}"
        raise StateError(msg)
    normalize_bookmark(name, None, stream_state)
    partitions = stream_state.get("partitions", [])
    if not isinstance(partitions, list) or not all(isinstance(p, dict) for p in partitions):
        msg = f"Invalid state: the partitions of {name} are no list of JSON objects; {_FIX}"
        raise StateError(msg)
    for partition in partitions:
        context = partition.get("context")
        normalize_bookmark(name, context if isinstance(context, dict) else None, partition)


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
