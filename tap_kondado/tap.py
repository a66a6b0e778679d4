"""TapKondado: settings and the stream list."""

from __future__ import annotations

import atexit
import sys
from functools import cached_property
from typing import TYPE_CHECKING, Any

from singer_sdk import Tap
from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.singerlib import StateMessage

from tap_kondado import redaction
from tap_kondado.errors import KondadoAPIError
from tap_kondado.rate_limit import PacedSession, SlidingWindowLimiter
from tap_kondado.settings import CONFIG_SCHEMA, config_errors, unknown_settings
from tap_kondado.streams import ModelLogsStream, PipelineLogsStream

if TYPE_CHECKING:
    from singer_sdk.singerlib.encoding.simple import Message


class BufferedMsgSpecWriter(MsgSpecWriter):
    """msgspec's writer, writing stdout at each STATE message instead of after every message.

    One write system call per record costs more than serializing it, and wakes the target
    for each. A target only needs what precedes a STATE to have arrived when it reads that
    STATE. The buffer is ours, not stdout's: PYTHONUNBUFFERED (common in containers) would
    turn stdout's off. What follows the last STATE goes out at exit.
    """

    FLUSH_BYTES = 1 << 16  # also flush when this much waits: a pipe's capacity

    def __init__(self) -> None:
        """An empty buffer, written out at the latest when the process exits."""
        super().__init__()
        self._pending = bytearray()
        atexit.register(self.flush)

    def write_message(self, message: Message) -> None:
        """Buffer the message; write the buffer with the STATE that vouches for it."""
        if isinstance(message, StateMessage):
            # the SDK's to_dict() deep-copies the whole state first (dataclasses.asdict)
            self._pending += serialize_jsonl({"type": "STATE", "value": message.value})
            self.flush()
            return
        self._pending += self.format_message(message)
        if len(self._pending) >= self.FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write out everything buffered."""
        out, written = sys.stdout.buffer, 0
        with memoryview(self._pending) as pending:
            while written < len(pending):  # an unbuffered stdout may take part of it
                written += out.write(pending[written:])
        self._pending.clear()
        sys.stdout.flush()


class TapKondado(Tap):
    """Singer tap for the Kondado logs API."""

    name = "tap-kondado"
    config_jsonschema = CONFIG_SCHEMA
    # msgspec serializes several times faster than the default simplejson writer.
    message_writer_class = BufferedMsgSpecWriter

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Set up the tap, then mask the credentials in everything it logs."""
        super().__init__(*args, **kwargs)
        self.redact = redaction.install([str(self.config.get(k) or "") for k in ("key", "token")])

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Validate with messages that name the setting, never its value (it may be the token)."""
        schema = self.config_jsonschema
        self.append_builtin_config(schema)
        errors = config_errors(self._config, schema)
        if errors and raise_errors:
            raise ConfigValidationError(errors[0], errors=errors, schema=schema)
        if unknown := unknown_settings(self._config, schema):
            self.logger.warning("Ignoring unknown setting(s): %s", ", ".join(unknown))
        return errors

    @cached_property
    def paced_session(self) -> PacedSession:
        """One HTTP session and rate limiter for the whole tap: Kondado limits per key."""
        return PacedSession(SlidingWindowLimiter.from_config(self.config.get("rate_limits")))

    def discover_streams(self) -> list[PipelineLogsStream | ModelLogsStream]:
        """The two log streams."""
        return [PipelineLogsStream(self), ModelLogsStream(self)]

    @classmethod
    def invoke(cls, **kwargs: Any) -> None:
        """Run the tap; a config mistake or API error ends it with one line, not a traceback."""
        try:
            super().invoke(**kwargs)
        except ConfigValidationError as exc:
            cls.logger.error("Invalid configuration: %s", "; ".join(exc.errors))  # noqa: TRY400
            sys.exit(1)
        except KondadoAPIError as exc:
            cls.logger.error("%s", exc)  # noqa: TRY400
            sys.exit(1)


if __name__ == "__main__":
    TapKondado.cli()
