"""The status streams: one request per remembered id, one record per answer.

A Kondado log is written when a run finishes, so a pipeline that fails, is blocked or was
switched off goes quiet in the log streams. `GET /pipelines/{id}/status` and
`GET /models/{id}/status` say which. `StatusStream` asks about every id the logs named in
the last `status_days` (status_memory.py), through the shared base (client.py: the same
pacing, budget, retries, deadline and redaction as the logs); the answer is read in
envelope.py (`parse_status`, both shapes) and the record shaped by `KondadoStream.shape`.

Not selected by default: a run that does not select them makes no request for them; under
Meltano, whose default `select` (`*.*`) would pick them anyway, only a `select` pattern naming
them runs them.
An id answered with an error of its own (NOT_FOUND: deleted, no access; an HTTP 404; an answer
of another shape) is one warning and the stream goes on. A refused key/token or retries used up
stop the status stream alone: the other streams still run, and the tap exits 1 at the end.
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from typing_extensions import override

from tap_kondado.client import KondadoStream
from tap_kondado.errors import KondadoAPIError
from tap_kondado.logs.progress import StreamStats
from tap_kondado.status.memory import DEFAULT_STATUS_DAYS, IdMemory
from tap_kondado.times import sortable_time
from tap_kondado.transport.envelope import parse_status

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    import requests
    from singer_sdk.helpers.types import Context

# Error codes that refuse the key or token itself: the run ends, as on the log endpoints.
AUTH_ERROR_CODES = frozenset({"INVALID_TOKEN", "INVALID_KEY", "INVALID_CREDENTIALS", "UNAUTHORIZED"})
# Meltano passes the extractor's `select` patterns to it in this variable. Its default, `*.*`,
# selects every stream in the catalog whatever the tap's selected-by-default says.
MELTANO_SELECT_VARIABLE = "MELTANO_EXTRACT__SELECT"


def meltano_select_names(stream: str, environ: Mapping[str, str] = os.environ) -> bool | None:
    """Whether Meltano's `select` names `stream` itself (no wildcard in the stream part); None outside Meltano."""
    text = environ.get(MELTANO_SELECT_VARIABLE)
    if text is None:
        return None
    try:
        patterns = json.loads(text)
    except ValueError:
        return None
    if not isinstance(patterns, list):
        return None
    for pattern in patterns:
        if isinstance(pattern, str) and not pattern.startswith("!"):
            stream_part = pattern.split(".", 1)[0]
            if stream_part == stream:
                return True
    return False


@dataclass
class StatusStats(StreamStats):
    """A status stream's run: ids asked about, statuses emitted, ids skipped on an error."""

    asked: int = 0
    skipped: int = 0

    def summary(self, stream: str) -> tuple[str, dict[str, Any]]:
        """The end-of-run line and its structured fields."""
        fields = {
            "stream": stream,
            "ids_asked": self.asked,
            "statuses": self.new,
            "ids_skipped": self.skipped,
            "requests": self.requests,
            "rate_limit_wait_seconds": round(self.waited_seconds, 1),
            "rate_limit_answers": self.rate_limited,
        }
        text = (
            f"{stream}: run summary: {self.new:,} statuses emitted of {self.asked:,} ids asked about "
            f"({self.skipped:,} skipped on an error), {self.requests:,} requests, "
            f"{self.waited_seconds:,.1f} s waited for rate limits, {self.rate_limited:,} rate-limit answers"
        )
        return text, fields


