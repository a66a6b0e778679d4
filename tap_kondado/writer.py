"""Singer messages to stdout: msgspec-serialized, written out a STATE at a time."""

from __future__ import annotations

import atexit
import os
import sys
from typing import TYPE_CHECKING

from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.singerlib import StateMessage

from tap_kondado.errors import OutputClosedError

if TYPE_CHECKING:
    from collections.abc import Callable

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
        self.flushing = False
        #: Run once the flush under way ends (a signal that must not cut a line in two).
        self.after_flush: Callable[[], None] | None = None
        self.closed = False
        atexit.register(self._flush_at_exit)

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
            self._close()
            raise OutputClosedError from None
        finally:
            self.flushing = False
        if self.after_flush is not None:
            callback, self.after_flush = self.after_flush, None
            callback()

    def _close(self) -> None:
        """The target stopped reading: drop what is left, and stop Python's own flush at exit failing too."""
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
