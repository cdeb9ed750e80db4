"""Billing addresses: THE parser of the one-line form, the field rules, and the formatter back to one line.

The platform documents ``line1, line2 (optional), city, state, zipcode``; its CLI
parser also wants a country. This module accepts both: 4 to 6 comma-separated
parts, with an optional trailing country. Which optional part a 5-part address
has is decided from its last part: a postal code there (it has a digit; country
names never do) means no country, so the second part is line 2; anything else
is the country.

The web form, the JSON API and the CLI all go through :func:`parse_address`
(one line) or :func:`build_address` (structured fields), so they accept and
refuse exactly the same addresses with exactly the same messages. Every message
names the part that was wrong and ends with the expected format.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from functools import cache

from fleetadmin.billing.countries import ALIASES, COUNTRIES

EXPECTED_FORMAT = "line1, line2 (optional), city, state, zipcode[, country]"
PARTS = ("line1", "line2", "city", "state", "zipcode", "country")
DEFAULT_COUNTRY = "US"
MIN_PARTS, MAX_PARTS = 4, 6

MAX_LENGTHS = {"line1": 100, "line2": 100, "city": 100, "state": 64, "zipcode": 12}

US_ZIP_RE = re.compile(r"^(\d{5})(?:-?(\d{4}))?$")
POSTAL_CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z -]*$")
STATE_AND_ZIP_RE = re.compile(r"^(?P<state>[^\d]+?)\s+(?P<zip>\d{5}(?:-\d{4})?)$")

# The 50 states, the District of Columbia, the territories and the armed-forces "states" of the USPS.
US_STATES: dict[str, str] = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
    "DC": "District of Columbia",
    "AS": "American Samoa",
    "GU": "Guam",
    "MP": "Northern Mariana Islands",
    "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands",
    "UM": "U.S. Minor Outlying Islands",
    "AA": "Armed Forces Americas",
    "AE": "Armed Forces Europe",
    "AP": "Armed Forces Pacific",
}
US_STATE_ALIASES = {"Washington DC": "DC", "Washington D.C.": "DC", "Virgin Islands": "VI"}


class AddressError(ValueError):
    """One wrong part of an address. ``str()`` is the whole message a user reads."""

    def __init__(self, part: str, problem: str):
        self.part = part
        self.problem = problem
        # The whole address is one field ("address"): only a part other than the whole is named.
        named = problem if part == "address" else f"{part}: {problem}"
        super().__init__(f"{named}. Expected format: {EXPECTED_FORMAT}")


class AddressErrors(ValueError):
    """Every wrong part of a structured address at once (a form shows them all)."""

    def __init__(self, errors: list[AddressError]):
        self.errors = errors
        super().__init__(" ".join(str(error) for error in errors))


@dataclass(frozen=True)
class Address:
    line1: str
    line2: str
    city: str
    state: str
    zipcode: str
    country: str = DEFAULT_COUNTRY  # ISO 3166-1 alpha-2

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @property
    def country_name(self) -> str:
        return country_name(self.country)

    @property
    def one_line(self) -> str:
        return format_address(self)

    @property
    def lines(self) -> list[str]:
        """The address as printed on an envelope (and an invoice)."""
        lines = [self.line1]
        if self.line2:
            lines.append(self.line2)
        lines.append(f"{self.city}, {self.state} {self.zipcode}")
        lines.append(self.country_name)
        return lines


# ---- countries and states --------------------------------------------------------------------------


def _key(text: str) -> str:
    """A forgiving lookup key: no accents, no case, no dots, one space between words, no leading "the"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = plain.replace("’", "'").replace("&", " and ").replace(".", " ")
    words = plain.casefold().split()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


@cache
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for alpha2, alpha3, name, others in COUNTRIES:
        for label in (alpha2, alpha3, name, *others):
            index.setdefault(_key(label), alpha2)
    for alias, alpha2 in ALIASES.items():
        index.setdefault(_key(alias), alpha2)
    return index


