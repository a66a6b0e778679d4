"""TapKondado: settings and the stream list."""

from __future__ import annotations

import atexit
import functools
import io
import json
import os
import signal
import sys
import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import click
from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers._classproperty import classproperty
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities
from singer_sdk.tap_base import CliTestOptionValue
from typing_extensions import override

from tap_kondado.client import DEFAULT_API_URL, KondadoStream
from tap_kondado.errors import KondadoAPIError, OutputClosedError
from tap_kondado.logs.state import StateError, check_state, read_state
from tap_kondado.settings import (
    BATCH_REFUSED,
    CONFIG_SCHEMA,
    config_errors,
    env_config,
    likely_typos,
    unknown_settings,
)
from tap_kondado.streams import ModelLogsStream, ModelStatusStream, PipelineLogsStream, PipelineStatusStream
from tap_kondado.transport import redaction
from tap_kondado.transport.rate_budget import SharedRateBudget, StoreError, budget_path
from tap_kondado.transport.rate_limit import PacedSession, SlidingWindowLimiter
from tap_kondado.transport.writer import BufferedMsgSpecWriter, watch_reader

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import FrameType

    from singer_sdk.streams import Stream

#: Seconds a cancel waits for a write to a target that stopped reading before exiting without it.
STUCK_OUTPUT_SECONDS = 5.0
#: Set once the process exits (atexit): its code is decided, a signal then changes nothing.
_exiting = threading.Event()


