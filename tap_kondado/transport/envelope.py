"""Reading one Kondado answer: HTTP status, the envelopes, the page or status inside.

A log page comes in two nested envelopes (`parse_page`); a status answer (`parse_status`)
comes bare, `{"<id>": {...}}`, or enveloped, `{"success": true, "data": {"<id>": {...}}}`,
on either endpoint.

Every way an answer can go wrong is turned into one of three errors here, so the
client only decides *how* to retry, never *whether*:
`RateLimitedError` (wait what the API says, or Kondado's 60 s penalty), `KondadoTransientError` (back off and
retry) or `KondadoAPIError` (fatal at once).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tap_kondado.conversion import to_id
from tap_kondado.errors import KondadoAPIError, KondadoTransientError, RateLimitedError

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

RATE_LIMIT_CODE = "RATE_LIMIT_EXCEEDED"
NO_STATUS_CODE = "NO_STATUS_IN_ANSWER"
# Codes the tap gives answers that carry none of the API's own: a status stream skips the id.
UNEXPECTED_ANSWER_CODE = "UNEXPECTED_ANSWER"  # JSON, but not the shape of a status
REFUSED_CODE = "UNAUTHORIZED"  # HTTP 401/403 without an error body
TOO_DEEP_CODE = "ANSWER_NESTED_TOO_DEEPLY"  # more nesting than the JSON reader can follow
DEFAULT_RETRY_AFTER = 60.0
_SECONDS_IN_MESSAGE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:seconds?|segundos?|secs?|s)\b", re.IGNORECASE)
_CACHE_ATTR = "_kondado_page"  # parsed once in validate_response, reused by the paginator
_NOT_JSON = object()
_TOO_DEEP = object()
_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")  # a Retry-After in seconds (HTTP dates are not honoured)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the scroll: up to 50 records and the cursor for the next request."""

    records: list[dict[str, Any]]
    next_start_element_id: int | None


def parse_page(response: requests.Response) -> Page:
    """Return the page a response carries, or raise the error it stands for (cached)."""
    page = getattr(response, _CACHE_ATTR, None)
    if page is None:
        page = _parse(response, _page_from_body)
        setattr(response, _CACHE_ATTR, page)
    return page


def parse_status(response: requests.Response, object_id: int) -> dict[str, Any]:
    """The status of `object_id` a status answer carries, or raise the error it stands for.

    An answer that names no status for that id is a `KondadoAPIError` with code
    NO_STATUS_IN_ANSWER: about that id, like an error body, not about the run.
    """
    status = getattr(response, _CACHE_ATTR, None)
    if status is None:
        status = _parse(response, lambda body: _status_from_body(body, object_id))
        setattr(response, _CACHE_ATTR, status)
    return status


def retry_after_seconds(message: object) -> float:
    """Seconds named in a rate-limit message ("try again in 60 seconds"), else 60."""
    match = _SECONDS_IN_MESSAGE.search(str(message or ""))
    return float(match.group(1)) if match else DEFAULT_RETRY_AFTER


def _parse(response: requests.Response, read_body: Callable[[Any], Any] | None = None) -> Any:
    status = response.status_code
    body = _json_or_none(response)
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        _raise_if_failure(body)  # a RATE_LIMIT_EXCEEDED body names its wait
        header = response.headers.get("Retry-After", "").strip()
        if _SECONDS.fullmatch(header):
            raise RateLimitedError(f"HTTP 429, Retry-After {header}s", float(header), response)
        # No usable wait named: Kondado's penalty is 60 s, and retrying sooner only extends it.
        raise RateLimitedError(
            f"HTTP 429 {response.reason} without a usable Retry-After: Kondado's {DEFAULT_RETRY_AFTER:g} s penalty",
            DEFAULT_RETRY_AFTER,
            response,
        )
    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        _raise_if_failure(body)
        raise KondadoAPIError(f"HTTP {status} {response.reason}: the API refused the key/token", code=REFUSED_CODE)
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        raise KondadoTransientError(f"HTTP {status} {response.reason}", response)
    if status >= HTTPStatus.BAD_REQUEST:
        _raise_if_failure(body)
        raise KondadoAPIError(f"HTTP {status} {response.reason} (is api_url right?)", code=f"HTTP_{status}")
    if status >= HTTPStatus.MULTIPLE_CHOICES:
        raise KondadoAPIError(
            f"HTTP {status} {response.reason}: a redirect ({_origin(response.headers.get('Location'))}), "
            "which the tap does not follow: the token travels in the URL. Is api_url right?"
        )
    if body is _TOO_DEEP:  # no retry: the same server sends the same document again
        msg = f"HTTP {status} with a JSON body nested too deeply to read ({len(response.content):,} bytes)"
        raise KondadoAPIError(msg, code=TOO_DEEP_CODE)
    if body is _NOT_JSON:
        raise KondadoTransientError(_describe_non_json(response), response)
    return (read_body or _page_from_body)(body)


