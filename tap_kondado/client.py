"""KondadoStream: the one REST base stream (auth, envelope, pacing, retries, scroll)."""

from __future__ import annotations

import datetime
import logging
import random
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import backoff
import requests
from singer_sdk import singerlib as singer
from singer_sdk.authenticators import APIAuthenticatorBase
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams import RESTStream

from tap_kondado.conversion import INVALID, to_boolean, to_integer, to_number, to_string, to_timestamp
from tap_kondado.envelope import parse_page
from tap_kondado.errors import KondadoAPIError, KondadoTransientError, RateLimitedError
from tap_kondado.lookback import STATE_KEY as LOOKBACK_STATE_KEY
from tap_kondado.lookback import LookbackPass
from tap_kondado.pagination import ScrollPaginator
from tap_kondado.progress import Progress, StreamStats, interval_from_env

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers.types import Context

DEFAULT_API_URL = "https://k2.kondado.com.br"
DEFAULT_MAX_RETRIES = 5
RATE_LIMIT_MAX_CONSECUTIVE = 5  # RATE_LIMIT_EXCEEDED answers in a row before giving up
BACKOFF_CAP_SECONDS = 60.0
CREATED_AT_STATE_KEY = "last_created_at"  # createdAt of the bookmarked record

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
    """A Kondado log endpoint: scrolled by `start_element_id`, replicated by `id`."""

    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key = "id"
    is_sorted = True  # ids ascend, so the bookmark is resumable mid-stream
    # A redirect keeping the query string would hand the token to the host it names,
    # over any scheme: envelope.py turns a 3xx into an error instead.
    allow_redirects = False
    # post_process already emits every value as its schema type; the SDK's
    # recursive per-record conforming would only cost time.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    #: Days the API keeps this stream's logs (None: not documented).
    retention_days: ClassVar[int | None] = None
    #: When the page being emitted arrived: its records' time_extracted.
    _page_extracted_at: datetime.datetime | None = None
    #: The partition's lookback this run (None: `lookback_hours` is 0).
    _lookback: LookbackPass | None = None
    #: Ids up to here are re-read window logs: they must not move the bookmark (-1: none).
    _window_until: int = -1

    @property
    def url_base(self) -> str:
        """The API root, from `api_url`."""
        return str(self.config.get("api_url") or DEFAULT_API_URL).rstrip("/")

    @cached_property
    def authenticator(self) -> KondadoAuthenticator:
        """Built once: the SDK reads this property on every request."""
        return KondadoAuthenticator(self.config["key"], self.config["token"])

    @property
    def requests_session(self) -> requests.Session:
        """The tap's paced session, shared by every stream (the limit is per key)."""
        return self._tap.paced_session

    @property
    def timeout(self) -> float:
        """Seconds per HTTP request, from `request_timeout`."""
        return float(self.config.get("request_timeout", 60))

    @property
    def partitions(self) -> list[dict] | None:
        """One scroll per `client_ids` account, each with its own bookmark."""
        client_ids = self.config.get("client_ids")
        return [{"client_id": client_id} for client_id in client_ids] if client_ids else None

    # --- the scroll ---------------------------------------------------------

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Scroll one partition; on failure, emit the state reached before re-raising."""
        # get_new_paginator() and post_process() run per page and per record: the
        # partition's scroll and state dict are set up once here.
        self._partition_state = self.get_context_state(context)
        after_id = self._after_id(context)
        self._lookback = self._start_lookback(context, after_id)
        self._window_until = -1
        if self._lookback is not None:
            after_id = self._lookback.after_id(after_id)
            if self._lookback.start_id is not None and self._lookback.bookmark is not None:
                self._window_until = self._lookback.bookmark
        self._paginator = ScrollPaginator(self.name, after_id)
        self._progress = Progress(
            self.logger,
            self.name,
            self.stats,
            client_id=(context or {}).get("client_id"),
            interval=interval_from_env(),
        )
        self._warn_if_logs_may_be_purged(context)
        try:
            yield from super().get_records(context)
        except Exception:
            # The SDK writes no STATE when a stream raises: send what was completed.
            self._write_state_message()
            raise
        if self._lookback is not None:
            self._lookback.finish()
            self.stats.changed += self._lookback.changed
            self._write_state_message()
        self._progress.end()

    @cached_property
    def stats(self) -> StreamStats:
        """Counts of this run for the stream, over all its partitions (the summary's figures)."""
        return StreamStats()

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

    def _start_lookback(self, context: Context | None, after_id: int) -> LookbackPass | None:
        """The partition's lookback for this run, if `lookback_hours` asks for one."""
        hours = float(self.config.get("lookback_hours") or 0)
        if hours <= 0:
            # Off: forget its bookkeeping, or turning it on again later would re-read (and
            # re-send) everything loaded since, from a stale checkpoint and watermark.
            self._partition_state.pop(LOOKBACK_STATE_KEY, None)
            return None
        bookmark = after_id if self.get_starting_replication_key_value(context) is not None else None
        lookback = LookbackPass(self._partition_state, hours, bookmark, self._partition_state.get(CREATED_AT_STATE_KEY))
        if reason := lookback.why_no_window():
            where = f"{self.name} {dict(context)}" if context else self.name
            self.logger.info("%s: lookback re-reads nothing this run: %s", where, reason)
        return lookback

    def get_new_paginator(self) -> ScrollPaginator:
        """The scroll prepared by get_records for the current partition."""
        return self._paginator

    def get_url_params(self, context: Context | None, next_page_token: int | None) -> dict[str, Any]:
        """`start_element_id` (required by the API) and the partition's `client_id`."""
        params: dict[str, Any] = {"start_element_id": next_page_token}
        if context and "client_id" in context:
            params["client_id"] = context["client_id"]
        return params

    def validate_response(self, response: requests.Response) -> None:
        """Kondado reports errors in the body of an HTTP 200: read both envelopes."""
        parse_page(response)

    def parse_response(self, response: requests.Response) -> Iterator[dict[str, Any]]:
        """The page's records that were not emitted yet, then a STATE vouching for all of them."""
        self._page_extracted_at = datetime.datetime.now(datetime.timezone.utc)
        page = parse_page(response).records
        if self._lookback is None:
            after = self._paginator.last_id
            yield from self._paginator.page_of(response)
            # Counted once per page: the scroll let through exactly the ids above `after`.
            self.stats.new += sum(1 for record in page if record["id"] > after)
        else:
            yield from self._lookback.emit(self._paginator.page_of(response))
            self.stats.new += self._lookback.new
            self._lookback.new = 0
            self._lookback.page_done(page)
        self._progress.page(page[-1].get("createdAt") if page else None)
        # The SDK resumes this generator only once the page's last record is written and
        # counted; a STATE now means a run killed before the next page repeats nothing, and
        # one killed mid-page repeats only what it emitted of that page.
        self._write_state_message()

    def _increment_stream_state(self, latest_record: dict, *, context: Context | None = None) -> None:
        """The SDK's, skipping re-read window logs: the SDK would refuse them (is_sorted) as below the bookmark."""
        if latest_record["id"] > self._window_until:
            super()._increment_stream_state(latest_record, context=context)

    def _write_starting_replication_value(self, context: Context | None) -> None:
        """The SDK's, minus its fallback to a `start_date` setting.

        This tap has none: a stray one (another tap's) must not become the bookmark.
        """
        self.state_manager.write_starting_replication_value(
            context=context,
            replication_method=self.replication_method,
            replication_key=self.replication_key,
            config={},
        )

    def _after_id(self, context: Context | None) -> int:
        """Emit ids above the bookmark; on a first sync, ids from `start_element_id` on."""
        bookmark = self.get_starting_replication_key_value(context)
        if bookmark is not None:
            return int(bookmark)
        return int(self.config.get("start_element_id", 0)) - 1

    # --- records ------------------------------------------------------------

    @cached_property
    def _converters(self) -> list[tuple[str, tuple[type, ...], Any, str]]:
        """Per field but the scroll key: (name, types kept as they are, converter, type's name)."""
        converters = []
        for name, prop in self.schema["properties"].items():
            types = prop.get("type", [])
            if name == "id":  # the scroll checks ids itself
                continue
            if "integer" in types:
                converters.append((name, (int,), to_integer, "an integer"))
            elif "number" in types:
                converters.append((name, (int, Decimal), to_number, "a number"))
            elif "boolean" in types:
                converters.append((name, (bool,), to_boolean, "a boolean"))
            elif prop.get("format") == "date-time":
                converters.append((name, (), to_timestamp, "a date-time string"))
            elif "string" in types:
                converters.append((name, (str,), to_string, "a string"))
        return converters

    def post_process(self, row: dict, context: Context | None = None) -> dict | None:  # noqa: ARG002
        """Values of their schema types, only the schema's fields, and the createdAt of the bookmark."""
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
                    "%s: id %s has %s=%r, not %s; emitted as null",
                    self.name,
                    row["id"],
                    name,
                    value,
                    type_name,
                )
                converted = None
            row[name] = converted
        if row["id"] > self._window_until:  # a re-read window log is not the bookmark's
            self._partition_state[CREATED_AT_STATE_KEY] = row.get("createdAt")
        return row

    @cached_property
    def _every_field_selected(self) -> bool:
        """Whether the catalog selects all of the schema's fields (the usual case)."""
        return all(self.mask[("properties", name)] for name in self.schema["properties"])

    def _generate_record_messages(self, record: dict) -> Iterator[singer.RecordMessage]:
        """The SDK's RECORD messages, without two per-record costs that buy nothing here.

        post_process already keeps only the schema's fields, so the SDK's walk over every
        field to drop deselected ones is needed only when the catalog deselects some; and
        time_extracted is when the page arrived, not one clock read per record.
        """
        if not self._every_field_selected or self.TYPE_CONFORMANCE_LEVEL != TypeConformanceLevel.NONE:
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield singer.RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=self._page_extracted_at,
                )

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

    def _warn_if_logs_may_be_purged(self, context: Context | None) -> None:
        if self.retention_days is None:
            return
        last = self._partition_state.get(CREATED_AT_STATE_KEY)
        try:
            created = datetime.datetime.fromisoformat(str(last).replace("Z", "+00:00"))
        except ValueError:
            return
        if created.tzinfo is None:
            created = created.replace(tzinfo=datetime.timezone.utc)
        age = datetime.datetime.now(datetime.timezone.utc) - created
        if age > datetime.timedelta(days=self.retention_days):
            self.logger.warning(
                "%s%s: the last log emitted was created %s, %d days ago; Kondado keeps "
                "these logs %d days, so logs written since may have been purged unread",
                self.name,
                f" {dict(context)}" if context else "",
                last,
                age.days,
                self.retention_days,
            )

    # --- retries ------------------------------------------------------------

    def backoff_wait_generator(self) -> Iterator[float]:
        """Transient faults: 1, 2, 4 ... seconds, capped at a minute."""
        return backoff.expo(base=2, factor=1, max_value=BACKOFF_CAP_SECONDS)

    def backoff_max_tries(self) -> int:
        """The first try plus `max_retries`."""
        return int(self.config.get("max_retries", DEFAULT_MAX_RETRIES)) + 1

    def backoff_jitter(self, value: float) -> float:
        """Half the wait fixed, half random: spread out, never much shorter."""
        return value / 2 + random.uniform(0, value / 2)  # noqa: S311

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

    def request_decorator(self, func):  # noqa: ANN001, ANN201
        """Two retry policies where the SDK has one, and errors that end a run cleanly.

        Transient faults back off exponentially with jitter; RATE_LIMIT_EXCEEDED waits
        exactly what the API names, without jitter. Both re-enter the paced session.
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
            value=lambda exc: exc.retry_after,
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


def _describe(exc: BaseException | None) -> str:
    """A fault in a few words, with no URL (the URL carries the token)."""
    if isinstance(exc, (KondadoTransientError, RateLimitedError)):
        return str(exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return "request timed out"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection broken mid-answer"
    if isinstance(exc, (requests.exceptions.ConnectionError, ConnectionError)):
        return "connection failed (reset or refused)"
    return type(exc).__name__
