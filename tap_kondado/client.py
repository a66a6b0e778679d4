"""KondadoStream: what every Kondado endpoint shares, and the one place a request is made.

The URL and auth (`key`/`token` query parameters), the tap's paced session (one rate budget
for every stream, with the answer deadline), the retries (`request_decorator`: transient
faults back off, rate limits wait what the API names), the run summary (`stats`), and the
shaping of a record into its schema's types (`shape`). Every request goes through
`request_decorator`: the SDK's page loop's, and `send`'s (a seek probe, a status).
Each subclass says how its answers are read (`read_answer`, with envelope.py): the log
scroll in scroll.py, the status streams in status.py.
"""

from __future__ import annotations

import logging
import random
import reprlib
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import backoff
import requests
from singer_sdk import metrics
from singer_sdk.authenticators import APIAuthenticatorBase
from singer_sdk.exceptions import AbortedSyncPausedException
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams import RESTStream
from singer_sdk.streams.rest import PageContext
from typing_extensions import override

from tap_kondado.conversion import INVALID, to_boolean, to_integer, to_number, to_string, to_timestamp
from tap_kondado.errors import KondadoAPIError, KondadoTransientError, RateLimitedError
from tap_kondado.logs.progress import StreamStats
from tap_kondado.transport import network

if TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk.helpers.types import Context


DEFAULT_API_URL = "https://k2.kondado.com.br"
DEFAULT_MAX_RETRIES = 5
RATE_LIMIT_MAX_CONSECUTIVE = 5  # RATE_LIMIT_EXCEEDED answers in a row before giving up
BACKOFF_CAP_SECONDS = 60.0
MAX_NAMED_WAIT_SECONDS = 15 * 60.0  # a longer wait the API names ends the run: run again later

# A bad value as a warning shows it: a few levels and characters, whatever the API sent (a full
# repr of a value nested 900 levels deep can overflow the stack; one of a megabyte floods the log).
_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxstring, _SHOWN.maxother, _SHOWN.maxlist, _SHOWN.maxdict = 3, 80, 80, 4, 4

