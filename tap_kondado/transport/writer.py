"""Singer messages to stdout: msgspec-serialized, written out a STATE at a time."""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import re
import select
import stat
import sys
import threading
from typing import TYPE_CHECKING, Any

from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.singerlib import RecordMessage, SchemaMessage, StateMessage
from typing_extensions import override

from tap_kondado.errors import OutputClosedError

if TYPE_CHECKING:
    from collections.abc import Callable

    from singer_sdk.singerlib.encoding.simple import Message

_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(value: Any, on_repair: Callable[[str], None], path: str = "") -> Any:
    """`value` with every lone surrogate in its strings (keys too) replaced; `on_repair(field path)` each time."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            on_repair(path)
            return _SURROGATE.sub("\ufffd", value)
        return value
    if isinstance(value, dict):
        return {
            without_surrogates(k, on_repair, path): without_surrogates(v, on_repair, f"{path}.{k}" if path else k)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [without_surrogates(v, on_repair, path) for v in value]
    return value


def watch_reader(on_gone: Callable[[], None]) -> None:
    """Call `on_gone` (from a daemon thread) once stdout's reader closes its end of the pipe.

    A write would only find out at the next STATE, which may be a minute-long rate-limit
    wait away. Pipes only: a file or terminal has no reader to lose.
    """
    try:
        fd = sys.stdout.fileno()
        is_pipe = stat.S_ISFIFO(os.fstat(fd).st_mode)
    except (AttributeError, OSError, ValueError):  # not a real file (tests, embedding)
        return
    if not is_pipe or not hasattr(select, "poll"):
        return

    def watch() -> None:
        poller = select.poll()
        poller.register(fd, select.POLLERR | select.POLLHUP)  # the writing end: POLLERR once no reader is left
        while not poller.poll():
            pass
        on_gone()

    threading.Thread(target=watch, name="tap-kondado-reader-watch", daemon=True).start()


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
        self.flushing = False
        #: Run once the flush under way ends (a signal that must not cut a line in two).
        self.after_flush: Callable[[], None] | None = None
        self.closed = False
        #: Set by the reader watch: the handler then ends the run as a closed output, not a cancel.
        self.reader_gone = False
        self._warned: set[tuple[str, str]] = set()
        #: Each stream's key field, from its SCHEMA: what names a record in a warning.
        self._key_field: dict[str, str] = {}
        atexit.register(self._flush_at_exit)

    @override
    def write_message(self, message: Message) -> None:
        """Buffer the message; write the buffer with the STATE that vouches for it."""
        if isinstance(message, StateMessage):
            # the SDK's to_dict() deep-copies the whole state first (dataclasses.asdict)
            state = {"type": "STATE", "value": message.value}
            try:
                self._pending += serialize_jsonl(state)
            except UnicodeEncodeError:  # a record's broken createdAt, copied into the state
                self._pending += serialize_jsonl(without_surrogates(state, lambda _path: None))
            self.flush()
            return
        if isinstance(message, SchemaMessage) and message.key_properties:
            self._key_field[message.stream] = message.key_properties[0]
        try:
            self._pending += self.format_message(message)
        except UnicodeEncodeError:  # rare: checked only when serializing fails
            if not isinstance(message, RecordMessage):  # only records carry the API's text
                raise
            self._pending += self.format_message(self._repaired(message))
        if len(self._pending) >= self.FLUSH_BYTES:
            self.flush()

    def _repaired(self, message: RecordMessage) -> RecordMessage:
        """The message with each lone UTF-16 surrogate made U+FFFD, warning once per stream and field.

        A JavaScript backend cutting an emoji in half sends half a surrogate pair alone; UTF-8 cannot
        encode it, and a record that cannot be written would stop the stream for good.
        """
        stream = message.stream
        key = self._key_field.get(stream, "id")  # a status record has no `id`: its key is the pipeline's or model's

        def warn(path: str) -> None:
            if (stream, path) not in self._warned:
                self._warned.add((stream, path))
                logging.getLogger(f"tap-kondado.{stream}").warning(
                    "%s: %s %s has a broken character (a lone UTF-16 surrogate) in %s; "
                    "emitted with U+FFFD in its place",
                    stream,
                    key,
                    message.record.get(key),
                    path,
                )

        return dataclasses.replace(message, record=without_surrogates(message.record, warn))

    def flush(self) -> None:
        """Write out everything buffered; raise OutputClosedError once the reader is gone."""
        if self.closed:
            self._pending.clear()
            raise OutputClosedError
        self.flushing = True
        try:
            out, written = sys.stdout.buffer, 0
            with memoryview(self._pending) as pending:
                while written < len(pending):  # an unbuffered stdout may take part of it
                    written += out.write(pending[written:])
            self._pending.clear()
            sys.stdout.flush()
        except BrokenPipeError:
            self.close()
            raise OutputClosedError from None
        finally:
            self.flushing = False
        if self.after_flush is not None:
            callback, self.after_flush = self.after_flush, None
            callback()

    def close(self) -> None:
        """The target stopped reading: drop what is left, and stop Python's own flush at exit failing too."""
        if self.closed:
            return
        self.closed = True
        self._pending.clear()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)

    def _flush_at_exit(self) -> None:
        if self.closed:
            return
        try:
            self.flush()
        except OutputClosedError as exc:  # the run's outcome is decided: say why the tail was lost
            sys.stderr.write(f"{exc}\n")
