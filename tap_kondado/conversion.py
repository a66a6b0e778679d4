"""Values made the type their schema declares, value for value.

Kondado sends several numbers as JSON strings ("0.486988", "256"); they become JSON
numbers through `Decimal`, so a value comes out digit for digit as it went in. A field
that changes type is brought back where that loses nothing (a name sent as the number
2024 becomes "2024", "true" becomes true). What cannot be represented faithfully ("NaN",
"abc", "1.5" or 2^64 for a row count, an object for a name) is INVALID: the caller emits
null and warns.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

INVALID = object()  # sentinel: the value could not be converted

# Counts and durations this big are no counts or durations; bounding the exponent also
# keeps int() fast and the result under Python's 4,300-digit limit for printing an int.
MAX_EXPONENT = 1000
# An integer field's range: a bigint column's, the widest integer column every target has.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_BOOLEANS = {"true": True, "false": False}
_DIGITS = re.compile(r"[0-9]+")  # str.isdigit() also takes "²" and "١٢", which int() refuses or reads


def to_integer(value: Any) -> Any:
    """An integer field: a signed 64-bit int, or a string holding one ("256", " 1e3 ").

    A larger one is INVALID: no target's integer column holds it (target-postgres fails the
    batch, target-duckdb makes a HUGEINT column staging cannot cast).
    """
    if value is None:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value if INT64_MIN <= value <= INT64_MAX else INVALID
    number = _decimal(value)
    if number is INVALID or number is None:
        return number
    if number != number.to_integral_value() or not INT64_MIN <= number <= INT64_MAX:
        return INVALID
    return int(number)


def to_id(value: Any) -> int | None:
    """A log id (or cursor): a non-negative integer, or a string of ASCII digits; None otherwise."""
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def to_number(value: Any) -> Any:
    """A number field: int/Decimal kept, a numeric string made an exact Decimal."""
    if value is None or (isinstance(value, (int, Decimal)) and not isinstance(value, bool)):
        return value
    return _decimal(value)


def to_string(value: Any) -> Any:
    """A string field: a string, or a number sent in its place (as its JSON text)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    return INVALID


def to_boolean(value: Any) -> Any:
    """A boolean field: true/false, or the strings "true"/"false" (any case)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        return None if not text else _BOOLEANS.get(text, INVALID)
    return INVALID


def to_timestamp(value: Any) -> Any:
    """A date-time field: the string as sent (any ISO-8601 form), "" as null."""
    if value is None or (isinstance(value, str) and value.strip()):
        return value
    return None if value == "" else INVALID


def _decimal(value: Any) -> Any:
    if isinstance(value, float):  # a bare NaN/Infinity literal, which Python's JSON reads
        number = Decimal(value) if math.isfinite(value) else INVALID
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None  # "" says "no value", the same as null
        try:
            number = Decimal(text)
        except InvalidOperation:
            return INVALID
        if not text.isascii() or "_" in text:  # Decimal() also reads "1_000" and "١٢"
            return INVALID
    else:
        return INVALID
    if number is INVALID or not number.is_finite() or (number and number.adjusted() > MAX_EXPONENT):
        return INVALID
    return number
