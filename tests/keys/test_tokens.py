"""Key values: shape, checksum, peppered hashing and pepper rotation."""

import hashlib
import hmac
import re

import pytest

from fleetadmin.keys import tokens
from fleetadmin.keys.services import KEY_PREFIX

VALUE_RE = re.compile(r"^fak_[0-9A-Za-z]{46}$")


@pytest.fixture
def peppers(settings):
    settings.API_KEY_PEPPERS = {"1": "a", "2": "b"}
    settings.API_KEY_PEPPER_ID = "1"
    return settings


def other_base62(ch: str) -> str:
    return "0" if ch != "0" else "1"


def test_generated_values_have_the_prefix_the_length_and_the_alphabet():
    values = {tokens.generate(KEY_PREFIX) for _ in range(200)}
    assert len(values) == 200  # random, not repeated
    for value in values:
        assert value.startswith("fak_")
        assert len(value) == 4 + 46
        assert VALUE_RE.match(value)
        assert tokens.is_well_formed(value, KEY_PREFIX)


def test_every_single_character_change_breaks_the_checksum():
    value = tokens.generate(KEY_PREFIX)
    for position in range(len(KEY_PREFIX), len(value)):
        typo = value[:position] + other_base62(value[position]) + value[position + 1 :]
        assert VALUE_RE.match(typo)  # still looks like a key...
        assert not tokens.is_well_formed(typo, KEY_PREFIX), position  # ...but the checksum catches it


def test_swapped_neighbours_break_the_checksum():
    value = tokens.generate(KEY_PREFIX)
    body = value[4:]
    position = next(i for i in range(len(body) - 1) if body[i] != body[i + 1])
    swapped = body[:position] + body[position + 1] + body[position] + body[position + 2 :]
    assert not tokens.is_well_formed("fak_" + swapped, KEY_PREFIX)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda v: v[:-1], id="truncated"),
        pytest.param(lambda v: v[:30], id="half"),
        pytest.param(lambda v: v + "0", id="one-extra-character"),
        pytest.param(lambda v: "fak-" + v[4:], id="dash-prefix"),
        pytest.param(lambda v: "FAK_" + v[4:], id="upper-prefix"),
        pytest.param(lambda v: "sk_" + v[4:], id="other-prefix"),
        pytest.param(lambda v: v[4:], id="no-prefix"),
        pytest.param(lambda v: v[:10] + "-" + v[11:], id="non-base62-character"),
        pytest.param(lambda v: v[:10] + "é" + v[11:], id="non-ascii-character"),
        pytest.param(lambda v: " " + v, id="leading-space"),
        pytest.param(lambda v: "", id="empty"),
    ],
)
def test_malformed_values_are_not_well_formed(mangle):
    value = tokens.generate(KEY_PREFIX)
    assert tokens.is_well_formed(value, KEY_PREFIX)
    assert not tokens.is_well_formed(mangle(value), KEY_PREFIX)


def test_hash_secret_is_hmac_sha256_hex_under_the_configured_pepper(peppers):
    value = tokens.generate(KEY_PREFIX)
    stored = tokens.hash_secret(value)
    assert stored.pepper_id == "1"
    assert stored.hash == hmac.new(b"a", value.encode(), hashlib.sha256).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", stored.hash)
    assert value not in stored.hash


def test_hashes_differ_across_pepper_ids(peppers):
    value = tokens.generate(KEY_PREFIX)
    under_1 = tokens.hash_secret(value, "1")
    under_2 = tokens.hash_secret(value, "2")
    assert under_2.hash == hmac.new(b"b", value.encode(), hashlib.sha256).hexdigest()
    assert under_1.hash != under_2.hash
    assert (under_1.pepper_id, under_2.pepper_id) == ("1", "2")
    peppers.API_KEY_PEPPER_ID = "2"
    assert tokens.hash_secret(value) == under_2


def test_hash_secret_names_a_missing_pepper(peppers):
    with pytest.raises(LookupError) as excinfo:
        tokens.hash_secret("fak_x", "9")
    assert str(excinfo.value) == "No pepper with id '9' is configured (API_KEY_PEPPERS)."


def test_verify_accepts_the_value_and_rejects_any_other(peppers):
    value = tokens.generate(KEY_PREFIX)
    stored = tokens.hash_secret(value)
    assert tokens.verify(value, stored)
    assert not tokens.verify(tokens.generate(KEY_PREFIX), stored)
    assert not tokens.verify(value[:-1], stored)


def test_verify_keeps_working_for_a_key_hashed_under_an_old_pepper(peppers):
    value = tokens.generate(KEY_PREFIX)
    old = tokens.hash_secret(value)
    assert old.pepper_id == "1"
    peppers.API_KEY_PEPPER_ID = "2"  # the pepper is rotated: new keys use "2"...
    assert tokens.hash_secret(value).pepper_id == "2"
    assert tokens.verify(value, old)  # ...and keys hashed under "1" still verify


def test_verify_is_false_for_an_unknown_pepper_id(peppers):
    value = tokens.generate(KEY_PREFIX)
    stored = tokens.hash_secret(value)
    assert not tokens.verify(value, tokens.StoredSecret(hash=stored.hash, pepper_id="9"))
    peppers.API_KEY_PEPPERS = {"2": "b"}  # pepper "1" was retired altogether
    assert not tokens.verify(value, stored)
