"""Key and client-secret values: generation, checksum, peppered hashing.

A value looks like ``fak_`` + 40 random base62 characters + a 6-character
base62 CRC32 of those 40. The prefix lets secret scanners find leaked keys
(``fak_[0-9A-Za-z]{46}``); the checksum lets the portal reject a mistyped or
truncated value without touching the database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib
from dataclasses import dataclass

from django.conf import settings

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 40  # 40 base62 characters carry about 238 bits
CHECKSUM_LENGTH = 6


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def generate(prefix: str) -> str:
    body = "".join(secrets.choice(BASE62) for _ in range(RANDOM_LENGTH))
    return f"{prefix}{body}{_checksum(body)}"


def is_well_formed(value: str, prefix: str) -> bool:
    """Right prefix, length, alphabet and checksum."""
    if not value.startswith(prefix) or len(value) != len(prefix) + RANDOM_LENGTH + CHECKSUM_LENGTH:
        return False
    rest = value[len(prefix) :]
    if any(ch not in BASE62 for ch in rest):
        return False
    body, checksum = rest[:RANDOM_LENGTH], rest[RANDOM_LENGTH:]
    return hmac.compare_digest(_checksum(body), checksum)


@dataclass(frozen=True)
class StoredSecret:
    hash: str
    pepper_id: str


def _pepper(pepper_id: str) -> bytes:
    try:
        return settings.API_KEY_PEPPERS[pepper_id].encode()
    except KeyError:
        raise LookupError(f"No pepper with id {pepper_id!r} is configured (API_KEY_PEPPERS).") from None


def hash_secret(value: str, pepper_id: str | None = None) -> StoredSecret:
    pepper_id = pepper_id or settings.API_KEY_PEPPER_ID
    digest = hmac.new(_pepper(pepper_id), value.encode(), hashlib.sha256).hexdigest()
    return StoredSecret(hash=digest, pepper_id=pepper_id)


def verify(value: str, stored: StoredSecret) -> bool:
    """Constant-time comparison of a presented value with a stored hash."""
    try:
        candidate = hash_secret(value, stored.pepper_id)
    except LookupError:
        return False
    return hmac.compare_digest(candidate.hash, stored.hash)
