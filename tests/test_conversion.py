"""conversion: numbers sent as strings become numbers, value for value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tap_kondado.conversion import INVALID, to_id, to_integer, to_number
from tap_kondado.times import parse_time


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("256", 256),
        (" 256 ", 256),
        ("1e3", 1000),
        (4915, 4915),
        (None, None),
        ("", None),
        (2**63 - 1, 2**63 - 1),
        (-(2**63), -(2**63)),
        ("9223372036854775807", 2**63 - 1),
        ("-9.223372036854775808e18", -(2**63)),
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
    "value",
    [2**64, 2**63, -(2**63) - 1, "18446744073709551616", "-9223372036854775809", "1e19", Decimal(2**63)],
)
def test_to_integer_refuses_what_no_64_bit_column_holds(value):
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


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5185000, 5185000),
        ("5185000", 5185000),
        (" 42 ", 42),
        (0, 0),
        (-1, None),
        (True, None),
        ("²", None),
        ("١٢", None),
        ("1e3", None),
        (1.0, None),
        (Decimal(3), None),
        (None, None),
    ],
)
def test_to_id_takes_integers_and_ascii_digit_strings_only(value, expected):
    assert to_id(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020-09-17T00:03:48.108Z", "2020-09-17T00:03:48.108000+00:00"),
        ("2020-09-17T00:03:48", "2020-09-17T00:03:48+00:00"),  # naive: UTC
        ("2020-09-17T02:03:48+02:00", "2020-09-17T02:03:48+02:00"),
    ],
)
def test_parse_time_reads_the_apis_forms_as_aware_times(value, expected):
    assert parse_time(value).isoformat() == expected


@pytest.mark.parametrize("value", ["", "yesterday", None, 1600000000])
def test_parse_time_is_none_for_anything_else(value):
    assert parse_time(value) is None
