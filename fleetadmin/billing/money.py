"""Amounts of money: US dollars as Decimal with two places. Never floats.

:func:`parse_amount` is the one reader of an amount typed by a person or sent by
a client, for the web form, the API and the CLI alike. It accepts ``1250``,
``1250.5``, ``1,250.50`` and ``$1,250.50``; it refuses floats, NaN, infinities,
exponents, negative amounts, more than two decimal places and anything above
:data:`MAX_AMOUNT`.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

CURRENCY = "USD"
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("1000000.00")
AMOUNT_RE = re.compile(r"^\$?(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<cents>\d*))?$")
EXAMPLE = "1250.00"


class AmountError(ValueError):
    def __init__(self, field: str, problem: str):
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


def _shown(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


def _from_text(text: str, field: str) -> Decimal:
    cleaned = text.strip().replace(" ", "")
    match = AMOUNT_RE.match(cleaned)
    if match is None:
        if cleaned.startswith("-"):
            raise AmountError(field, f"{_shown(text)} is negative; enter an amount in US dollars, like {EXAMPLE}")
        raise AmountError(
            field, f"{_shown(text)} is not an amount; use digits with at most two decimals, like {EXAMPLE}"
        )
    cents = match["cents"] or ""
    if len(cents) > 2:
        raise AmountError(field, f"{_shown(text)} has more than two decimal places; round it to cents, like {EXAMPLE}")
    try:
        return Decimal(f"{match['whole'].replace(',', '')}.{cents or '0'}")
    except InvalidOperation:  # pragma: no cover -- the pattern admits only plain decimals
        raise AmountError(field, f"{_shown(text)} is not an amount") from None


def _from_decimal(value: Decimal, field: str) -> Decimal:
    if not value.is_finite():
        raise AmountError(
            field, f"{_shown(str(value))} is not an amount; use a finite number with at most two decimals"
        )
    if value.copy_abs() > MAX_AMOUNT:
        return value  # parse_amount refuses it with the limit in the message
    if value.normalize().as_tuple().exponent < -2:
        raise AmountError(
            field, f"{_shown(str(value))} has more than two decimal places; round it to cents, like {EXAMPLE}"
        )
    return value


def parse_amount(value: str | Decimal | int, *, field: str = "amount", allow_zero: bool = False) -> Decimal:
    """A non-negative USD amount with exactly two decimal places, or AmountError naming ``field``."""
    if isinstance(value, bool | float):
        raise AmountError(
            field, f"give the amount as a string or a Decimal, like '{EXAMPLE}', not a {type(value).__name__}"
        )
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = _from_decimal(value, field)
    elif isinstance(value, str):
        if not value.strip():
            raise AmountError(field, f"is empty; enter an amount in US dollars, like {EXAMPLE}")
        amount = _from_text(value, field)
    else:
        raise AmountError(field, f"give the amount as a string like '{EXAMPLE}', not a {type(value).__name__}")
    shown = _shown(value.strip() if isinstance(value, str) else str(value))
    if amount < 0:
        raise AmountError(field, f"{shown} is negative; enter an amount in US dollars, like {EXAMPLE}")
    if amount == 0 and not allow_zero:
        raise AmountError(field, "must be more than 0.00")
    if amount > MAX_AMOUNT:
        raise AmountError(field, f"{shown} is more than the limit of {format_usd(MAX_AMOUNT)}")
    return amount.quantize(CENT)


def format_usd(amount: Decimal) -> str:
    """``$1,250.00``; negative amounts (never stored) would read ``-$1.00``."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount).quantize(CENT):,}"
