"""One line for a message from a driver's error: shared by the report and the trigger's stores.

Apart from errors.py, which imports the SDK: the report's command starts in a tenth of the time without it.
"""

from __future__ import annotations


def first_line(error: BaseException, secret: str = "") -> str:
    """A driver's error as one line for a message (its name when it says nothing), `secret` masked in it."""
    text = str(error).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    return line.replace(secret, "***") if secret else line