class StatusStream(KondadoStream):
    """A Kondado status endpoint, asked once per remembered id."""

    selected_by_default = False  # an existing user's runs make no extra request until they select it
    replication_key = None
    #: The log stream whose logs name the ids, and the id and name fields of those logs.
    log_stream: ClassVar[str]
    id_field: ClassVar[str]
    name_field: ClassVar[str]
    #: The answer's fields copied into the record, as sent.
    status_fields: ClassVar[tuple[str, ...]]
    #: The id being asked about (read_answer looks for it in the answer).
    _asking: int

    @override
    @property
    def selected(self) -> bool:
        """Selected in the catalog, and, under Meltano, named in `select` rather than caught by a wildcard.

        Meltano selects every stream (`*.*`) unless told otherwise: without this, an existing
        Meltano user's runs would start asking about every id after an upgrade.
        """
        chosen = super().selected
        if chosen and meltano_select_names(self.name) is False:
            if not self.__dict__.get("_said_why_not"):
                self._said_why_not = True
                self.logger.info(
                    "%s: not run: Meltano's select (%s) names it by no pattern of its own; "
                    "add '%s.*' to the extractor's select to run it",
                    self.name,
                    os.environ.get(MELTANO_SELECT_VARIABLE),
                    self.name,
                )
            return False
        return chosen

    @selected.setter
    def selected(self, value: bool | None) -> None:
        KondadoStream.selected.fset(self, value)  # type: ignore[attr-defined]

    @property
    def record_key(self) -> str:  # type: ignore[override]
        """The id field names a record in warnings."""
        return self.id_field

    @override
    @property
    def emit_activate_version_messages(self) -> bool:
        """Never: ACTIVATE_VERSION would make a target delete the earlier statuses, the history kept."""
        return False

    @cached_property
    def stats(self) -> StatusStats:
        """Counts of this run for the stream (the summary's figures)."""
        return StatusStats()

    @cached_property
    def memory(self) -> IdMemory:
        """The remembered ids, in this stream's state (the log streams add to it as they emit logs)."""
        days = float(self.config.get("status_days", DEFAULT_STATUS_DAYS))
        return IdMemory(lambda: self.get_context_state(None), self.id_field, self.name_field, days)

    @override
    def sync(self, context: Context | None = None) -> None:
        """The SDK's, but an error that stops this stream stops no other (the tap exits 1 at the end)."""
        try:
            super().sync(context)
        except KondadoAPIError as exc:
            self.stopped_by = exc
            reason = str(exc).removeprefix(f"{self.name}: ")
            self.logger.warning("%s: stopped: %s; the other streams go on", self.name, reason)

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        """No parameters but the key and token (added by the authenticator)."""
        return {}

    def read_answer(self, response: requests.Response) -> dict[str, Any]:
        """The status of the id asked about (envelope.parse_status)."""
        return parse_status(response, self._asking)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """One request per remembered id, in id order; an id answered with an error is skipped."""
        self.memory.prune()
        chosen = self.memory.current()
        if not chosen:
            kind = self.id_field.removesuffix("_id")
            self.logger.info("%s: no %s ids to ask about: %s", self.name, kind, self._why_none())
            return
        self.logger.info(
            "%s: asking about %d ids whose newest log is at most %g days old (status_days)",
            self.name,
            len(chosen),
            self.memory.days,
        )
        with self.get_http_request_counter() as counter:
            counter.with_context(context)
            for object_id, remembered in chosen:
                self.stats.asked += 1
                counter.increment()
                try:
                    status = self._ask(object_id, context)
                except KondadoAPIError as exc:
                    if exc.code is None or exc.code in AUTH_ERROR_CODES:
                        raise
                    self.stats.skipped += 1
                    said = str(exc) if exc.code in str(exc) else f"{exc.code}: {exc}"
                    self.logger.warning("%s: %s %d skipped: %s", self.name, self.id_field, object_id, said)
                    continue
                self.stats.new += 1
                yield self._record(object_id, remembered, status)
        # The statuses change no state, so no STATE follows them to push them out of the
        # writer's buffer: send them now, not only when the process exits.
        if flush := getattr(self._tap.message_writer, "flush", None):
            flush()

    def _ask(self, object_id: int, context: Context | None) -> dict[str, Any]:
        """One status request, through the same pacing, retries and checks as the logs: its status."""
        # validate_response gets the response alone, inside the retried request: it reads the id asked here.
        self._asking = object_id
        response = self.send({**(context or {}), self.id_field: object_id})  # the path's {pipeline_id} / {model_id}
        return parse_status(response, object_id)  # read once already, by validate_response: kept on the response

    def _record(self, object_id: int, remembered: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        """The answer as a record: the id, its account and name from its newest log, the status fields."""
        row = {
            self.id_field: object_id,
            "client_id": remembered.get("client_id"),
            self.name_field: remembered.get("name"),
            **{name: status.get(name) for name in self.status_fields},
            "observed_at": sortable_time(datetime.datetime.now(datetime.timezone.utc)),
        }
        return self.shape(row)

    def _why_none(self) -> str:
        remembered = self.memory.count()
        if remembered:
            return f"none of the {remembered} remembered ids had a log in the last {self.memory.days:g} days"
        log_stream = self._tap.streams.get(self.log_stream)
        if log_stream is not None and log_stream.selected:
            days = self.memory.days
            return f"neither this run's {self.log_stream} nor the state named one with a log in the last {days:g} days"
        return f"the state remembers no id; select {self.log_stream} (or run it once) so the tap learns them"