class TapKondado(Tap):
    """Singer tap for the Kondado API: pipeline_logs, model_logs; pipeline_status, model_status (opt-in)."""

    name = "tap-kondado"
    config_jsonschema = CONFIG_SCHEMA
    # msgspec serializes several times faster than the SDK's default simplejson writer.
    message_writer_class = BufferedMsgSpecWriter
    # No BATCH: the SDK emits a batch's STATE before the BATCH message announcing its file,
    # so a run stopped in between vouches for records no target ever saw; at Kondado's
    # ~1,000 logs a minute, batching would buy no speed anyway.
    capabilities: ClassVar[list[CapabilitiesEnum]] = [c for c in Tap.capabilities if c != PluginCapabilities.BATCH]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Set up the tap, then mask the credentials in everything it logs."""
        super().__init__(*args, **kwargs)
        self.redact = redaction.install([str(self.config.get(k) or "") for k in ("key", "token")])
        if threading.current_thread() is threading.main_thread():
            watch_reader(self._on_reader_gone)

    def _on_reader_gone(self) -> None:
        """From the reader watch: interrupt the main thread (a wait, a request) the way a signal does."""
        writer = self.message_writer
        if not getattr(writer, "closed", True):
            writer.reader_gone = True
            signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)

    @override
    @classproperty
    def _env_var_config(cls) -> dict[str, Any]:
        """Settings from the environment, read as their types (see settings.env_config).

        Overrides the SDK's private reader: it passes numbers as strings ("must be number")
        and reads a list of integers only as JSON ("1,2" ended in a traceback).
        """
        schema = cls.config_jsonschema
        cls.append_builtin_config(schema)
        return env_config(schema, cls._env_var_prefix)

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Validate with messages that name the setting, never its value (it may be the token)."""
        schema = self.config_jsonschema
        self.append_builtin_config(schema)
        errors = config_errors(self._config, schema)
        if "batch_config" in self._config:
            errors.append(BATCH_REFUSED)
        typos = likely_typos(self._config, schema, os.environ, self._env_var_prefix)
        if not self._config.get("allow_unknown_settings"):
            errors.extend(f"{line} (set allow_unknown_settings to run anyway)" for line in typos)
        else:
            for line in typos:
                self.logger.warning("%s (allow_unknown_settings: running anyway)", line)
        if errors and raise_errors:
            raise ConfigValidationError(errors[0], errors=errors, schema=schema)
        if unknown := unknown_settings(self._config, schema):
            self.logger.warning("Ignoring unknown setting(s): %s", ", ".join(unknown))
        return errors

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT: the last STATE, then exit 128 + the signal, as a shell reports it.

        Overrides the SDK's, which exits 0: a scheduler would record the cancelled run as a
        success. Raised from here, SystemExit unwinds a rate-limit wait or a request at once.
        """
        # The answer deadline's timer must not fire inside this handler: its timeout would
        # replace the exit, and the request be retried as if the run had not been cancelled.
        signal.setitimer(signal.ITIMER_REAL, 0)
        writer = self.message_writer
        # A target alive but not reading (a full pipe) must not make the cancel wait for ever.
        _exit_if_still_running(STUCK_OUTPUT_SECONDS, 128 + signum, self.logger)
        if _exiting.is_set():  # already ending (atexit): raising here would print "Exception ignored"
            return
        if getattr(writer, "flushing", False):  # let the line being written end first
            # not the frame: it would keep the buffer being written exported, unresizable
            writer.after_flush = functools.partial(self._handle_termination, signum, None)
            return
        if getattr(writer, "reader_gone", False):  # sent by _on_reader_gone, not by a scheduler
            writer.close()
            self.logger.error("%s", OutputClosedError())
            _cancel_exit_timer()
            raise SystemExit(1)
        self.logger.warning(
            "Cancelled by %s: stopping; the last STATE lets the next run resume", signal.Signals(signum).name
        )
        try:
            self._state_writer.write_state(self.state)
            writer.flush()
        except OutputClosedError:
            pass  # no target to resume for
        _cancel_exit_timer()  # the output is written: the exit itself cannot block on it
        raise SystemExit(128 + signum)

    @cached_property
    def paced_session(self) -> PacedSession:
        """One HTTP session and rate limiter for the whole tap: Kondado limits per key.

        The limiter is the budget every process on the machine shares for this host and
        key, unless `shared_rate_budget` is off or `rate_limits` is empty (no pacing).
        """
        limiter = SlidingWindowLimiter.from_config(self.config.get("rate_limits"))
        if self.config.get("shared_rate_budget", True) and limiter.windows:
            api_url = str(self.config.get("api_url") or DEFAULT_API_URL)
            try:
                path = budget_path(api_url, self.config["key"])
            except StoreError as exc:
                self.logger.warning("Shared rate budget unavailable (%s); this run paces its own requests only", exc)
                return PacedSession(limiter)
            answer_timeout = float(self.config.get("request_timeout", 60))
            return PacedSession(SharedRateBudget(limiter.windows, path, answer_timeout=answer_timeout))
        return PacedSession(limiter)

    @override
    def sync_all(self) -> None:
        """The SDK's, plus the run summary of each stream when a stream fails (the SDK logs it only on success).

        A stream that stopped while the others went on (a status stream) fails the run once they are done.
        """
        try:
            super().sync_all()
        except Exception:
            for stream in self.streams.values():
                stream.log_summary()
            raise
        self._fail_if_a_stream_stopped()

    @override
    def run_sync_dry_run(self, dry_run_record_limit: int | None = 1, streams: Iterable[Stream] | None = None) -> bool:
        """The SDK's (`--test`), failing as a run does when a stream stopped while the others went on."""
        passed = super().run_sync_dry_run(dry_run_record_limit, streams)
        self._fail_if_a_stream_stopped()
        return passed

    def _fail_if_a_stream_stopped(self) -> None:
        if stopped := [s for s in self.streams.values() if s.stopped_by is not None]:
            reasons = "; ".join(f"{s.name}: {str(s.stopped_by).removeprefix(s.name + ': ')}" for s in stopped)
            msg = f"{len(stopped)} stream(s) stopped early, the others ran to their end: {reasons}"
            raise KondadoAPIError(msg)

    @override
    def discover_streams(self) -> list[KondadoStream]:
        """The log streams and the status streams (not selected by default), which ask about ids the logs named.

        The SDK syncs streams in name order, not this one: model_logs, model_status, pipeline_logs,
        pipeline_status, so each log stream still runs before the status stream it fills the id memory of.
        """
        return [PipelineLogsStream(self), ModelLogsStream(self), PipelineStatusStream(self), ModelStatusStream(self)]

    @override
    @classmethod
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> Any:
        """Read `--config` files; one that is missing or not JSON ends the run in one line."""
        try:
            return super().cb_config(ctx, param, value)
        except (OSError, ValueError, TypeError) as exc:  # not found, not JSON, not an object
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            reason = "it holds no JSON object" if isinstance(exc, TypeError) else first_line
            cls.logger.error(  # noqa: TRY400
                "Invalid configuration: cannot read --config %s: %s", ", ".join(value), reason
            )
            ctx.exit(1)

    @override
    @classmethod
    def invoke(cls, **kwargs: Any) -> None:
        """Run the tap; a config mistake or API error ends it with one line, not a traceback."""
        try:
            if (state_file := kwargs.get("state")) is not None:  # the SDK's reading dies with a traceback
                state = read_state(state_file.read(), state_file.name)
                if warning := check_state(state, state_file.name):
                    cls.logger.warning("%s", warning)
                kwargs["state"] = io.StringIO(json.dumps(state))
            super().invoke(**kwargs)
        except ONE_LINE_ERRORS as exc:
            cls.logger.error("%s", _error_line(exc))  # noqa: TRY400
            sys.exit(1)
        finally:  # registered last, run first at exit: a signal during atexit's flush changes nothing
            atexit.register(_exiting.set)

    @override
    @classmethod
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """The SDK's `--test`, ending in one line: a pass says so, a failure names the error (exit 1)."""
        try:
            super().cb_test(ctx, param, value)
        except click.exceptions.Exit:
            if value == CliTestOptionValue.All.value:
                cls.logger.info("Connection test passed: every stream answered with a record or had nothing to read")
            raise
        except ONE_LINE_ERRORS as exc:
            cls.logger.error("Connection test failed: %s", _error_line(exc))  # noqa: TRY400
            ctx.exit(1)


ONE_LINE_ERRORS = (ConfigValidationError, KondadoAPIError, OutputClosedError, StateError)
_stuck_timer: threading.Timer | None = None


def _exit_if_still_running(seconds: float, code: int, logger: Any) -> None:
    """Once: in `seconds`, if the process still runs (a write to a full pipe), exit with `code` at once.

    os._exit: a normal exit would run atexit's flush and block on the same pipe.
    """
    global _stuck_timer  # noqa: PLW0603 - one timer per process
    if _stuck_timer is not None:
        return

    def force() -> None:
        logger.error("Cancelled, but the target stopped reading: exiting without writing the rest (no STATE)")
        os._exit(code)

    _stuck_timer = threading.Timer(seconds, force)
    _stuck_timer.daemon = True
    _stuck_timer.start()


def _cancel_exit_timer() -> None:
    global _stuck_timer  # noqa: PLW0603 - one timer per process
    if _stuck_timer is not None:
        _stuck_timer.cancel()
        _stuck_timer = None


def _error_line(exc: BaseException) -> str:
    if isinstance(exc, ConfigValidationError):
        return f"Invalid configuration: {'; '.join(exc.errors)}"
    return str(exc)


if __name__ == "__main__":
    TapKondado.cli()
