"""Build `requests.Response` objects for unit tests without any server."""

from __future__ import annotations

import json
from typing import Any

import requests


def response(
    body: Any = None, *, status: int = 200, raw: bytes | None = None, headers: dict[str, str] | None = None
) -> requests.Response:
    """A response with a JSON `body` (or `raw` bytes), as the API would send it."""
    resp = requests.Response()
    resp.status_code = status
    resp.reason = {200: "OK", 429: "Too Many Requests", 401: "Unauthorized"}.get(status, "Error")
    resp._content = raw if raw is not None else json.dumps(body).encode()
    resp.headers.update(headers or {})
    return resp


def page_body(records: list[dict], next_id: int | None) -> dict:
    """Kondado's nested envelope around one page."""
    return {
        "success": True,
        "data": {"success": True, "data": records, "pagination": {"next_start_element_id": next_id}},
    }
