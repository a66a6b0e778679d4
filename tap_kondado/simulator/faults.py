"""Faults the simulator can answer with, by request number.

A fault is a string `kind` or `kind:argument`, or a dict `{"kind": "body", "status": 200,
"body": "...", "content_type": "..."}` for an arbitrary answer:

| kind | answer |
|---|---|
| `500`, `502`, `503` | that HTTP status with an HTML error page |
| `429` | HTTP 429 with no body; `429:N` adds `Retry-After: N` |
| `reset` | the connection is reset before any answer |
| `slow:S` | the normal answer, after S seconds |
| `drip:S` | the normal answer, status line and headers included, one byte every S seconds |
| `malformed` | HTTP 200, a body that is not JSON |
| `truncated` | HTTP 200, the normal JSON body cut in half |
| `html` | HTTP 200, a proxy's HTML page |
| `rate_limit[:S]` | HTTP 200, RATE_LIMIT_EXCEEDED naming S seconds (default: the penalty) |
| `inner_rate_limit[:S]` | the same, with `success: false` inside `data` |
| `error:CODE` / `inner_error:CODE` | `success: false` with that code, outer or inside `data` |
| `body` | the dict's status, body and content type, as given |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = {
    "500",
    "502",
    "503",
    "429",
    "reset",
    "slow",
    "drip",
    "malformed",
    "truncated",
    "html",
    "rate_limit",
    "inner_rate_limit",
    "error",
    "inner_error",
    "body",
}


@dataclass(frozen=True)
class Fault:
    """One scheduled fault."""

    kind: str
    argument: str | None = None
    status: int = 200
    body: str = ""
    content_type: str = "application/json"

    @classmethod
    def parse(cls, spec: str | dict[str, Any]) -> Fault:
        """From `kind`, `kind:argument` or a `body` dict."""
        if isinstance(spec, dict):
            return cls(
                kind=str(spec.get("kind", "body")),
                argument=spec.get("argument"),
                status=int(spec.get("status", 200)),
                body=str(spec.get("body", "")),
                content_type=str(spec.get("content_type", "application/json")),
            )
        kind, _, argument = str(spec).partition(":")
        if kind not in KINDS:
            msg = f"unknown fault kind {kind!r}; known: {', '.join(sorted(KINDS))}"
            raise ValueError(msg)
        return cls(kind=kind, argument=argument or None)


def parse_schedule(items: dict[Any, Any]) -> dict[int, Fault]:
    """`{request_number: spec}` with numbers as ints."""
    return {int(number): Fault.parse(spec) for number, spec in items.items()}
