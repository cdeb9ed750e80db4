"""The one-line address parser (shared by the web form, the API and the CLI), its field rules and its formatter."""

import pytest

from fleetadmin.billing.address import (
    EXPECTED_FORMAT,
    US_STATES,
    Address,
    AddressError,
    AddressErrors,
    build_address,
    country_choices,
    format_address,
    lookup_country,
    parse_address,
)
from fleetadmin.billing.countries import COUNTRIES


def us(line1, city, state, zipcode, line2=""):
    return Address(line1, line2, city, state, zipcode, "US")


PARSES = [
    # the two examples from the issue
    ("123 Main St, Springfield, IL, 62704", us("123 Main St", "Springfield", "IL", "62704")),
    (
        "123 Main St, Apt 1, San Francisco, CA, 94105, United States",
        us("123 Main St", "San Francisco", "CA", "94105", line2="Apt 1"),
    ),
    # 5 parts: a postal code last means no country, so the second part is line 2 ...
    ("123 Main St, Apt 1, San Francisco, CA, 94105", us("123 Main St", "San Francisco", "CA", "94105", line2="Apt 1")),
    (
        "500 Oak Ave, Suite 200, Austin, TX, 78701-4321",
        us("500 Oak Ave", "Austin", "TX", "78701-4321", line2="Suite 200"),
    ),
    # ... anything else last is the country, and there is no line 2
    ("123 Main St, Springfield, IL, 62704, US", us("123 Main St", "Springfield", "IL", "62704")),
    ("123 Main St, Springfield, IL, 62704, USA", us("123 Main St", "Springfield", "IL", "62704")),
    ("123 Main St, Springfield, IL, 62704, united states of america", us("123 Main St", "Springfield", "IL", "62704")),
    # extra spaces anywhere
    ("  123   Main St ,Springfield,  IL ,   62704  ", us("123 Main St", "Springfield", "IL", "62704")),
    ("123 Main St,Apt 1,San Francisco,CA,94105,US", us("123 Main St", "San Francisco", "CA", "94105", line2="Apt 1")),
    # ZIP+4, with or without its hyphen
    ("123 Main St, Springfield, IL, 62704-1234", us("123 Main St", "Springfield", "IL", "62704-1234")),
    ("123 Main St, Springfield, IL, 627041234", us("123 Main St", "Springfield", "IL", "62704-1234")),
    # states by full name, in any case; DC and the territories
    ("123 Main St, Springfield, Illinois, 62704, United States", us("123 Main St", "Springfield", "IL", "62704")),
    ("1 Infinite Loop, Cupertino, california, 95014", us("1 Infinite Loop", "Cupertino", "CA", "95014")),
    ("350 Fifth Ave, New York, ny, 10118", us("350 Fifth Ave", "New York", "NY", "10118")),
    (
        "1600 Pennsylvania Ave NW, Washington, District of Columbia, 20500",
        us("1600 Pennsylvania Ave NW", "Washington", "DC", "20500"),
    ),
    ("1 Calle Fortaleza, San Juan, Puerto Rico, 00901", us("1 Calle Fortaleza", "San Juan", "PR", "00901")),
    ("590 S Marine Corps Dr, Tamuning, GU, 96913", us("590 S Marine Corps Dr", "Tamuning", "GU", "96913")),
    # line 2 left empty on purpose
    ("123 Main St, , Springfield, IL, 62704", us("123 Main St", "Springfield", "IL", "62704")),
    ("123 Main St, , Springfield, IL, 62704, US", us("123 Main St", "Springfield", "IL", "62704")),
    # a pasted multi-line address: line breaks count as commas
    ("123 Main St\nApt 1\nSan Francisco, CA, 94105", us("123 Main St", "San Francisco", "CA", "94105", line2="Apt 1")),
    # non-US: the region is free text, the postal code any letters and digits
    (
        "10 Downing St, London, England, SW1A 2AA, GB",
        Address("10 Downing St", "", "London", "England", "SW1A 2AA", "GB"),
    ),
    ("221B Baker St, London, England, NW1 6XE, UK", Address("221B Baker St", "", "London", "England", "NW1 6XE", "GB")),
    (
        "1 Rue de Rivoli, Paris, Île-de-France, 75001, France",
        Address("1 Rue de Rivoli", "", "Paris", "Île-de-France", "75001", "FR"),
    ),
    (
        "Unter den Linden 77, Etage 3, Berlin, Berlin, 10117, DEU",
        Address("Unter den Linden 77", "Etage 3", "Berlin", "Berlin", "10117", "DE"),
    ),
    ("100 Queen St W, Toronto, ON, M5H 2N2, Canada", Address("100 Queen St W", "", "Toronto", "ON", "M5H 2N2", "CA")),
    (
        "Rue 12, Abidjan, Lagunes, 01 BP 1234, Cote d'Ivoire",
        Address("Rue 12", "", "Abidjan", "Lagunes", "01 BP 1234", "CI"),
    ),
    # unicode street names
    (
        "Straße des 17. Juni 135, Berlin, Berlin, 10623, DE",
        Address("Straße des 17. Juni 135", "", "Berlin", "Berlin", "10623", "DE"),
    ),
    ("千代田1-1, 千代田区, 東京都, 100-8111, Japan", Address("千代田1-1", "", "千代田区", "東京都", "100-8111", "JP")),
    (
        "42 Calle Señora Núñez, Ciudad de México, CDMX, 06000, México",
        Address("42 Calle Señora Núñez", "", "Ciudad de México", "CDMX", "06000", "MX"),
    ),
]


