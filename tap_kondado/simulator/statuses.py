"""The status endpoints' answers: `GET /pipelines/{id}/status` and `GET /models/{id}/status`.

`Simulator.statuses` holds `{"pipelines": {id: {...}}, "models": {id: {...}}}`: what is set
there is served; an id the key's logs name and that has no entry is `active`; an id in no
log is NOT_FOUND. The vendor's two pages disagree on the envelope (pipelines bare,
models wrapped); `status_envelope` picks one shape per endpoint.
"""

from __future__ import annotations

from typing import Any

KINDS = {"pipelines": ("pipeline_logs", "pipeline_id"), "models": ("model_logs", "model_id")}
# "vendor": as the vendor's examples print them; "flipped": each endpoint in the other's shape.
ENVELOPES = {
    "vendor": {"pipelines": "bare", "models": "wrapped"},
    "flipped": {"pipelines": "wrapped", "models": "bare"},
    "bare": {"pipelines": "bare", "models": "bare"},
    "wrapped": {"pipelines": "wrapped", "models": "wrapped"},
}
PIPELINE_STATUSES = (
    "running",
    "scheduled",
    "active",
    "not_active",
    "building_tables",
    "error_building_tables",
    "too_many_consecutive_failed_builds",
    "too_many_consecutive_failed_builds__blocked",
)
MODEL_STATUSES = ("running", "scheduled", "active", "not_active")


def envelope_modes(setting: str | dict[str, str] | None) -> dict[str, str]:
    """`vendor` (default), `flipped`, `bare`, `wrapped`, or {"pipelines": ..., "models": ...}."""
    if setting is None:
        return dict(ENVELOPES["vendor"])
    modes = dict(ENVELOPES[setting]) if isinstance(setting, str) and setting in ENVELOPES else setting
    if not isinstance(modes, dict) or set(modes) != set(KINDS) or not set(modes.values()) <= {"bare", "wrapped"}:
        msg = (
            f"status_envelope must be one of {', '.join(ENVELOPES)} or a dict of kind -> bare/wrapped, not {setting!r}"
        )
        raise ValueError(msg)
    return modes


def status_entry(kind: str, status: str, raw_msg: str | None = None, **extra: Any) -> dict[str, Any]:
    """One id's status with the flags that follow from it (extra fields as given)."""
    entry: dict[str, Any] = {
        "status": status,
        "is_running": status == "running",
        "is_active": status not in {"not_active", "too_many_consecutive_failed_builds__blocked"},
    }
    if kind == "pipelines":
        entry["is_blocked"] = status == "too_many_consecutive_failed_builds__blocked"
    else:
        entry["kubo_status_type"] = extra.pop("kubo_status_type", "operational")
    entry["raw_msg"] = raw_msg
    entry.update(extra)
    return entry


def answer_body(object_id: int, entry: dict[str, Any], mode: str) -> dict[str, Any]:
    """The answer in the endpoint's shape: `{"<id>": {...}}`, or inside `{"success": true, "data": ...}`."""
    body = {str(object_id): entry}
    return body if mode == "bare" else {"success": True, "data": body}


def not_found(kind: str, text: str) -> dict[str, Any]:
    """The error body for an id the key cannot see (or that never existed)."""
    return {"success": False, "error": "NOT_FOUND", "message": f"{kind[:-1].capitalize()} {text} not found."}


def ids_in_logs(records: list[dict[str, Any]], id_field: str, clients: set[int]) -> tuple[set[int], set[int]]:
    """The ids the logs of `clients` name, and every id any log names."""
    visible: set[int] = set()
    anywhere: set[int] = set()
    for record in records:
        object_id = record.get(id_field)
        if isinstance(object_id, int):
            anywhere.add(object_id)
            if record.get("client_id") in clients:
                visible.add(object_id)
    return visible, anywhere
