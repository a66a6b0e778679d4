"""TapKondado: settings and the stream list."""

from __future__ import annotations

import sys
from functools import cached_property
from typing import Any

import click
from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError

from tap_kondado import redaction
from tap_kondado.errors import KondadoAPIError
from tap_kondado.rate_limit import PacedSession, SlidingWindowLimiter
from tap_kondado.settings import CONFIG_SCHEMA, config_errors, unknown_settings
from tap_kondado.streams import ModelLogsStream, PipelineLogsStream
from tap_kondado.writer import BufferedMsgSpecWriter


class TapKondado(Tap):
    """Singer tap for the Kondado logs API."""

    name = "tap-kondado"
    config_jsonschema = CONFIG_SCHEMA
    # msgspec serializes several times faster than the SDK's default simplejson writer.
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

    def sync_all(self) -> None:
        """The SDK's, plus the run summary of each stream when a stream fails (the SDK logs it only on success)."""
        try:
            super().sync_all()
        except Exception:
            for stream in self.streams.values():
                stream.log_summary()
            raise

    def discover_streams(self) -> list[PipelineLogsStream | ModelLogsStream]:
        """The two log streams."""
        return [PipelineLogsStream(self), ModelLogsStream(self)]

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
