"""Authenticating HTTP requests with an API key.

Clients send ``Authorization: ApiKey <key-id>:<key-value>``. A valid key becomes
an ``ApiKeyPrincipal``: an actor that fleet.authz judges by the key's
authorizations and that the audit log records as the key.
"""

from __future__ import annotations

import logging
import uuid
import weakref
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections

from fleetadmin import clock
from fleetadmin.audit.models import ActorType
from fleetadmin.audit.services import ActorIdentity
from fleetadmin.core import metrics
from fleetadmin.fleet.authz import Grant
from fleetadmin.fleet.models import MACHINE_ROLES, ORGANIZATION_ROLES
from fleetadmin.keys import tokens
from fleetadmin.keys.models import ApiKey, ApiKeyAuthorization
from fleetadmin.keys.services import KEY_PREFIX, api_key_touch

logger = logging.getLogger(__name__)

SCHEME = "ApiKey"
HEADER_HELP = f"send the header 'Authorization: {SCHEME} <key-id>:<key-value>'"


class ApiKeyPrincipal:
    """The actor behind a request authenticated by an API key."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_support = False

    def __init__(self, key: ApiKey, authorizations: list[ApiKeyAuthorization]):
        self.key = key
        self.authorizations = authorizations

    def __repr__(self) -> str:
        return f"<ApiKeyPrincipal {self.key.pk}>"

    @property
    def pk(self):
        return self.key.pk

    def fleet_grants(self) -> list[Grant]:
        grants = []
        for a in self.authorizations:
            if a.role in ORGANIZATION_ROLES:
                grants.append(Grant(role=a.role, organization_id=a.organization_id))
            elif a.role in MACHINE_ROLES:
                grants.append(Grant(role=a.role, organization_id=a.organization_id, machine_id=a.machine_id))
            else:
                grants.append(Grant(role=a.role, organization_id=a.organization_id, location_path=a.scope_path))
        return grants

    def audit_identity(self) -> ActorIdentity:
        return ActorIdentity(type=ActorType.API_KEY, id=str(self.key.pk), name=self.key.name)


@dataclass
class AuthenticationFailed(Exception):
    code: str
    message: str
    status: int = 401
    key_exists: bool = False  # the id names a real key (so its failures are counted per key id)


# Failed authentications are counted twice, separately: per client address (enumeration and noise from one
# place) and per existing key id (guessing one key's value from many places). Neither counter ever stops a
# correct key id and value: a 46-character random value cannot be brute-forced, so a throttle that refused
# it would only let one misbehaving script, or everyone behind one proxy address, lock out a customer.
# Over either limit, a failure is answered 429 without saying why it failed.


def _address_counter(ip: str | None) -> str:
    return f"apikey-failures:ip:{ip or 'unknown'}"


def _key_counter(key_id: uuid.UUID) -> str:
    return f"apikey-failures:key:{key_id}"


def _count_failure(cache_key: str) -> int:
    """Add one failure to the counter; return the count within the current window."""
    window = settings.API_KEY_FAILURE_WINDOW_SECONDS
    if cache.add(cache_key, 1, timeout=window):
        return 1
    try:
        return cache.incr(cache_key)
    except ValueError:  # expired between add() and incr()
        cache.add(cache_key, 1, timeout=window)
        return 1


def parse_authorization_header(header: str) -> tuple[uuid.UUID, str]:
    scheme, _, credentials = header.strip().partition(" ")
    key_id, separator, value = credentials.strip().partition(":")
    if scheme != SCHEME or not separator:
        raise AuthenticationFailed("malformed_credentials", f"Malformed credentials: {HEADER_HELP}.")
    try:
        parsed_id = uuid.UUID(key_id)
    except ValueError:
        raise AuthenticationFailed(
            "malformed_credentials", f"Malformed key id {key_id[:40]!r}: a key id is a UUID."
        ) from None
    return parsed_id, value


class _KeyQuery:
    """The key and its authorizations in one statement: ``keys_apikey LEFT JOIN keys_apikeyauthorization``.

    Authentication runs on every API request, and compiling the same queryset through the ORM each time
    cost more CPU than the query's round trip (a profile of GET /api/v1/whoami: ~0.6 ms of SQL compilation
    against a 0.2 ms round trip, idle). So the statement is built once per database connection from the
    models' own metadata (columns, table names) and its rows are turned into model instances with the
    same converters the ORM applies. Each connection (one per thread) gets its own, as the converters are
    the connection's. The LEFT JOIN answers a key without authorizations in the same query.
    """

    def __init__(self, connection):
        quote = connection.ops.quote_name
        self.key_fields = ApiKey._meta.concrete_fields
        self.authorization_fields = ApiKeyAuthorization._meta.concrete_fields
        key_table, authorization_table = ApiKey._meta.db_table, ApiKeyAuthorization._meta.db_table
        columns = [f"k.{quote(f.column)}" for f in self.key_fields]
        columns += [f"a.{quote(f.column)}" for f in self.authorization_fields]
        authorization_pk = quote(ApiKeyAuthorization._meta.pk.column)
        self.sql = (
            f"SELECT {', '.join(columns)} FROM {quote(key_table)} k "  # noqa: S608 (model names only)
            f"LEFT JOIN {quote(authorization_table)} a ON a.{quote(ApiKeyAuthorization.key.field.column)} = "
            f"k.{quote(ApiKey._meta.pk.column)} WHERE k.{quote(ApiKey._meta.pk.column)} = %s "
            f"ORDER BY a.{authorization_pk}"
        )
        self.converters = [self._converters(connection, f, "k") for f in self.key_fields]
        self.converters += [self._converters(connection, f, "a") for f in self.authorization_fields]
        self.key_attnames = [f.attname for f in self.key_fields]
        self.authorization_attnames = [f.attname for f in self.authorization_fields]

    @staticmethod
    def _converters(connection, field, alias):
        column = field.get_col(alias)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        return [(converter, column) for converter in found]

    def load(self, connection, key_id: uuid.UUID) -> tuple[ApiKey | None, list[ApiKeyAuthorization]]:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [ApiKey._meta.pk.get_db_prep_value(key_id, connection)])
            rows = cursor.fetchall()
        if not rows:
            return None, []
        split = len(self.key_fields)
        converted = [self._convert(connection, row) for row in rows]
        key = ApiKey.from_db(connection.alias, self.key_attnames, converted[0][:split])
        authorizations = []
        for values in converted:
            if values[split] is None:  # the LEFT JOIN's row for a key without authorizations
                continue
            authorization = ApiKeyAuthorization.from_db(connection.alias, self.authorization_attnames, values[split:])
            authorization.key = key
            authorizations.append(authorization)
        return key, authorizations

    def _convert(self, connection, row) -> list:
        values = list(row)
        for i, converters in enumerate(self.converters):
            for converter, column in converters:
                values[i] = converter(values[i], column, connection)
        return values


_key_queries: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # connection -> _KeyQuery


def _load_key(key_id: uuid.UUID) -> tuple[ApiKey | None, list[ApiKeyAuthorization]]:
    """The key (None for an unknown id) and its authorizations, in one query."""
    connection = connections[DEFAULT_DB_ALIAS]
    query = _key_queries.get(connection)
    if query is None:
        query = _key_queries[connection] = _KeyQuery(connection)
    return query.load(connection, key_id)


def authenticate_key(key_id: uuid.UUID, value: str) -> ApiKeyPrincipal:
    """Resolve a key id and value to a principal, or raise AuthenticationFailed saying why not.

    One query (key and authorizations together, whatever the outcome after the checksum), plus an UPDATE
    of last_used_at at most once a minute.
    """
    if not tokens.is_well_formed(value, KEY_PREFIX):
        raise AuthenticationFailed(
            "malformed_key",
            "The key value is malformed (wrong prefix, length or checksum); check that it was copied whole.",
        )
    key, authorizations = _load_key(key_id)
    if key is None:
        raise AuthenticationFailed("unknown_key", f"Unknown API key id {key_id}.")
    if not tokens.verify(value, tokens.StoredSecret(hash=key.secret_hash, pepper_id=key.pepper_id)):
        raise AuthenticationFailed("wrong_value", f"The key value does not match API key {key_id}.", key_exists=True)
    return _principal_if_usable(key, key_id, authorizations)


def authenticate_key_id(key_id: uuid.UUID) -> ApiKeyPrincipal:
    """The key as it is now, for a caller that proved its value earlier (a gRPC access token).

    Same refusals, with the same reasons, as authenticate_key: a key deleted, rotated out or
    expired since the value was checked stops working at once.
    """
    key, authorizations = _load_key(key_id)
    if key is None:
        raise AuthenticationFailed("unknown_key", f"Unknown API key id {key_id}.")
    return _principal_if_usable(key, key_id, authorizations)


def _principal_if_usable(key: ApiKey, key_id: uuid.UUID, authorizations: list[ApiKeyAuthorization]) -> ApiKeyPrincipal:
    now = clock.now()
    if key.deleted_at is not None:
        raise AuthenticationFailed(
            "deleted_key", f"API key {key_id} was deleted at {key.deleted_at:%Y-%m-%dT%H:%M:%SZ}.", key_exists=True
        )
    if key.retired_at is not None and key.retired_at <= now:
        raise AuthenticationFailed(
            "rotated_out_key",
            f"API key {key_id} was rotated out at {key.retired_at:%Y-%m-%dT%H:%M:%SZ}; "
            f"use its replacement {key.replaced_by_id}.",
            key_exists=True,
        )
    if key.expires_at is not None and key.expires_at <= now:
        raise AuthenticationFailed(
            "expired_key", f"API key {key_id} expired at {key.expires_at:%Y-%m-%dT%H:%M:%SZ}.", key_exists=True
        )
    from fleetadmin.audit.context import current_request_context

    api_key_touch(key=key, now=now, ip=current_request_context().ip)  # the keys list shows the last address
    return ApiKeyPrincipal(key, authorizations)


def authenticate_request(request) -> ApiKeyPrincipal:
    """Authenticate the request's Authorization header. A success costs no cache round trip; a failure is
    counted per client address and per key id, and past either limit answered 429 (see above)."""
    from fleetadmin.audit.context import current_request_context

    key_id = None
    try:
        header = request.headers.get("Authorization", "")
        if not header:
            raise AuthenticationFailed("missing_credentials", f"Missing credentials: {HEADER_HELP}.")
        key_id, value = parse_authorization_header(header)
        principal = authenticate_key(key_id, value)
    except AuthenticationFailed as failure:
        metrics.key_authentication(failure.code)
        limit = settings.API_KEY_FAILURE_LIMIT
        try:
            from_address = _count_failure(_address_counter(current_request_context().ip))
            # Only ids of keys that exist get a counter: random ids must not fill the cache.
            on_key = _count_failure(_key_counter(key_id)) if failure.key_exists else 0
        except Exception as error:  # the cache (Redis) is down: this check fails closed, valid keys are unaffected
            logger.warning(
                "API-key failure throttle unavailable (%s: the cache is unreachable); failing closed: "
                "a failed authentication is answered 429 until the cache is back",
                type(error).__name__,
            )
            raise AuthenticationFailed(
                "throttle_unavailable",
                "Failed API-key authentications cannot be counted right now, so they are refused; "
                "check the key and retry in a minute.",
                429,
            ) from None
        if from_address > limit:
            raise AuthenticationFailed(
                "too_many_failures", "Too many failed API-key authentications from this address; wait and retry.", 429
            ) from None
        if on_key > limit:
            raise AuthenticationFailed(
                "too_many_failures", f"Too many failed authentications of API key {key_id}; wait and retry.", 429
            ) from None
        raise
    metrics.key_authentication("ok")
    return principal
