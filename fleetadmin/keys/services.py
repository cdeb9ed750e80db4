"""The only writers of API keys. Each change records one audit event per key, never the value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from fleetadmin import audit, clock
from fleetadmin.audit.services import diff
from fleetadmin.core.errors import DuplicateSubmission
from fleetadmin.fleet import authz
from fleetadmin.fleet.models import Location, Machine, Organization
from fleetadmin.fleet.services import clean_name
from fleetadmin.keys import rules, tokens
from fleetadmin.keys.models import ROLES_BY_RESOURCE, ApiKey, ApiKeyAuthorization, ResourceType
from fleetadmin.keys.rules import GRACE_PERIODS, KEY_PREFIX

LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Grant:
    """A requested authorization: a role on an organization, a location or a machine."""

    role: str
    resource: Organization | Location | Machine

    @property
    def resource_type(self) -> str:
        if isinstance(self.resource, Location):
            return ResourceType.LOCATION
        if isinstance(self.resource, Machine):
            return ResourceType.ROBOT
        return ResourceType.ORGANIZATION


@dataclass(frozen=True)
class IssuedKey:
    """A key together with its value. The value exists only in this object; show it once."""

    key: ApiKey
    value: str


def _describe(authorization: ApiKeyAuthorization | Grant) -> dict:
    resource = authorization.resource
    return {
        "role": str(authorization.role),
        "resource_type": str(authorization.resource_type),
        "resource_id": str(resource.pk),
        "resource_name": resource.name,
    }


def _snapshot(key: ApiKey) -> dict:
    return {
        "name": key.name,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "authorizations": [_describe(a) for a in key.authorizations.all()],
    }


MAX_KEY_LIFETIME = timedelta(days=3653)


def _clean_expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    """In UTC (a naive time is taken as UTC), in the future, and at most ten years ahead."""
    if expires_at is None:
        return None
    try:
        expires_at = expires_at.replace(tzinfo=UTC) if expires_at.tzinfo is None else expires_at.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValidationError({"expires_at": "The expiry is not a representable time."}) from None
    if expires_at <= now:
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    if expires_at > now + MAX_KEY_LIFETIME:
        raise ValidationError({"expires_at": "The expiry can be at most 10 years ahead."})
    return expires_at


def _check_grant(actor, organization: Organization, grant: Grant) -> None:
    resource_type = grant.resource_type
    accepted = ROLES_BY_RESOURCE[resource_type]
    if grant.role not in accepted:
        raise ValidationError({"role": rules.role_refused(accepted, resource_type, str(grant.role))})
    resource_org = grant.resource.pk if resource_type == ResourceType.ORGANIZATION else grant.resource.organization_id
    if resource_org != organization.pk:
        raise ValidationError({"resource": f"The {resource_type} {grant.resource.pk} is not in {organization.name}."})
    # A key never gets more power than its creator: the creator must own every resource it grants.
    authz.require(actor, "keys.manage", grant.resource)


def _scope_path(grant: Grant) -> str:
    if isinstance(grant.resource, Location):
        return grant.resource.path
    if isinstance(grant.resource, Machine):
        return f"{grant.resource.location.path}m{grant.resource.pk.hex}/"
    return "/"


def _add_authorization(key: ApiKey, grant: Grant) -> ApiKeyAuthorization:
    return ApiKeyAuthorization.objects.create(
        key=key,
        organization_id=key.organization_id,
        role=grant.role,
        resource_type=grant.resource_type,
        location=grant.resource if isinstance(grant.resource, Location) else None,
        machine=grant.resource if isinstance(grant.resource, Machine) else None,
        scope_path=_scope_path(grant),
    )


def default_key_name(grant: Grant, now: datetime) -> str:
    """``<resource name>-<RFC 3339 time>``, as the platform's CLI names keys."""
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    base = "-".join(grant.resource.name.split())[:70]
    return f"{base}-{stamp}"


