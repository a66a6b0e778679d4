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
from singer_sdk import metrics
from singer_sdk.authenticators import APIAuthenticatorBase
from singer_sdk.exceptions import AbortedSyncPausedException
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams import RESTStream
from singer_sdk.streams.rest import PageContext

from tap_kondado import network
from tap_kondado.conversion import INVALID, parse_time, to_boolean, to_integer, to_number, to_string, to_timestamp
from tap_kondado.envelope import Page, parse_page
from tap_kondado.errors import KondadoAPIError, KondadoTransientError, RateLimitedError
from tap_kondado.lookback import STATE_KEY as LOOKBACK_STATE_KEY
from tap_kondado.lookback import LookbackPass
from tap_kondado.pagination import ScrollPaginator
from tap_kondado.progress import Progress, StreamStats, interval_from_env, limiter_windows
from tap_kondado.seek import DEFAULT_TOLERANCE, created_at, parse_start_date, seek
from tap_kondado.state import normalize_bookmark

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from singer_sdk.helpers.types import Context

DEFAULT_API_URL = "https://k2.kondado.com.br"
DEFAULT_MAX_RETRIES = 5
RATE_LIMIT_MAX_CONSECUTIVE = 5  # RATE_LIMIT_EXCEEDED answers in a row before giving up
BACKOFF_CAP_SECONDS = 60.0
MAX_NAMED_WAIT_SECONDS = 15 * 60.0  # a longer wait the API names ends the run: run again later
CREATED_AT_STATE_KEY = "last_created_at"  # createdAt of the bookmarked record
# While a scroll that began at start_date may still meet logs created before it (createdAt
# runs back by up to the seek's tolerance), the partition state keeps that date, so a
# resumed run drops them too.
NOT_BEFORE_STATE_KEY = "start_date_floor"

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
    # No override of the SDK's private _generate_record_messages: measured against the plain
    # Singer loop (50,000 records, medians of 7 runs) it saved 2.42 -> 2.05 CPU s, about 1.6 s
    # over a 216,000-log first sync the rate limit stretches to 3.7 hours. Not worth the risk.
    #: Days the API keeps this stream's logs (None: not documented).
    retention_days: ClassVar[int | None] = None
    #: Epoch seconds: logs created before this are dropped (a scroll from start_date).
    _not_before: float | None = None
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

    def log(self, message: str, *args: Any, level: int = logging.INFO, **kwargs: Any) -> None:
        """The SDK's, minus its "An unhandled error occurred" line: the tap names the real error itself."""
        if level >= logging.ERROR and message.startswith("An unhandled error occurred"):
            return
        super().log(message, *args, level=level, **kwargs)

    def get_sync_timer(self) -> metrics.Timer:
        """The SDK's, counting a sync paused at `--test`'s record limit as succeeded, not failed."""
        return _PausedIsSuccessTimer(metrics.Metric.SYNC_DURATION, {metrics.Tag.STREAM: self.name})

    # --- the scroll ---------------------------------------------------------

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Scroll one partition; on failure, emit the state reached before re-raising."""
        # get_new_paginator() and post_process() run per page and per record: the
        # partition's scroll and state dict are set up once here.
        self._partition_state = self.get_context_state(context)
        self._progress = Progress(
            self.logger,
            self.name,
            self.stats,
            client_id=(context or {}).get("client_id"),
            interval=interval_from_env(),
            # The ETA plays the rate limits forward (issue 17).
            windows=limiter_windows(getattr(self.requests_session, "limiter", None)),
        )
        self._warn_if_logs_may_be_purged(context)
        try:
            self._paginator = self._start_scroll(context)
            after_id = self._paginator.last_id
            yield from super().get_records(context)
        except Exception:
            # The SDK writes no STATE when a stream raises: send what was completed.
            self._write_state_message()
            raise
        if self._lookback is not None:
            self._lookback.finish()
            self._write_state_message()
        self._progress.end()
        self._warn_if_account_brought_nothing(context, after_id)

    def _start_scroll(self, context: Context | None) -> ScrollPaginator:
        """Where this partition's scroll starts.

        From the bookmark, or the lookback window before it; on a first sync with
        `start_date`, from where the seek landed.
        """
        bookmark = self.get_starting_replication_key_value(context)
        first_id = int(self.config.get("start_element_id", 0))
        floor = self._partition_state.get(NOT_BEFORE_STATE_KEY)
        self._not_before = created_at({"createdAt": floor}) if bookmark is not None else None
        self._lookback = self._start_lookback(context, None if bookmark is None else int(bookmark))
        self._window_until = -1
        if bookmark is not None:
            after_id = int(bookmark)
            if self._lookback is not None and self._lookback.start_id is not None:
                self._window_until = after_id  # ids up to the bookmark are the re-read window
                after_id = self._lookback.after_id(after_id)
                # No start_date filter here: the window keeps its first sync's date itself (lookback.py),
                # and the logs past the bookmark are new whatever the setting says now (issue 17).
            return ScrollPaginator(self.name, after_id)
        start_date = self.config.get("start_date")
        if not start_date:
            return ScrollPaginator(self.name, first_id - 1)
        date = parse_start_date(start_date)
        self._not_before = date.timestamp()
        self._partition_state[NOT_BEFORE_STATE_KEY] = date.isoformat().replace("+00:00", "Z")
        with self.get_http_request_counter() as counter:
            counter.with_context(context)

            def probe(position: int) -> Page:
                counter.increment()
                return self._probe(context, position)

            landing = seek(probe, date, lower=max(first_id - 1, 0))
        self.logger.info(
            "%s%s: logs since start_date %s begin at or after start_element_id %d (found in %d requests)",
            self.name,
            f" {dict(context)}" if context else "",
            self._partition_state[NOT_BEFORE_STATE_KEY],
            landing.start,
            landing.probes,
        )
        return ScrollPaginator(
            self.name, max(landing.start - 1, first_id - 1), start=landing.start, first_page=landing.page
        )

    def _probe(self, context: Context | None, position: int) -> Page:
        """One page at `position`, through the same pacing, retries and checks as the scroll."""
        http_request = self.get_http_request(page=PageContext(stream_context=context, next_page_token=position))
        prepared = self.build_prepared_request(
            method=http_request.method,
            url=http_request.url,
            params=http_request.encode_params(),
            headers=http_request.headers,
        )
        return parse_page(self.request_decorator(self._request)(prepared, context))

    def request_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The SDK's page loop, after the page the seek already fetched (if any)."""
        page = self._paginator.first_page
        if page is not None:
            yield from self._emit(page, self._paginator.take_first_page())
            if self._paginator.finished:
                return
        yield from super().request_records(context)

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

    def _start_lookback(self, context: Context | None, bookmark: int | None) -> LookbackPass | None:
        """The partition's lookback for this run, if `lookback_hours` asks for one."""
        hours = float(self.config.get("lookback_hours") or 0)
        if hours <= 0:
            # Off: forget its bookkeeping, or turning it on again later would re-read (and
            # re-send) everything loaded since, from a stale checkpoint and watermark.
            self._partition_state.pop(LOOKBACK_STATE_KEY, None)
            return None
        # A first sync from start_date hands the date to the lookback, which keeps it for later windows.
        start_date = self.config.get("start_date") if bookmark is None else None
        lookback = LookbackPass(
            self._partition_state,
            hours,
            bookmark,
            self._partition_state.get(CREATED_AT_STATE_KEY),
            start_date=parse_start_date(start_date) if start_date else None,
        )
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
        page = parse_page(response)
        yield from self._emit(page, self._paginator.new_records(page))

    def _emit(self, page: Page, new_records: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """A page's new records, the run's bookkeeping on that page, then a STATE vouching for them."""
        records = page.records
        if self._lookback is None:
            yield from new_records
        else:
            yield from self._lookback.emit(new_records)
            self._lookback.page_done(records)
        self._progress.page(records[-1].get("createdAt") if records else None)
        # The SDK resumes this generator only once the page's last record is written and
        # counted; a STATE now means a run killed before the next page repeats nothing, and
        # one killed mid-page repeats only what it emitted of that page.
        self._write_state_message()

    def _increment_stream_state(self, latest_record: dict, *, context: Context | None = None) -> None:
        """The SDK's, skipping re-read window logs: the SDK would refuse them (is_sorted) as below the bookmark."""
        if latest_record["id"] > self._window_until:
            super()._increment_stream_state(latest_record, context=context)

    def _write_starting_replication_value(self, context: Context | None) -> None:
        """The SDK's, minus its fallback to the `start_date` setting.

        The SDK would make the date the starting value of this integer key; here the
        date is turned into a position by the seek, and the bookmark is always an id.
        A bookmark stored as a digit string becomes the id it names first.
        """
        normalize_bookmark(self.name, context, self.get_context_state(context))
        self.state_manager.write_starting_replication_value(
            context=context,
            replication_method=self.replication_method,
            replication_key=self.replication_key,
            config={},
        )

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
        if self._not_before is not None and self._created_before_start_date(row):
            return None
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
        if row["id"] > self._window_until:
            self._partition_state[CREATED_AT_STATE_KEY] = row.get("createdAt")
            self.stats.new += 1
        else:  # a re-read window log let through: changed, and not the bookmark's
            self.stats.changed += 1
        return row

    def _created_before_start_date(self, row: dict) -> bool:
        """Whether a log of a scroll begun at start_date (or of a window re-read) predates it: dropped.

        Once a log created `tolerance` past the date has gone by, no later id can predate
        the date: the check, and its state key, are dropped for the rest of the scroll.
        """
        moment = created_at(row)
        if moment is None:
            return False
        assert self._not_before is not None  # noqa: S101
        if moment >= self._not_before + DEFAULT_TOLERANCE.total_seconds():
            self._not_before = None
            self._partition_state.pop(NOT_BEFORE_STATE_KEY, None)
        return self._not_before is not None and moment < self._not_before

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

    def _warn_if_account_brought_nothing(self, context: Context | None, after_id: int) -> None:
        """A `client_ids` account never synced whose whole scroll was empty: most likely a typo."""
        client_id = (context or {}).get("client_id")
        if client_id is None or self._paginator.last_id != after_id:
            return
        if self.get_starting_replication_key_value(context) is None:
            self.logger.warning(
                "%s: client_ids account %s brought no logs; check the id, and that the token can see that account",
                self.name,
                client_id,
            )

    def _warn_if_logs_may_be_purged(self, context: Context | None) -> None:
        if self.retention_days is None:
            return
        last = self._partition_state.get(CREATED_AT_STATE_KEY)
        created = parse_time(last)
        if created is None:
            return
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
