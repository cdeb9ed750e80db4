"""Amounts: Decimal USD with two places, read by one function for the form, the API and the CLI."""

from decimal import Decimal

import pytest

from fleetadmin.billing.money import AmountError, format_usd, parse_amount

ACCEPTED = [
    ("12.5", "12.50"),
    ("12.50", "12.50"),
    ("12", "12.00"),
    ("12.", "12.00"),
    (" 1250.00 ", "1250.00"),
    ("1,250.50", "1250.50"),
    ("$1,250.50", "1250.50"),
    ("$ 99.99", "99.99"),
    ("0.01", "0.01"),
    ("1000000.00", "1000000.00"),
    ("1,000,000", "1000000.00"),
    (Decimal("3.10"), "3.10"),
    (Decimal("3.100"), "3.10"),
    (Decimal("1E+2"), "100.00"),
    (7, "7.00"),
]

REFUSED = [
    ("NaN", "subtotal: 'NaN' is not an amount; use digits with at most two decimals, like 1250.00"),
    ("Infinity", "subtotal: 'Infinity' is not an amount; use digits with at most two decimals, like 1250.00"),
    ("-Infinity", "subtotal: '-Infinity' is negative; enter an amount in US dollars, like 1250.00"),
    ("1e3", "subtotal: '1e3' is not an amount; use digits with at most two decimals, like 1250.00"),
    ("1E+2", "subtotal: '1E+2' is not an amount; use digits with at most two decimals, like 1250.00"),
    ("12,50", "subtotal: '12,50' is not an amount; use digits with at most two decimals, like 1250.00"),
    ("ten", "subtotal: 'ten' is not an amount; use digits with at most two decimals, like 1250.00"),
    ("0x10", "subtotal: '0x10' is not an amount; use digits with at most two decimals, like 1250.00"),
    ("1.005", "subtotal: '1.005' has more than two decimal places; round it to cents, like 1250.00"),
    ("-5", "subtotal: '-5' is negative; enter an amount in US dollars, like 1250.00"),
    ("0", "subtotal: must be more than 0.00"),
    ("0.00", "subtotal: must be more than 0.00"),
    ("", "subtotal: is empty; enter an amount in US dollars, like 1250.00"),
    ("1000000.01", "subtotal: '1000000.01' is more than the limit of $1,000,000.00"),
    ("99999999999999999999", "subtotal: '99999999999999999999' is more than the limit of $1,000,000.00"),
    (Decimal("NaN"), "subtotal: 'NaN' is not an amount; use a finite number with at most two decimals"),
    (Decimal("sNaN"), "subtotal: 'sNaN' is not an amount; use a finite number with at most two decimals"),
    (Decimal("Infinity"), "subtotal: 'Infinity' is not an amount; use a finite number with at most two decimals"),
    (Decimal("1.005"), "subtotal: '1.005' has more than two decimal places; round it to cents, like 1250.00"),
    (Decimal("1E+1000000"), "subtotal: '1E+1000000' is more than the limit of $1,000,000.00"),
    (Decimal("-0.01"), "subtotal: '-0.01' is negative; enter an amount in US dollars, like 1250.00"),
    (12.5, "subtotal: give the amount as a string or a Decimal, like '1250.00', not a float"),
    (True, "subtotal: give the amount as a string or a Decimal, like '1250.00', not a bool"),
    (None, "subtotal: give the amount as a string like '1250.00', not a NoneType"),
]


@pytest.mark.parametrize(("value", "expected"), ACCEPTED, ids=[repr(v) for v, _ in ACCEPTED])
def test_accepts(value, expected):
    amount = parse_amount(value, field="subtotal")
    assert isinstance(amount, Decimal)
    assert amount == Decimal(expected)
    assert str(amount) == expected  # always exactly two places


@pytest.mark.parametrize(("value", "message"), REFUSED, ids=[repr(v)[:30] for v, _ in REFUSED])
def test_refuses(value, message):
    with pytest.raises(AmountError) as caught:
        parse_amount(value, field="subtotal")
    assert str(caught.value) == message
    assert caught.value.field == "subtotal"


def test_zero_is_allowed_where_asked_for_tax():
    assert parse_amount("0", field="tax", allow_zero=True) == Decimal("0.00")
    with pytest.raises(AmountError, match="tax: '-1' is negative"):
        parse_amount("-1", field="tax", allow_zero=True)


def test_format_usd():
    assert format_usd(Decimal("1250.5")) == "$1,250.50"
    assert format_usd(Decimal("0")) == "$0.00"
    assert format_usd(Decimal("1000000.00")) == "$1,000,000.00"
