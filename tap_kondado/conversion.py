"""Numbers that Kondado sends as JSON strings ("0.486988", "256"), made JSON numbers.

Conversion goes through `Decimal`, so a value comes out digit for digit as it went in.
A value that is no number at all ("NaN", "abc", "1.5" for a row count) cannot be
represented faithfully: it becomes null, and the caller warns.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

INVALID = object()  # sentinel: the value could not be converted


def to_integer(value: Any) -> Any:
    """An integer field: int, or a string holding an integral number ("256", " 1e3 ")."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    number = _decimal(value)
    if number is INVALID or number is None:
        return number
    if number != number.to_integral_value():
        return INVALID
    return int(number)


def to_number(value: Any) -> Any:
    """A number field: int/Decimal kept, a numeric string made an exact Decimal."""
    if value is None or (isinstance(value, (int, Decimal, float)) and not isinstance(value, bool)):
        return value
    return _decimal(value)


def _decimal(value: Any) -> Any:
    if isinstance(value, (Decimal, float)):
        number = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None  # "" says "no value", the same as null
        try:
            number = Decimal(text)
        except InvalidOperation:
            return INVALID
    else:
        return INVALID
    return number if number.is_finite() else INVALID
