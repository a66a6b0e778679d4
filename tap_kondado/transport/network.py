"""A network fault in a few words: what failed and where, never the URL (it carries the token)."""

from __future__ import annotations

import socket
import ssl
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NameResolutionError

if TYPE_CHECKING:
    from collections.abc import Iterator


def describe(exc: BaseException) -> str | None:  # noqa: PLR0911 - one case a line reads best
    """Words for a connection-level fault of requests, or None if `exc` is none."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"connecting to {_where(exc)} timed out"
    if isinstance(exc, requests.exceptions.Timeout):
        return "request timed out"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection broken mid-answer"
    causes = list(_causes(exc))
    if any(isinstance(c, (NameResolutionError, socket.gaierror)) for c in causes):
        return f"cannot resolve host {_where(exc, port=False)} (DNS)"
    if isinstance(exc, requests.exceptions.SSLError) or any(isinstance(c, ssl.SSLError) for c in causes):
        verify = next((c.verify_message for c in causes if isinstance(c, ssl.SSLCertVerificationError)), None)
        return f"TLS handshake with {_where(exc)} failed" + (f": {verify}" if verify else "")
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return f"connection refused by {_where(exc)}"
    if any(isinstance(c, ConnectionResetError) for c in causes):
        return "connection reset"
    if isinstance(exc, (requests.exceptions.ConnectionError, ConnectionError)):
        return f"connection to {_where(exc)} failed"
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything it wraps: urllib3 nests the real fault in args, reason and __cause__."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend([*current.args, getattr(current, "reason", None), current.__cause__, current.__context__])


def _where(exc: BaseException, *, port: bool = True) -> str:
    """The host (and port) the request went to, from its URL but without path or query."""
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None)
    if not url:
        return "the API"
    parts = urlsplit(str(url))
    try:
        shown_port = parts.port
    except ValueError:
        shown_port = None
    host = parts.hostname or "the API"
    return f"{host}:{shown_port}" if port and shown_port else host
