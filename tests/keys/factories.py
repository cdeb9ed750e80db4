"""Helpers that build API keys: through the service (the real path) or in bulk (for pagination)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from fleetadmin.fleet.models import Location, Machine, Organization, Role
from fleetadmin.keys import tokens
from fleetadmin.keys.models import ApiKey, ApiKeyAuthorization, ResourceType
from fleetadmin.keys.services import KEY_PREFIX, Grant, IssuedKey, api_key_create

KEY_VALUE_RE = re.compile(r"fak_[0-9A-Za-z]{46}")

OWNER_ROLE = {Organization: Role.ORGANIZATION_OWNER, Location: Role.LOCATION_OWNER, Machine: Role.ROBOT_OWNER}
OPERATOR_ROLE = {
    Organization: Role.ORGANIZATION_OPERATOR,
    Location: Role.LOCATION_OPERATOR,
    Machine: Role.ROBOT_OPERATOR,
}


def organization_of(resource) -> Organization:
    return resource if isinstance(resource, Organization) else resource.organization


def issue(actor, *resources, role: str | None = None, name: str | None = None, expires_at=None, **kwargs) -> IssuedKey:
    """A key with one authorization per resource (the owner role of its scope unless ``role`` says otherwise)."""
    grants = [Grant(role=role or OWNER_ROLE[type(resource)], resource=resource) for resource in resources]
    return api_key_create(
        actor=actor,
        organization=organization_of(resources[0]),
        grants=grants,
        name=name,
        expires_at=expires_at,
        **kwargs,
    )


def bulk_keys(organization: Organization, created_ats: list[datetime], *, name_prefix: str = "bulk") -> list[ApiKey]:
    """Rows written directly (no service, no audit): one organization_owner key per timestamp.

    Only for volume tests such as pagination, where issuing keys one by one through the
    service would add nothing but time.
    """
    stored = tokens.hash_secret(tokens.generate(KEY_PREFIX))
    keys = [
        ApiKey(
            id=uuid.uuid4(),
            organization=organization,
            name=f"{name_prefix}-{index:03d}",
            secret_hash=stored.hash,
            pepper_id=stored.pepper_id,
            created_at=created_at,
        )
        for index, created_at in enumerate(created_ats)
    ]
    ApiKey.objects.bulk_create(keys)
    ApiKeyAuthorization.objects.bulk_create(
        ApiKeyAuthorization(
            key=key,
            organization=organization,
            role=Role.ORGANIZATION_OWNER,
            resource_type=ResourceType.ORGANIZATION,
            scope_path="/",
        )
        for key in keys
    )
    return keys
