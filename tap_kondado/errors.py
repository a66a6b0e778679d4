"""Errors the tap raises on purpose, each with a message fit for one log line."""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError


class KondadoAPIError(FatalAPIError):
    """An error that ends the run: a bad token, an unknown error code, retries used up."""

    def __init__(self, message: str, code: str | None = None) -> None:
        """Keep the API's error code, when there is one."""
        super().__init__(message)
        self.code = code


class KondadoTransientError(RetriableAPIError):
    """A fault worth retrying with backoff: 5xx, a proxy page, a truncated body."""


class RateLimitedError(Exception):
    """RATE_LIMIT_EXCEEDED or HTTP 429: wait exactly `retry_after` seconds, then retry.

    Not a RetriableAPIError: that would put it under the transient-fault backoff.
    """

    def __init__(self, message: str, retry_after: float, response: object = None) -> None:
        """A rate-limit answer and the wait it names."""
        super().__init__(message)
        self.retry_after = retry_after
        self.response = response


class ScrollError(KondadoAPIError):
    """The scroll met data it cannot trust (ids going backwards, a bad cursor)."""


class OutputClosedError(Exception):
    """stdout's reader (the target) is gone: nothing the tap writes can arrive any more."""

    def __init__(self) -> None:
        """One fixed message: the cause is the target's, never the tap's."""
        super().__init__("the output was closed: the target stopped reading")


class AnswerTimeoutError(KondadoTransientError):
    """No complete answer within `request_timeout`: retried like any transient fault."""

    def __init__(self, seconds: float) -> None:
        """Named as requests' own timeouts are: the same fault to the user."""
        super().__init__("request timed out")
        self.seconds = seconds