@cache
def _country_names() -> dict[str, str]:
    return {alpha2: name for alpha2, _alpha3, name, _others in COUNTRIES}


def lookup_country(text: str) -> str | None:
    """The alpha-2 code of a country given by name, alpha-2 or alpha-3 code; None if ISO 3166 has none."""
    return _country_index().get(_key(text or ""))


def country_name(alpha2: str) -> str:
    return _country_names().get(alpha2, alpha2)


def country_choices() -> list[tuple[str, str]]:
    """(alpha-2, name) for a select, the United States first, then by name."""
    names = _country_names()
    rest = sorted(((code, name) for code, name in names.items() if code != DEFAULT_COUNTRY), key=lambda c: _key(c[1]))
    return [(DEFAULT_COUNTRY, names[DEFAULT_COUNTRY]), *rest]


@cache
def _state_index() -> dict[str, str]:
    index = {_key(code): code for code in US_STATES}
    index.update({_key(name): code for code, name in US_STATES.items()})
    index.update({_key(alias): code for alias, code in US_STATE_ALIASES.items()})
    return index


def lookup_us_state(text: str) -> str | None:
    return _state_index().get(_key(text or ""))


# ---- the rules for each field ----------------------------------------------------------------------


def _shown(value: str, limit: int = 60) -> str:
    """A value as a message quotes it: control characters escaped, long values shortened."""
    text = "".join(
        ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch).startswith("C") else ch for ch in value
    )
    return f"'{text if len(text) <= limit else text[: limit - 1] + '…'}'"


def _tidy(value) -> str:
    return " ".join(str(value or "").split())


def _check_text(part: str, value: str, *, required: bool) -> AddressError | None:
    if not value:
        return AddressError(part, "is empty; enter a value") if required else None
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        return AddressError(part, f"{_shown(value)} contains control characters")
    if "," in value:
        return AddressError(part, f"{_shown(value)} contains a comma; commas separate the parts of an address")
    if len(value) > MAX_LENGTHS[part]:
        return AddressError(part, f"is {len(value)} characters long; at most {MAX_LENGTHS[part]}")
    return None


def _clean_country(value: str) -> tuple[str | None, AddressError | None]:
    if not value:
        return DEFAULT_COUNTRY, None
    code = lookup_country(value)
    if code is None:
        return None, AddressError(
            "country",
            f"{_shown(value)} is not a country in ISO 3166; use its name or two-letter code, like FR or France",
        )
    return code, None


def _clean_state(value: str, country: str | None) -> tuple[str, AddressError | None]:
    if error := _check_text("state", value, required=True):
        return value, error
    if country != "US":
        return value, None
    code = lookup_us_state(value)
    if code is None:
        return value, AddressError(
            "state", f"{_shown(value)} is not a US state; use a two-letter code like IL or the full name"
        )
    return code, None


def _clean_zipcode(value: str, country: str | None) -> tuple[str, AddressError | None]:
    if not value:
        return value, AddressError("zipcode", "is empty; enter the ZIP or postal code")
    if country == "US":
        match = US_ZIP_RE.match(value)
        if match is None:
            return value, AddressError(
                "zipcode", f"{_shown(value)} is not a US ZIP code; use 5 digits or ZIP+4, like 62704 or 62704-1234"
            )
        return match.group(1) + (f"-{match.group(2)}" if match.group(2) else ""), None
    if len(value) > MAX_LENGTHS["zipcode"] or not POSTAL_CODE_RE.match(value):
        return value, AddressError(
            "zipcode",
            f"{_shown(value)} is not a postal code; use letters, digits, spaces and hyphens, "
            f"at most {MAX_LENGTHS['zipcode']} characters",
        )
    return value, None


