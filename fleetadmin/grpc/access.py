"""``proto.rpc.v1.AuthService/Authenticate`` and the access tokens it issues.

The SDK authenticates with entity = the API key id and credentials ``{type: "api-key",
payload: <key value>}``. The value is checked by ``fleetadmin.keys.auth`` exactly as the JSON
API checks it (same throttling, same reasons); the answer is a short-lived token signed with
SECRET_KEY that names the key and a fingerprint of its stored hash. Each later call presents
``authorization: Bearer <token>`` and the key is looked up again, so a key deleted, rotated out
or expired after the token was issued stops working at once.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from fleetadmin.keys.auth import (
    SCHEME,
    ApiKeyPrincipal,
    AuthenticationFailed,
    authenticate_key_id,
    authenticate_request,
)

CREDENTIALS_TYPE = "api-key"
TOKEN_LIFETIME_SECONDS = 3600
_SALT = "fleetadmin.grpc.access-token"


def _fingerprint(principal: ApiKeyPrincipal) -> str:
    return salted_hmac(_SALT, principal.key.secret_hash).hexdigest()[:24]


def authenticate(entity: str, credentials_type: str, payload: str) -> tuple[ApiKeyPrincipal, str]:
    """The key's principal and a fresh access token, or AuthenticationFailed saying why not."""
    if credentials_type != CREDENTIALS_TYPE:
        raise AuthenticationFailed(
            "malformed_credentials",
            f"credentials.type must be {CREDENTIALS_TYPE!r} (the API key value, with entity = the key id); "
            f"got {credentials_type[:40]!r}.",
        )
    # The JSON API's own entry point: per-address throttling and failure counting come with it.
    header = SimpleNamespace(headers={"Authorization": f"{SCHEME} {entity}:{payload}"})
    principal = authenticate_request(header)
    token = signing.dumps({"k": str(principal.key.pk), "f": _fingerprint(principal)}, salt=_SALT, compress=False)
    return principal, token


def principal_for_token(authorization: str) -> ApiKeyPrincipal:
    """The key behind ``Bearer <token>``, as it is now; AuthenticationFailed otherwise."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme != "Bearer" or not token:
        raise AuthenticationFailed(
            "missing_credentials",
            "Missing credentials: call proto.rpc.v1.AuthService/Authenticate with the key id and value, "
            "then send 'authorization: Bearer <access_token>'.",
        )
    try:
        claims = signing.loads(token.strip(), salt=_SALT, max_age=TOKEN_LIFETIME_SECONDS)
        key_id = uuid.UUID(claims["k"])
        fingerprint = str(claims["f"])
    except signing.SignatureExpired:
        raise AuthenticationFailed("expired_token", "The access token has expired; authenticate again.") from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise AuthenticationFailed("malformed_token", "The access token is not one this server issued.") from None
    principal = authenticate_key_id(key_id)
    if not constant_time_compare(fingerprint, _fingerprint(principal)):
        raise AuthenticationFailed("malformed_token", "The access token is not one this server issued.")
    return principal
