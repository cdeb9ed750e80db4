from __future__ import annotations

import uuid
from datetime import datetime

from ninja import Router, Schema

from fleetadmin.fleet import authz, selectors

router = Router(tags=["Organizations, locations and machines"])


class OrganizationOut(Schema):
    id: uuid.UUID
    name: str
    created_at: datetime
    roles: list[str]


class LocationOut(Schema):
    id: uuid.UUID
    name: str
    organization_id: uuid.UUID
    parent_id: uuid.UUID | None
    created_at: datetime


class MachineOut(Schema):
    id: uuid.UUID
    name: str
    organization_id: uuid.UUID
    location_id: uuid.UUID
    location_name: str
    created_at: datetime


def _organization_out(actor, organization) -> dict:
    return {
        "id": organization.pk,
        "name": organization.name,
        "created_at": organization.created_at,
        "roles": sorted(authz.roles_in(actor, organization)),
    }


def _machine_out(machine) -> dict:
    return {
        "id": machine.pk,
        "name": machine.name,
        "organization_id": machine.organization_id,
        "location_id": machine.location_id,
        "location_name": machine.location.name,
        "created_at": machine.created_at,
    }


@router.get("/organizations", response=list[OrganizationOut], summary="List your organizations")
def list_organizations(request):
    actor = request.auth
    return [_organization_out(actor, o) for o in selectors.visible_organizations(actor).order_by("name", "id")]


@router.get("/organizations/{org_id}", response=OrganizationOut, summary="Get an organization")
def get_organization(request, org_id: uuid.UUID):
    return _organization_out(request.auth, selectors.get_organization_for(request.auth, org_id))


@router.get("/organizations/{org_id}/locations", response=list[LocationOut], summary="List an organization's locations")
def list_locations(request, org_id: uuid.UUID):
    organization = selectors.get_organization_for(request.auth, org_id)
    return list(selectors.visible_locations(request.auth, organization).order_by("path"))


@router.get("/locations/{location_id}", response=LocationOut, summary="Get a location")
def get_location(request, location_id: uuid.UUID):
    return selectors.find_location_for(request.auth, location_id)


@router.get(
    "/organizations/{org_id}/machines",
    response=list[MachineOut],
    summary="List an organization's machines (all locations, or one)",
)
def list_machines(request, org_id: uuid.UUID, location_id: uuid.UUID | None = None):
    organization = selectors.get_organization_for(request.auth, org_id)
    return [_machine_out(m) for m in selectors.machine_list(request.auth, organization, location_id=location_id)]


@router.get("/machines/{machine_id}", response=MachineOut, summary="Get a machine")
def get_machine(request, machine_id: uuid.UUID):
    return _machine_out(selectors.find_machine_for(request.auth, machine_id))