TRANSIENT_ERRORS = (
    KondadoTransientError,
    ConnectionError,  # includes ConnectionResetError
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class KondadoAuthenticator(APIAuthenticatorBase):
    """Kondado authenticates every request with `key` and `token` query parameters."""

    def __init__(self, key: str, token: str) -> None:
        """Store the two credentials as query parameters."""
        super().__init__()
        self.auth_params = {"key": key, "token": token}


class KondadoStream(RESTStream[int]):
    """A Kondado endpoint: its requests, their retries and pacing, the summary, the record's shape."""

    #: The field naming a record in warnings; checked by the stream itself, never converted.
    record_key: ClassVar[str] = "id"
    #: The error that stopped this stream while the others went on (the tap then exits 1); None if none did.
    stopped_by: KondadoAPIError | None = None
    # A redirect keeping the query string would hand the token to the host it names,
    # over any scheme: envelope.py turns a 3xx into an error instead.
    allow_redirects = False
    # post_process already emits every value as its schema type; the SDK's
    # recursive per-record conforming would only cost time.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # No override of the SDK's private _generate_record_messages: measured against the plain
    # Singer loop (50,000 records, medians of 7 runs) it saved 2.42 -> 2.05 CPU s, about 1.6 s
    # over a 216,000-log first sync the rate limit stretches to 3.7 hours. Not worth the risk.

    @override
    @property
    def url_base(self) -> str:
        """The API root, from `api_url`."""
        return str(self.config.get("api_url") or DEFAULT_API_URL).rstrip("/")

    @override
    @cached_property
    def authenticator(self) -> KondadoAuthenticator:
        """Built once: the SDK reads this property on every request."""
        return KondadoAuthenticator(self.config["key"], self.config["token"])

    @override
    @property
    def requests_session(self) -> requests.Session:
        """The tap's paced session, shared by every stream (the limit is per key)."""
        return self._tap.paced_session

    @override
    @property
    def timeout(self) -> float:
        """Seconds per HTTP request, from `request_timeout`."""
        return float(self.config.get("request_timeout", 60))

    @override
    def log(self, message: str, *args: Any, level: int = logging.INFO, **kwargs: Any) -> None:
        """The SDK's, minus its "An unhandled error occurred" line: the tap names the real error itself."""
        if level >= logging.ERROR and message.startswith("An unhandled error occurred"):
            return
        super().log(message, *args, level=level, **kwargs)

    @override
    def get_sync_timer(self) -> metrics.Timer:
        """The SDK's, counting a sync paused at `--test`'s record limit as succeeded, not failed."""
        return _PausedIsSuccessTimer(metrics.Metric.SYNC_DURATION, {metrics.Tag.STREAM: self.name})

    @cached_property
    def stats(self) -> StreamStats:
        """Counts of this run for the stream, over all its partitions (the summary's figures)."""
        return StreamStats()

    @override
    def log_sync_costs(self) -> None:
        """The SDK's cost line, then the run summary (the SDK calls this once per stream, at the end)."""
        super().log_sync_costs()
        self.log_summary()

    def log_summary(self) -> None:
        """One line on what this stream did this run; once (the tap also calls it when a run fails)."""
        if self.selected and not self.__dict__.get("_summary_logged"):
            self._summary_logged = True
            text, fields = self.stats.summary(self.name)
            self.logger.info("%s", text, extra={"summary": fields})

    def send(self, context: Context | None, token: Any = None) -> requests.Response:
        """One request outside the SDK's page loop (a seek probe, a status), through the same pacing and retries.

        The SDK's page loop sends through the same `request_decorator(self._request)`.
        """
        http_request = self.get_http_request(page=PageContext(stream_context=context, next_page_token=token))
        prepared = self.build_prepared_request(
            method=http_request.method,
            url=http_request.url,
            params=http_request.encode_params(),
            headers=http_request.headers,
        )
        return self.request_decorator(self._request)(prepared, context)

    @override
    def validate_response(self, response: requests.Response) -> None:
        """Kondado reports errors in the body of an HTTP 200: reading the answer raises them."""
        self.read_answer(response)

    def read_answer(self, response: requests.Response) -> Any:
        """The answer's content, or the error it stands for (envelope.py); per endpoint."""
        raise NotImplementedError

    # --- records ------------------------------------------------------------

    @cached_property
    def _converters(self) -> list[tuple[str, tuple[type, ...], Any, str]]:
        """Per field but the scroll key: (name, types kept as they are, converter, type's name)."""
        converters = []
        for name, prop in self.schema["properties"].items():
            types = prop.get("type", [])
            if name == self.record_key:  # the stream checks it itself
                continue
            if "integer" in types:
                converters.append((name, (), to_integer, "a 64-bit integer"))  # an int too: its range
            elif "number" in types:
                converters.append((name, (int, Decimal), to_number, "a number"))
            elif "boolean" in types:
                converters.append((name, (bool,), to_boolean, "a boolean"))
            elif prop.get("format") == "date-time":
                converters.append((name, (), to_timestamp, "a date-time string"))
            elif "string" in types:
                converters.append((name, (str,), to_string, "a string"))
        return converters

    def shape(self, row: dict) -> dict:
        """Values of their schema types, only the schema's fields: the one place a record is shaped."""
        properties = self.schema["properties"]
        if len(row) != len(properties) or not row.keys() <= properties.keys():
            row = self._drop_unexpected_fields(row)
        for name, kept, convert, type_name in self._converters:
            value = row.get(name)
            if value is None or type(value) in kept:  # type(): a bool is no int here
                continue
            converted = convert(value)
            if converted is INVALID:
                self._warn_once(
                    f"bad:{name}",
                    "%s: id %s has %s=%s, not %s; emitted as null",
                    self.name,
                    row.get(self.record_key),
                    name,
                    _SHOWN.repr(value),
                    type_name,
                )
                converted = None
            row[name] = converted
        return row

    def _drop_unexpected_fields(self, row: dict) -> dict:
        properties = self.schema["properties"]
        extra = sorted(set(row) - properties.keys())
        if extra:
            self._warn_once(
                "extra", "%s: the API sent fields not in the schema, left out: %s", self.name, ", ".join(extra)
            )
            row = {k: v for k, v in row.items() if k in properties}
        return row

    def _warn_once(self, topic: str, msg: str, *args: object) -> None:
        """One warning per stream and topic per run, not one per record."""
        warned = self.__dict__.setdefault("_warned", set())
        if topic not in warned:
            warned.add(topic)
            self.logger.warning(msg, *args)

    # --- retries ------------------------------------------------------------

    @override
    def backoff_wait_generator(self) -> Iterator[float]:
        """Transient faults: 1, 2, 4 ... seconds, capped at a minute."""
        return backoff.expo(base=2, factor=1, max_value=BACKOFF_CAP_SECONDS)

    @override
    def backoff_max_tries(self) -> int:
        """The first try plus `max_retries`."""
        return int(self.config.get("max_retries", DEFAULT_MAX_RETRIES)) + 1

    @override
    def backoff_jitter(self, value: float) -> float:
        """Half the wait fixed, half random: spread out, never much shorter."""
        return value / 2 + random.uniform(0, value / 2)  # noqa: S311

    @override
    def backoff_handler(self, details: dict) -> None:
        """One line per retry, naming the fault but never the URL (it carries the token)."""
        exc = details.get("exception")
        if isinstance(exc, RateLimitedError):
            self.stats.waited_seconds += details.get("wait") or 0
        self.logger.log(
            logging.INFO if isinstance(exc, RateLimitedError) else logging.WARNING,
            "%s: %s; retrying in %.1f s (try %d)",
            self.name,
            _describe(exc),
            details.get("wait") or 0,
            details.get("tries", 0) + 1,
        )

    def _penalize(self, exc: RateLimitedError) -> float:
        """The wait backoff sleeps, recorded first as the key's penalty.

        Every other process on the key then waits it out in its limiter's acquire, once,
        instead of retrying into it; this one sleeps it here and finds it over.
        """
        if exc.retry_after > MAX_NAMED_WAIT_SECONDS:
            msg = (
                f"{self.name}: the API asks to wait {exc.retry_after:g} s ({exc}), more than the "
                f"{MAX_NAMED_WAIT_SECONDS / 60:g}-minute cap; stopping, run again later"
            )
            raise KondadoAPIError(msg) from None
        limiter = self.requests_session.limiter
        limiter.penalize(exc.retry_after)
        limiter.waited_seconds += exc.retry_after
        return exc.retry_after

    @override
    def request_decorator(self, func):  # noqa: ANN001, ANN201
        """Two retry policies where the SDK has one, and errors that end a run cleanly.

        Transient faults back off exponentially with jitter; RATE_LIMIT_EXCEEDED waits
        exactly what the API names, without jitter, recorded as the key's penalty for every
        process; a wait over the cap ends the run. Both re-enter the paced session.
        backoff's own logger is off: its lines print the URL, and so the token.
        """
        on_transient = backoff.on_exception(
            self.backoff_wait_generator,
            TRANSIENT_ERRORS,
            max_tries=self.backoff_max_tries,
            jitter=self.backoff_jitter,
            on_backoff=self.backoff_handler,
            logger=None,
        )(self._counted_request(func))
        on_rate_limit = backoff.on_exception(
            backoff.runtime,
            RateLimitedError,
            value=self._penalize,
            max_tries=RATE_LIMIT_MAX_CONSECUTIVE,
            jitter=None,
            on_backoff=self.backoff_handler,
            logger=None,
        )(on_transient)

        def request(*args: Any, **kwargs: Any) -> requests.Response:
            try:
                return on_rate_limit(*args, **kwargs)
            except RateLimitedError as exc:
                msg = f"{self.name}: still rate limited after {RATE_LIMIT_MAX_CONSECUTIVE} tries: {exc}"
                raise KondadoAPIError(msg) from None
            except TRANSIENT_ERRORS as exc:
                tries = self.backoff_max_tries()
                attempts = "1 try" if tries == 1 else f"{tries} tries"
                msg = f"{self.name}: giving up after {attempts}; last fault: {_describe(exc)}"
                raise KondadoAPIError(msg) from None

        return request

    def _counted_request(self, func):  # noqa: ANN001, ANN202
        """`func` counted for the summary: each try, its pacing wait, and rate-limit answers."""
        stats = self.stats
        limiter = getattr(self.requests_session, "limiter", None)

        def request(*args: Any, **kwargs: Any) -> requests.Response:
            stats.requests += 1
            waited_before = limiter.waited_seconds if limiter is not None else 0.0
            try:
                return func(*args, **kwargs)
            except RateLimitedError:
                stats.rate_limited += 1
                raise
            finally:
                if limiter is not None:
                    stats.waited_seconds += limiter.waited_seconds - waited_before

        return request


class _PausedIsSuccessTimer(metrics.Timer):
    """A paused sync (AbortedSyncPausedException: `--test` reached its one record) is no failure."""

    @override
    def __exit__(self, exc_type: type[BaseException] | None, *exc: Any) -> None:
        if exc_type is not None and issubclass(exc_type, AbortedSyncPausedException):
            exc_type = None
        super().__exit__(exc_type, *exc)


def _describe(exc: BaseException | None) -> str:
    """A fault in a few words, with no URL (the URL carries the token)."""
    if isinstance(exc, (KondadoTransientError, RateLimitedError)):
        return str(exc)
    if exc is not None and (words := network.describe(exc)):
        return words
    return type(exc).__name__