def _origin(location: str | None) -> str:
    """Where a redirect points, without its path and query (they may carry the token)."""
    parts = urlsplit(location or "")
    if not parts.scheme or not parts.hostname:
        return "on the same host" if location else "without a Location"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a valid port
        port = ""
    return f"to {parts.scheme}://{parts.hostname}{port}"


def _json_or_none(response: requests.Response) -> Any:
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:  # empty, truncated, HTML proxy page, bad encoding
        return _NOT_JSON
    except RecursionError:  # the C reader's depth limit: far deeper than any real answer
        return _TOO_DEEP


def _describe_non_json(response: requests.Response) -> str:
    content_type = response.headers.get("Content-Type", "no content type")
    size = len(response.content)
    kind = "an empty body" if size == 0 else f"a body that is not JSON ({content_type}, {size} bytes)"
    return f"HTTP {response.status_code} with {kind}"


def _raise_if_failure(envelope: Any) -> None:
    """Raise for `{"success": false, "error": ..., "message": ...}`."""
    if not isinstance(envelope, dict) or envelope.get("success") is not False:
        return
    code = str(envelope.get("error") or "UNKNOWN_ERROR")
    message = str(envelope.get("message") or "no message")
    if code == RATE_LIMIT_CODE:
        raise RateLimitedError(f"{code}: {message}", retry_after_seconds(message))
    raise KondadoAPIError(f"Kondado API error {code}: {message}", code=code)


def _page_from_body(body: Any) -> Page:
    if not isinstance(body, dict):
        raise KondadoAPIError(f"unexpected response: top level is {_kind(body)}, expected an object")
    _raise_if_failure(body)
    inner = body.get("data")
    if not isinstance(inner, dict):
        raise KondadoAPIError(f"unexpected response: 'data' is {_kind(inner)}, expected an object")
    _raise_if_failure(inner)
    records = inner.get("data")
    if not isinstance(records, list):
        raise KondadoAPIError(f"unexpected response: 'data.data' is {_kind(records)}, expected a list")
    pagination = inner.get("pagination")
    if not isinstance(pagination, dict) or "next_start_element_id" not in pagination:
        raise KondadoAPIError("unexpected response: 'data.pagination.next_start_element_id' is missing")
    return Page(records, _cursor(pagination["next_start_element_id"]))


def _status_from_body(body: Any, object_id: int) -> dict[str, Any]:
    """The id's status; any other shape is an error about that id (UNEXPECTED_ANSWER), not about the run."""
    if not isinstance(body, dict):
        msg = f"unexpected response: top level is {_kind(body)}, expected an object"
        raise KondadoAPIError(msg, code=UNEXPECTED_ANSWER_CODE)
    _raise_if_failure(body)
    statuses = body
    while "success" in statuses or "data" in statuses:  # enveloped once (or twice, as the logs are)
        statuses = statuses.get("data")
        if not isinstance(statuses, dict):
            msg = f"unexpected response: 'data' is {_kind(statuses)}, expected an object"
            raise KondadoAPIError(msg, code=UNEXPECTED_ANSWER_CODE)
        _raise_if_failure(statuses)
    status = statuses.get(str(object_id))
    if not isinstance(status, dict):
        named = ", ".join(sorted(map(str, statuses))[:3]) or "none"
        msg = f"the answer holds no status object for id {object_id} (ids in it: {named})"
        raise KondadoAPIError(msg, code=NO_STATUS_CODE)
    return status


def _cursor(value: Any) -> int | None:
    """`next_start_element_id`: null, a non-negative integer, or a string of ASCII digits."""
    if value is None:
        return None
    cursor = to_id(value)
    if cursor is not None:
        return cursor
    shown = str(value) if isinstance(value, Decimal) else repr(value)
    raise KondadoAPIError(f"unexpected response: next_start_element_id is {shown}, expected an id or null")


def _kind(value: Any) -> str:
    if value is None:
        return "null or missing"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")