def error(part: str, problem: str) -> str:
    """The message names the part, except when the whole address (the field itself) is wrong."""
    named = problem if part == "address" else f"{part}: {problem}"
    return f"{named}. Expected format: {EXPECTED_FORMAT}"


REFUSES = [
    ("", error("address", "is empty; enter an address")),
    ("   ", error("address", "is empty; enter an address")),
    # 3 parts and 7 parts
    ("123 Main St, Springfield, 62704", error("address", "expected 4 to 6 comma-separated parts, got 3")),
    (
        "123 Main St, Springfield, IL 62704",
        error(
            "address",
            "expected 4 to 6 comma-separated parts, got 3 (put a comma between the state and the zipcode: 'IL, 62704')",
        ),
    ),
    (
        "123 Main St, Apt 1, Floor 2, San Francisco, CA, 94105, US",
        error("address", "expected 4 to 6 comma-separated parts, got 7"),
    ),
    # missing and empty parts
    ("123 Main St, , IL, 62704", error("city", "part 2 of 4 is empty; only line2 may be left out")),
    (", Springfield, IL, 62704", error("line1", "part 1 of 4 is empty; only line2 may be left out")),
    ("123 Main St, Springfield, , 62704, US", error("state", "part 3 of 5 is empty; only line2 may be left out")),
    (
        "123 Main St, Springfield, IL, 62704,",
        error("address", "ends with a comma; remove it, or add the country after it"),
    ),
    (
        "123 Main St, Springfield, IL, US",
        error("zipcode", "is missing; 'US' in its place is a country, which comes after the zipcode"),
    ),
    (
        "123 Main St, Apt 1, Springfield, IL, 62704, 62705",
        error(
            "address",
            "has 6 parts but the last, '62705', is a postal code, not a country; "
            "an address without a country has 4 or 5 parts",
        ),
    ),
    # US rules
    (
        "123 Main St, Springfield, XX, 62704",
        error("state", "'XX' is not a US state; use a two-letter code like IL or the full name"),
    ),
    (
        "123 Main St, Springfield, Illinoise, 62704",
        error("state", "'Illinoise' is not a US state; use a two-letter code like IL or the full name"),
    ),
    (
        "123 Main St, Springfield, IL, 6270",
        error("zipcode", "'6270' is not a US ZIP code; use 5 digits or ZIP+4, like 62704 or 62704-1234"),
    ),
    (
        "123 Main St, Springfield, IL, 62704-12",
        error("zipcode", "'62704-12' is not a US ZIP code; use 5 digits or ZIP+4, like 62704 or 62704-1234"),
    ),
    # without a country the address is read as a US one
    (
        "10 Downing St, London, England, SW1A 2AA",
        error("state", "'England' is not a US state; use a two-letter code like IL or the full name"),
    ),
    # other countries
    (
        "1 Rue de Rivoli, Paris, IDF, 75001, Narnia",
        error("country", "'Narnia' is not a country in ISO 3166; use its name or two-letter code, like FR or France"),
    ),
    ("1 Rue de Rivoli, Paris, IDF, , France", error("zipcode", "part 4 of 5 is empty; only line2 may be left out")),
    (
        "1 Rue de Rivoli, Paris, IDF, 75@01, France",
        error(
            "zipcode", "'75@01' is not a postal code; use letters, digits, spaces and hyphens, at most 12 characters"
        ),
    ),
    # lengths and control characters
    ("A" * 101 + ", Springfield, IL, 62704", error("line1", "is 101 characters long; at most 100")),
    ("123 Main\x00St, Springfield, IL, 62704", error("line1", "'123 Main\\x00St' contains control characters")),
]


