"""Members and invitations of an organization: the same services as the Members page."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from ninja import Router, Schema, Status

from fleetadmin.api.types import one_of
from fleetadmin.core.links import portal_base_url
from fleetadmin.fleet import members, rules, selectors

router = Router(tags=["Members and invitations"])

InvitableRole = one_of(rules.INVITABLE_ROLE_VALUES)


class MemberOut(Schema):
    id: int
    user_id: int
    email: str
    name: str
    role: str
    scope: Literal["organization", "location"]
    location_id: uuid.UUID | None
    two_factor: bool
    last_sign_in: datetime | None
    invited_by: str | None
    created_at: datetime


class MemberUpdateIn(Schema):
    role: InvitableRole
    location_id: uuid.UUID | None = None


class InvitationOut(Schema):
    id: uuid.UUID
    email: str
    role: str
    scope: Literal["organization", "location"]
    location_id: uuid.UUID | None
    invited_by: str | None
    created_at: datetime
    expires_at: datetime
    mail_status: str


class InvitationIn(Schema):
    email: str
    role: InvitableRole
    location_id: uuid.UUID | None = None


def _member_out(row) -> dict:
    m = row.membership
    return {
        "id": m.pk,
        "user_id": m.user_id,
        "email": m.user.email,
        "name": m.user.full_name,
        "role": m.role,
        "scope": "location" if m.location_id else "organization",
        "location_id": m.location_id,
        "two_factor": row.two_factor,
        "last_sign_in": m.user.last_login,
        "invited_by": m.invited_by.email if m.invited_by else None,
        "created_at": m.created_at,
    }


def _invitation_out(invitation) -> dict:
    return {
        "id": invitation.pk,
        "email": invitation.email,
        "role": invitation.role,
        "scope": "location" if invitation.location_id else "organization",
        "location_id": invitation.location_id,
        "invited_by": invitation.invited_by.email if invitation.invited_by else None,
        "created_at": invitation.created_at,
        "expires_at": invitation.expires_at,
        "mail_status": invitation.mail_status,
    }


def _location(actor, organization, location_id):
    return selectors.get_location_for(actor, organization, location_id) if location_id else None


@router.get("/organizations/{org_id}/members", response=list[MemberOut], summary="List an organization's members")
def list_members(request, org_id: uuid.UUID):
    organization = selectors.get_organization_for(request.auth, org_id)
    return [_member_out(row) for row in selectors.organization_members(request.auth, organization)]


@router.patch(
    "/organizations/{org_id}/members/{membership_id}",
    response=MemberOut,
    summary="Change a member's role or scope (the last owner cannot be demoted)",
)
def update_member(request, org_id: uuid.UUID, membership_id: int, payload: MemberUpdateIn):
    actor = request.auth
    organization = selectors.get_organization_for(actor, org_id)
    membership = selectors.get_membership_for(actor, organization, membership_id)
    members.membership_change_role(
        actor=actor,
        membership=membership,
        role=payload.role,
        location=_location(actor, organization, payload.location_id),
    )
    return _member_out(selectors.member_row(actor, organization, membership_id))


@router.delete(
    "/organizations/{org_id}/members/{membership_id}",
    response={204: None},
    summary="Remove a member (the last owner cannot be removed)",
)
def remove_member(request, org_id: uuid.UUID, membership_id: int):
    actor = request.auth
    organization = selectors.get_organization_for(actor, org_id)
    membership = selectors.get_membership_for(actor, organization, membership_id)
    members.membership_remove(actor=actor, membership=membership)
    return Status(204, None)


@router.get(
    "/organizations/{org_id}/invitations",
    response=list[InvitationOut],
    summary="List an organization's pending invitations",
)
def list_invitations(request, org_id: uuid.UUID):
    actor = request.auth
    organization = selectors.get_organization_for(actor, org_id)
    from fleetadmin.fleet import authz

    authz.require(actor, "fleet.manage_members", organization)
    return [_invitation_out(i) for i in selectors.pending_invitations(actor, organization)]


@router.post(
    "/organizations/{org_id}/invitations",
    response={201: InvitationOut},
    summary="Invite someone by email (location_id only for the location roles); the link goes only to their mailbox",
)
def create_invitation(request, org_id: uuid.UUID, payload: InvitationIn):
    actor = request.auth
    organization = selectors.get_organization_for(actor, org_id)
    issued = members.invitation_create(
        actor=actor,
        organization=organization,
        email=payload.email,
        role=payload.role,
        location=_location(actor, organization, payload.location_id),
        base_url=portal_base_url(request),
    )
    return Status(201, _invitation_out(issued.invitation))


@router.delete(
    "/organizations/{org_id}/invitations/{invitation_id}", response={204: None}, summary="Revoke an invitation"
)
def revoke_invitation(request, org_id: uuid.UUID, invitation_id: uuid.UUID):
    actor = request.auth
    organization = selectors.get_organization_for(actor, org_id)
    invitation = selectors.get_invitation_for(actor, organization, invitation_id)
    members.invitation_revoke(actor=actor, invitation=invitation)
    return Status(204, None)
