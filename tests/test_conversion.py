"""conversion: numbers sent as strings become numbers, value for value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tap_kondado.conversion import INVALID, to_integer, to_number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("256", 256),
        (" 256 ", 256),
        ("1e3", 1000),
        (4915, 4915),
        (None, None),
        ("", None),
        ("123456789012345678901234567890", 123456789012345678901234567890),
    ],
)
def test_to_integer(value, expected):
    result = to_integer(value)
    assert result == expected
    assert result is None or type(result) is int


@pytest.mark.parametrize("value", ["1.5", "NaN", "abc", "inf", True, [1]])
def test_to_integer_refuses_what_is_no_integer(value):
    assert to_integer(value) is INVALID


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.486988", Decimal("0.486988")),
        ("0.00231", Decimal("0.00231")),
        (" 2.5 ", Decimal("2.5")),
        ("1E-7", Decimal("1E-7")),
        (Decimal("0.201923"), Decimal("0.201923")),
        (3, 3),
        (None, None),
        ("", None),
    ],
)
def test_to_number_is_exact(value, expected):
    result = to_number(value)
    assert result == expected
    assert str(result) == str(expected)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf", "1,5", False])
def test_to_number_refuses_what_json_cannot_carry(value):
    assert to_number(value) is INVALID