def _issue(*, actor, organization, name, grants, expires_at, now, creation_token=None) -> IssuedKey:
    value = tokens.generate(KEY_PREFIX)
    stored = tokens.hash_secret(value)
    key = ApiKey(
        organization=organization,
        name=name,
        secret_hash=stored.hash,
        pepper_id=stored.pepper_id,
        created_at=now,
        created_by=_creator(actor),
        created_by_name=actor.audit_identity().name,
        expires_at=expires_at,
        creation_token=creation_token,
    )
    key.save(force_insert=True)
    for grant in grants:
        _add_authorization(key, grant)
    return IssuedKey(key=key, value=value)


def _creator(actor):
    from django.contrib.auth import get_user_model

    return actor if isinstance(actor, get_user_model()) else None


@transaction.atomic
def api_key_create(
    *,
    actor,
    organization: Organization,
    grants: list[Grant],
    name: str | None = None,
    expires_at: datetime | None = None,
    creation_token: str | None = None,
) -> IssuedKey:
    now = clock.now()
    if not grants:
        raise ValidationError({"resource": "A key needs at least one authorization."})
    for grant in grants:
        _check_grant(actor, organization, grant)
    expires_at = _clean_expiry(expires_at, now)
    name = clean_name(name, what="key name") if name and name.strip() else default_key_name(grants[0], now)
    if creation_token:
        existing = ApiKey.objects.filter(creation_token=creation_token).first()
        if existing is not None:
            raise DuplicateSubmission(existing, f"key {existing.pk}")
    try:
        with transaction.atomic():
            issued = _issue(
                organization=organization,
                name=name,
                grants=grants,
                expires_at=expires_at,
                actor=actor,
                now=now,
                creation_token=creation_token,
            )
    except IntegrityError:
        existing = ApiKey.objects.filter(creation_token=creation_token).first() if creation_token else None
        if existing is None:
            raise
        raise DuplicateSubmission(existing, f"key {existing.pk}") from None
    audit.record(
        actor=actor,
        action="keys.api_key.create",
        organization=organization,
        target=issued.key,
        changes={"after": _snapshot(issued.key)},
    )
    return issued


def _require_usable(key: ApiKey, now: datetime, verb: str) -> None:
    if key.deleted_at is not None:
        raise ValidationError(f"Key {key.pk} was deleted; it cannot be {verb}.")
    if key.replaced_by_id is not None:
        raise ValidationError(
            f"Key {key.pk} was already rotated; {verb.rstrip('d')} its replacement {key.replaced_by_id}."
        )


@transaction.atomic
def api_key_rotate(*, actor, key: ApiKey, grace: timedelta = timedelta(0)) -> IssuedKey:
    """Issue a replacement key (new id and value, same name, authorizations and expiry).

    The old key keeps working for ``grace`` (none, an hour, a day, a week) and is rejected after.
    """
    authz.require(actor, "keys.manage", key)
    now = clock.now()
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    _require_usable(key, now, "rotated")
    if grace < timedelta(0) or grace > max(GRACE_PERIODS.values()):
        raise ValidationError({"grace": rules.grace_refused("")})
    grants = [
        Grant(role=a.role, resource=a.resource)
        for a in key.authorizations.select_related("organization", "location", "machine")
    ]
    issued = _issue(
        organization=key.organization,
        name=key.name,
        grants=grants,
        expires_at=key.expires_at,
        actor=actor,
        now=now,
    )
    key.rotated_at = now
    key.retired_at = now + grace
    key.replaced_by = issued.key
    key.save(update_fields=["rotated_at", "retired_at", "replaced_by"])
    audit.record(  # the new key id has its own history from its first moment
        actor=actor,
        action="keys.api_key.create",
        organization=key.organization,
        target=issued.key,
        changes={"after": {**_snapshot(issued.key), "replaces": str(key.pk)}},
    )
    audit.record(
        actor=actor,
        action="keys.api_key.rotate",
        organization=key.organization,
        target=key,
        changes={
            "before": {"replaced_by": None, "retired_at": None},
            "after": {
                "replaced_by": str(issued.key.pk),
                "retired_at": key.retired_at.isoformat(),
                "grace_seconds": int(grace.total_seconds()),
            },
        },
    )
    return issued