def validate_address(
    *, line1: str, line2: str = "", city: str, state: str, zipcode: str, country: str = ""
) -> tuple[Address | None, list[AddressError]]:
    """The normalized address and no errors, or None and every error (in the order of the parts)."""
    line1, line2, city, state, zipcode, country = (_tidy(v) for v in (line1, line2, city, state, zipcode, country))
    country_code, country_error = _clean_country(country)
    errors: dict[str, AddressError | None] = {
        "line1": _check_text("line1", line1, required=True),
        "line2": _check_text("line2", line2, required=False),
        "city": _check_text("city", city, required=True),
    }
    state, errors["state"] = _clean_state(state, country_code)
    zipcode, errors["zipcode"] = _clean_zipcode(zipcode, country_code)
    errors["country"] = country_error
    found = [errors[part] for part in PARTS if errors.get(part) is not None]
    if found:
        return None, found  # type: ignore[return-value]
    return Address(line1, line2, city, state, zipcode, country_code or DEFAULT_COUNTRY), []


def build_address(**fields: str) -> Address:
    """An address from structured fields; raises AddressErrors listing every wrong field."""
    address, errors = validate_address(**fields)
    if errors:
        raise AddressErrors(errors)
    assert address is not None
    return address


# ---- one line ---------------------------------------------------------------------------------------


def _has_digit(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


def split_parts(text: str) -> list[str]:
    """The comma-separated parts, trimmed; line breaks (a pasted multi-line address) count as commas."""
    lines = [line for line in re.split(r"[\r\n]+", text) if line.strip()]
    return [_tidy(part) for part in ",".join(lines).split(",")]


def _count_problem(parts: list[str]) -> str:
    problem = f"expected {MIN_PARTS} to {MAX_PARTS} comma-separated parts, got {len(parts)}"
    if len(parts) < MIN_PARTS:
        joined = STATE_AND_ZIP_RE.match(parts[-1]) if parts else None
        if joined:
            problem += f" (put a comma between the state and the zipcode: '{joined['state']}, {joined['zip']}')"
    return problem


def parse_address(text: str) -> Address:
    """Parse ``line1, line2 (optional), city, state, zipcode[, country]``; raise AddressError naming the bad part."""
    if text is None or not str(text).strip():
        raise AddressError("address", "is empty; enter an address")
    parts = split_parts(str(text))
    count = len(parts)
    if not MIN_PARTS <= count <= MAX_PARTS:
        raise AddressError("address", _count_problem(parts))
    if count > MIN_PARTS and not parts[-1]:
        raise AddressError("address", "ends with a comma; remove it, or add the country after it")

    if count == 4:
        roles = ["line1", "city", "state", "zipcode"]
    elif count == 6:
        if _has_digit(parts[-1]):
            raise AddressError(
                "address",
                f"has 6 parts but the last, {_shown(parts[-1])}, is a postal code, not a country; "
                "an address without a country has 4 or 5 parts",
            )
        roles = ["line1", "line2", "city", "state", "zipcode", "country"]
    elif _has_digit(parts[-1]):  # 5 parts ending in a postal code: no country, so the second part is line 2
        roles = ["line1", "line2", "city", "state", "zipcode"]
    else:  # 5 parts ending in a country: no line 2
        roles = ["line1", "city", "state", "zipcode", "country"]

    fields = dict(zip(roles, parts, strict=True))
    for position, (role, value) in enumerate(fields.items(), start=1):
        if not value and role != "line2":
            raise AddressError(role, f"part {position} of {count} is empty; only line2 may be left out")
    zipcode = fields["zipcode"]
    if not _has_digit(zipcode) and lookup_country(zipcode):
        raise AddressError(
            "zipcode",
            f"is missing; {_shown(zipcode)} in its place is a country, which comes after the zipcode",
        )
    address, errors = validate_address(**fields)
    if errors:
        raise errors[0]
    assert address is not None
    return address


def format_address(address: Address) -> str:
    """One line that :func:`parse_address` reads back as the same address.

    US addresses leave the country out (the platform's documented form); others end with the
    country's name. Country display names never contain a comma.
    """
    parts = [address.line1, address.line2, address.city, address.state, address.zipcode]
    if address.country != DEFAULT_COUNTRY:
        parts.append(country_name(address.country))
    return ", ".join(part for part in parts if part)