@pytest.mark.parametrize(("text", "expected"), PARSES, ids=[text[:40] for text, _ in PARSES])
def test_parses(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize(("text", "message"), REFUSES, ids=[text[:40] or "empty" for text, _ in REFUSES])
def test_refuses_with_the_part_and_the_expected_format(text, message):
    with pytest.raises(AddressError) as caught:
        parse_address(text)
    assert str(caught.value) == message
    assert str(caught.value).endswith(f"Expected format: {EXPECTED_FORMAT}")


def test_the_table_is_big_enough():
    assert len(PARSES) + len(REFUSES) >= 30


def test_the_error_names_the_part():
    with pytest.raises(AddressError) as caught:
        parse_address("123 Main St, Springfield, XX, 62704")
    assert caught.value.part == "state"
    assert caught.value.problem == "'XX' is not a US state; use a two-letter code like IL or the full name"


@pytest.mark.parametrize(("text", "expected"), PARSES, ids=[text[:40] for text, _ in PARSES])
def test_formatting_reads_back_as_the_same_address(text, expected):
    one_line = format_address(expected)
    assert parse_address(one_line) == expected


def test_format_leaves_the_us_out_and_names_other_countries():
    assert format_address(us("123 Main St", "Springfield", "IL", "62704")) == "123 Main St, Springfield, IL, 62704"
    assert (
        format_address(Address("123 Main St", "Apt 1", "San Francisco", "CA", "94105", "US"))
        == "123 Main St, Apt 1, San Francisco, CA, 94105"
    )
    assert (
        format_address(Address("10 Downing St", "", "London", "England", "SW1A 2AA", "GB"))
        == "10 Downing St, London, England, SW1A 2AA, United Kingdom"
    )


def test_every_country_name_has_no_comma_and_no_digit_and_reads_back():
    assert len(COUNTRIES) == 249
    for alpha2, alpha3, name, _others in COUNTRIES:
        assert "," not in name and not any(ch.isdigit() for ch in name), name
        assert lookup_country(name) == alpha2
        assert lookup_country(alpha2.lower()) == alpha2
        assert lookup_country(alpha3) == alpha2
        address = Address("1 High St", "", "Town", "Region", "AB1 2CD", alpha2)
        if alpha2 != "US":
            assert parse_address(format_address(address)) == address


def test_country_choices_put_the_united_states_first():
    choices = country_choices()
    assert choices[0] == ("US", "United States")
    assert len(choices) == 249
    assert ("GB", "United Kingdom") in choices


def test_us_states_include_the_fifty_states_dc_and_the_territories():
    territories = {"AS", "GU", "MP", "PR", "VI", "UM"}
    assert territories | {"DC"} <= set(US_STATES)
    assert len(set(US_STATES) - territories - {"DC", "AA", "AE", "AP"}) == 50


def test_build_address_reports_every_wrong_field():
    with pytest.raises(AddressErrors) as caught:
        build_address(line1="", city="Springfield", state="XX", zipcode="1", country="US")
    assert [error.part for error in caught.value.errors] == ["line1", "state", "zipcode"]


def test_build_address_refuses_commas_that_would_break_the_one_line_form():
    with pytest.raises(AddressErrors) as caught:
        build_address(line1="123 Main St, Apt 1", city="Springfield", state="IL", zipcode="62704")
    assert str(caught.value.errors[0]) == error(
        "line1", "'123 Main St, Apt 1' contains a comma; commas separate the parts of an address"
    )


def test_build_address_normalizes_like_the_parser():
    assert build_address(
        line1=" 123  Main St ", line2="", city="Springfield", state="illinois", zipcode="627041234", country=""
    ) == us("123 Main St", "Springfield", "IL", "62704-1234")


def test_address_lines_for_an_envelope():
    address = Address("123 Main St", "Apt 1", "San Francisco", "CA", "94105", "US")
    assert address.lines == ["123 Main St", "Apt 1", "San Francisco, CA 94105", "United States"]