@transaction.atomic
def api_key_duplicate(*, actor, key: ApiKey, name: str | None = None) -> IssuedKey:
    """A new key with the same authorizations (the platform's CreateKeyFromExistingKeyAuthorizations)."""
    authz.require(actor, "keys.manage", key)
    grants = [
        Grant(role=a.role, resource=a.resource)
        for a in key.authorizations.select_related("organization", "location", "machine")
    ]
    issued = api_key_create(
        actor=actor, organization=key.organization, grants=grants, name=name or f"{key.name}-copy"[:100]
    )
    return issued


@transaction.atomic
def api_key_rename(*, actor, key: ApiKey, name: str) -> ApiKey:
    authz.require(actor, "keys.manage", key)
    name = clean_name(name, what="key name")
    if key.deleted_at is not None:
        raise ValidationError(f"Key {key.pk} was deleted; it cannot be renamed.")
    before = key.name
    if name == before:
        return key
    key.name = name
    key.save(update_fields=["name"])
    audit.record(
        actor=actor,
        action="keys.api_key.rename",
        organization=key.organization,
        target=key,
        changes=diff({"name": before}, {"name": name}),
    )
    return key


@transaction.atomic
def api_key_authorization_add(*, actor, key: ApiKey, grant: Grant) -> ApiKeyAuthorization:
    authz.require(actor, "keys.manage", key)
    _require_usable(key, clock.now(), "changed")
    _check_grant(actor, key.organization, grant)
    before = _snapshot(key)["authorizations"]
    if any(_describe(a) == _describe(grant) for a in key.authorizations.all()):
        raise ValidationError({"role": f"The key already has {grant.role} on this {grant.resource_type}."})
    authorization = _add_authorization(key, grant)
    audit.record(
        actor=actor,
        action="keys.api_key.grant",
        organization=key.organization,
        target=key,
        changes={"before": {"authorizations": before}, "after": {"authorizations": _snapshot(key)["authorizations"]}},
    )
    return authorization


@transaction.atomic
def api_key_authorization_remove(*, actor, key: ApiKey, authorization: ApiKeyAuthorization) -> None:
    authz.require(actor, "keys.manage", key)
    _require_usable(key, clock.now(), "changed")
    if authorization.key_id != key.pk:
        raise ValidationError("That authorization belongs to another key.")
    before = _snapshot(key)["authorizations"]
    if len(before) <= 1:
        raise ValidationError("A key needs at least one authorization; delete the key instead.")
    authorization.delete()
    audit.record(
        actor=actor,
        action="keys.api_key.revoke",
        organization=key.organization,
        target=key,
        changes={"before": {"authorizations": before}, "after": {"authorizations": _snapshot(key)["authorizations"]}},
    )


@transaction.atomic
def api_key_delete(*, actor, key: ApiKey) -> None:
    """Delete a key: it stops working at once. A tombstone stays so authentication can say why."""
    authz.require(actor, "keys.manage", key)
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.deleted_at is not None:
        return
    key.deleted_at = clock.now()
    key.save(update_fields=["deleted_at"])
    audit.record(
        actor=actor,
        action="keys.api_key.delete",
        organization=key.organization,
        target=key,
        changes={"before": _snapshot(key)},
    )


@transaction.atomic
def api_key_bulk_delete(*, actor, keys: list[ApiKey]) -> int:
    """Delete several keys in one transaction: all of them or none. One audit event per key."""
    for key in keys:
        authz.require(actor, "keys.manage", key)
    for key in keys:
        api_key_delete(actor=actor, key=key)
    return len(keys)


def api_key_touch(*, key: ApiKey, now: datetime, ip: str | None = None) -> bool:
    """Record use (when, and from which address), at most once a minute per key.

    Usage is telemetry, not a change, so it is not audited.
    """
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return False
    updated = (
        ApiKey.objects.filter(pk=key.pk)
        .exclude(last_used_at__gt=now - LAST_USED_RESOLUTION)
        .update(last_used_at=now, last_used_ip=ip or None)
    )
    key.last_used_at, key.last_used_ip = now, ip or None
    return bool(updated)
