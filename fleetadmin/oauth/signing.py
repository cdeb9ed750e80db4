"""The RSA keys that sign id_tokens, and the JWKS that publishes them.

Keys come from configuration: ``OIDC_RSA_PRIVATE_KEY`` (one PEM, e.g. from a secret
store) or ``OIDC_SIGNING_KEYS_FILE`` (a JSON key set that ``manage.py oidc_rotate_key``
maintains). With ``DEBUG=1`` and neither set, a key file is generated on first use
(``make run``); with ``DEBUG=0`` the settings refuse to start without one.

A rotation adds a new current key and keeps the previous one in the JWKS, marked
retired, until every token it signed has expired (the longest of the id_token and
access-token lifetimes); the next rotation drops keys past that point.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from jwcrypto import jwk

from fleetadmin import clock

KEY_BITS = 2048


@dataclass(frozen=True)
class SigningKey:
    jwk: jwk.JWK
    created_at: datetime
    retired_at: datetime | None

    @property
    def kid(self) -> str:
        return self.jwk.thumbprint()

    def public(self) -> dict:
        data = self.jwk.export_public(as_dict=True)
        return {**data, "kid": self.kid, "use": "sig", "alg": "RS256"}


_lock = threading.Lock()
_cache: dict[str, tuple[float, list[SigningKey]]] = {}


def _keys_file() -> Path | None:
    path = getattr(settings, "OIDC_SIGNING_KEYS_FILE", "")
    return Path(path) if path else None


def token_lifetime() -> timedelta:
    provider = settings.OAUTH2_PROVIDER
    return timedelta(seconds=max(provider["ID_TOKEN_EXPIRE_SECONDS"], provider["ACCESS_TOKEN_EXPIRE_SECONDS"]))


def new_key_entry() -> dict:
    key = jwk.JWK.generate(kty="RSA", size=KEY_BITS)
    pem = key.export_to_pem(private_key=True, password=None).decode("ascii")
    return {"pem": pem, "created_at": clock.now().isoformat(), "retired_at": None}


def _parse(entries: list[dict]) -> list[SigningKey]:
    keys = []
    for entry in entries:
        retired = entry.get("retired_at")
        keys.append(
            SigningKey(
                jwk=jwk.JWK.from_pem(entry["pem"].encode("ascii")),
                created_at=datetime.fromisoformat(entry["created_at"]),
                retired_at=datetime.fromisoformat(retired) if retired else None,
            )
        )
    return keys


def read_entries(path: Path) -> list[dict]:
    return json.loads(path.read_text())["keys"]


def write_entries(path: Path, entries: list[dict]) -> None:
    """Write atomically, readable by the owner only: a private key never sits in a half-written file."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"keys": entries}, handle, indent=1)
    os.replace(temporary, path)


def _load() -> list[SigningKey]:
    pem = getattr(settings, "OIDC_RSA_PRIVATE_KEY", "")
    if pem:
        return _parse([{"pem": pem, "created_at": "1970-01-01T00:00:00+00:00"}])
    path = _keys_file()
    if path is None:
        raise ImproperlyConfigured("Set OIDC_RSA_PRIVATE_KEY or OIDC_SIGNING_KEYS_FILE to sign id_tokens.")
    with _lock:
        if not path.exists():
            if not settings.DEBUG:
                raise ImproperlyConfigured(f"OIDC_SIGNING_KEYS_FILE {path} does not exist.")
            write_entries(path, [new_key_entry()])
        mtime = path.stat().st_mtime
        cached = _cache.get(str(path))
        if cached and cached[0] == mtime:
            return cached[1]
        keys = _parse(read_entries(path))
        _cache[str(path)] = (mtime, keys)
        return keys


def current_key() -> SigningKey:
    keys = [key for key in _load() if key.retired_at is None]
    if not keys:
        raise ImproperlyConfigured("The OIDC signing key set has no current key; run manage.py oidc_rotate_key.")
    return max(keys, key=lambda key: key.created_at)


def published_keys() -> list[SigningKey]:
    """The current key and every retired key whose tokens may still be live."""
    horizon = clock.now() - token_lifetime()
    return [key for key in _load() if key.retired_at is None or key.retired_at > horizon]


def jwks() -> dict:
    return {"keys": [key.public() for key in published_keys()]}


def rotate(path: Path) -> tuple[str, list[str]]:
    """Add a new current key; retire the previous one; drop keys retired longer ago than a token lives."""
    now = clock.now()
    horizon = now - token_lifetime()
    entries = read_entries(path) if path.exists() else []
    kept = []
    for entry in entries:
        retired = entry.get("retired_at")
        if retired and datetime.fromisoformat(retired) <= horizon:
            continue
        if not retired:
            entry["retired_at"] = now.isoformat()
        kept.append(entry)
    fresh = new_key_entry()
    kept.append(fresh)
    write_entries(path, kept)
    keys = _parse(kept)
    return keys[-1].kid, [key.kid for key in keys[:-1]]
