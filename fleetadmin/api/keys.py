from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from ninja import Router, Schema, Status
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import Field

from fleetadmin import clock
from fleetadmin.fleet import selectors as fleet_selectors
from fleetadmin.fleet.models import Role
from fleetadmin.keys import rules, selectors, services
from fleetadmin.keys.models import ROLES_BY_RESOURCE, ApiKey, KeyStatus, ResourceType

router = Router(tags=["API keys"])

RoleName = Literal[tuple(Role.values)]  # type: ignore[valid-type]


class AuthorizationOut(Schema):
    role: str
    resource_type: str
    resource_id: uuid.UUID
    resource_name: str


class KeyOut(Schema):
    id: uuid.UUID
    name: str
    organization_id: uuid.UUID
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    last_used_at: datetime | None
    status: str
    replaced_by: uuid.UUID | None
    retired_at: datetime | None
    authorizations: list[AuthorizationOut]


class KeyCreatedOut(KeyOut):
    key: str
    warning: str


class KeyPageOut(Schema):
    items: list[KeyOut]
    next: str | None


class KeyCreateIn(Schema):
    name: str | None = None
    role: RoleName | None = None
    expires_at: datetime | None = None


class KeyRenameIn(Schema):
    name: str


class KeyRotateIn(Schema):
    grace: Annotated[str, Field(json_schema_extra={"enum": list(rules.GRACE_PERIODS)})] = rules.GRACE_DEFAULT


def key_out(key: ApiKey, now=None) -> dict:
    now = now or clock.now()
    return {
        "id": key.pk,
        "name": key.name,
        "organization_id": key.organization_id,
        "created_at": key.created_at,
        "created_by": key.created_by_name,
        "expires_at": key.expires_at,
        "last_used_at": key.last_used_at,
        "status": key.status(now),
        "replaced_by": key.replaced_by_id,
        "retired_at": key.retired_at,
        "authorizations": [
            {
                "role": a.role,
                "resource_type": a.resource_type,
                "resource_id": a.resource_id,
                "resource_name": a.resource_name,
            }
            for a in key.authorization_list()
        ],
    }


def _issued_out(issued: services.IssuedKey) -> dict:
    first = issued.key.authorizations.all()[0]
    access = "full write access" if first.role.endswith("_owner") else "read access"
    what = {"organization": "organization", "location": "location", "robot": "machine"}[first.resource_type]
    return {
        **key_out(issued.key),
        "key": issued.value,
        "warning": f"Keep this key somewhere safe; it has {access} to your {what}.",
    }


def _create(request, organization, resource, resource_type, body: KeyCreateIn) -> Status:
    accepted = ROLES_BY_RESOURCE[resource_type]
    role = body.role or accepted[0]
    issued = services.api_key_create(
        actor=request.auth,
        organization=organization,
        grants=[services.Grant(role=role, resource=resource)],
        name=body.name,
        expires_at=body.expires_at,
    )
    issued.key.refresh_from_db()
    return Status(201, _issued_out(issued))


@router.post("/organizations/{org_id}/api-keys", response={201: KeyCreatedOut}, summary="Create an organization key")
def create_organization_key(request, org_id: uuid.UUID, body: KeyCreateIn):
    organization = fleet_selectors.get_organization_for(request.auth, org_id)
    return _create(request, organization, organization, ResourceType.ORGANIZATION, body)


@router.post("/locations/{location_id}/api-keys", response={201: KeyCreatedOut}, summary="Create a location key")
def create_location_key(request, location_id: uuid.UUID, body: KeyCreateIn):
    location = fleet_selectors.find_location_for(request.auth, location_id)
    return _create(request, location.organization, location, ResourceType.LOCATION, body)


@router.post("/machines/{machine_id}/api-keys", response={201: KeyCreatedOut}, summary="Create a machine key")
def create_machine_key(request, machine_id: uuid.UUID, body: KeyCreateIn):
    machine = fleet_selectors.find_machine_for(request.auth, machine_id)
    return _create(request, machine.organization, machine, ResourceType.ROBOT, body)


@router.get("/organizations/{org_id}/api-keys", response=KeyPageOut, summary="List an organization's keys")
def list_keys(
    request,
    org_id: uuid.UUID,
    q: str = "",
    scope: Literal["organization", "location", "robot"] | None = None,
    role: RoleName | None = None,
    status: Literal[tuple(KeyStatus.values)] | None = None,  # type: ignore[valid-type]
    after: str = "",
):
    organization = fleet_selectors.get_organization_for(request.auth, org_id)
    filters = selectors.KeyFilters(query=q[:100], scope=scope or "", role=role or "", status=status or "")
    if after and selectors.decode_cursor(after) is None:
        raise NinjaValidationError([{"loc": ("query", "after"), "msg": "not a cursor returned by this API"}])
    page = selectors.key_page(request.auth, organization, filters, cursor=after)
    return {"items": [key_out(k, page.now) for k in page.keys], "next": page.next_cursor}


def _key(request, key_id: uuid.UUID) -> ApiKey:
    return selectors.find_key_for(request.auth, key_id)


@router.get("/api-keys/{key_id}", response=KeyOut, summary="Get a key (never its value)")
def get_key(request, key_id: uuid.UUID):
    return key_out(_key(request, key_id))


@router.patch("/api-keys/{key_id}", response=KeyOut, summary="Rename a key")
def rename_key(request, key_id: uuid.UUID, body: KeyRenameIn):
    key = services.api_key_rename(actor=request.auth, key=_key(request, key_id), name=body.name)
    return key_out(key)


@router.post("/api-keys/{key_id}/rotate", response={201: KeyCreatedOut}, summary="Rotate a key")
def rotate_key(request, key_id: uuid.UUID, body: KeyRotateIn):
    """Issues a replacement key (new id and value); the old one keeps working for the grace period."""
    if body.grace not in rules.GRACE_PERIODS:
        raise ValidationError({"grace": rules.grace_refused(body.grace)})
    issued = services.api_key_rotate(
        actor=request.auth, key=_key(request, key_id), grace=rules.GRACE_PERIODS[body.grace]
    )
    return Status(201, _issued_out(issued))


@router.delete("/api-keys/{key_id}", response={204: None}, summary="Delete a key")
def delete_key(request, key_id: uuid.UUID):
    services.api_key_delete(actor=request.auth, key=_key(request, key_id))
    return Status(204, None)
