"""Keep `key` and `token` out of everything the tap prints.

They travel in every URL's query string, so any log line that shows a URL (urllib3
at DEBUG, a requests exception, a traceback) would leak them. Every handler's
formatter is wrapped so its finished text, tracebacks included, is scrubbed.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import quote, quote_plus

MASK = "***"


class Redactor:
    """Replaces each secret, raw, URL-encoded or JSON-escaped, with `***`."""

    def __init__(self, secrets: list[str]) -> None:
        """Secrets shorter than 4 characters are not masked: they would mask ordinary text."""
        forms = {form for secret in secrets if len(secret) >= 4 for form in _forms(secret)}
        self._forms = sorted(forms, key=len, reverse=True)  # longest first

    def __call__(self, text: str) -> str:
        """Return `text` with every secret masked."""
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text


class RedactingFormatter(logging.Formatter):
    """Delegates to the handler's formatter, then masks secrets in the result."""

    def __init__(self, inner: logging.Formatter | None, redactor: Redactor) -> None:
        """Wrap `inner` (the handler's own formatter)."""
        super().__init__()
        self.inner = inner or logging.Formatter()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        """Format as before, then redact."""
        return self.redactor(self.inner.format(record))


def install(secrets: list[str]) -> Redactor:
    """Wrap the formatter of every logging handler in this process."""
    redactor = Redactor(secrets)
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    handlers = {h for lg in loggers if isinstance(lg, logging.Logger) for h in lg.handlers}
    if logging.lastResort is not None:
        handlers.add(logging.lastResort)
    for handler in handlers:
        current = handler.formatter
        if isinstance(current, RedactingFormatter):
            current = current.inner
        handler.setFormatter(RedactingFormatter(current, redactor))
    return redactor


def _forms(secret: str) -> set[str]:
    """The secret raw and URL-encoded, each also as escaped inside a JSON string (structured logs)."""
    encoded = {secret, quote(secret, safe=""), quote_plus(secret)}
    return encoded | {json.dumps(form)[1:-1] for form in encoded}
