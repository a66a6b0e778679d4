"""Singer messages to stdout: msgspec-serialized, written out a STATE at a time."""

from __future__ import annotations

import atexit
import sys
from typing import TYPE_CHECKING

from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.singerlib import StateMessage

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
