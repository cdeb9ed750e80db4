"""End users of an organization's auth service: the same selectors and services as the End users page.

Owners change end users (``oauth.manage``); operators read (``oauth.view``); anyone outside the
organization gets a 404. Every change is one audited service call in ``fleetadmin.idp.services``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from ninja import Router, Schema, Status

from fleetadmin.api.scope import organization_for
from fleetadmin.core.links import portal_base_url
from fleetadmin.idp import selectors, services
from fleetadmin.idp.models import EndUser

router = Router(tags=["Auth service end users"])


class EndUserOut(Schema):
    id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    name: str
    status: Literal["active", "invited", "disabled"]
    email_verified: bool
    has_password: bool
    created_at: datetime
    invited_at: datetime | None
    last_sign_in_at: datetime | None
    sign_in_count: int
    failed_sign_in_count: int
    last_failed_sign_in_at: datetime | None


class EndUserPageOut(Schema):
    items: list[EndUserOut]
    next: str | None


class EndUserInviteIn(Schema):
    email: str
    name: str = ""


class SignOutOut(Schema):
    id: uuid.UUID
    tokens_revoked: int


def end_user_status(user: EndUser) -> str:
    if user.is_disabled:
        return "disabled"
    return "invited" if user.is_invited else "active"


def end_user_out(user: EndUser) -> dict:
    return {
        "id": user.pk,
        "organization_id": user.organization_id,
        "email": user.email,
        "name": user.name,
        "status": end_user_status(user),
        "email_verified": user.email_verified,
        "has_password": user.has_password,
        "created_at": user.created_at,
        "invited_at": user.invited_at if user.is_invited else None,
        "last_sign_in_at": user.last_sign_in_at,
        "sign_in_count": user.sign_in_count,
        "failed_sign_in_count": user.failed_sign_in_count,
        "last_failed_sign_in_at": user.last_failed_sign_in_at,
    }


def _readable(request, org_id):
    return organization_for(request, org_id, "oauth.view")


def _end_user(request, org_id, end_user_id):
    organization = _readable(request, org_id)
    return selectors.get_end_user_for(request.auth, organization, end_user_id)


def _end_user_act(request, org_id, end_user_id, service, **arguments):
    """The shape of every change to one end user: find them (404 outside reach), ``service(actor, user, ...)``."""
    return service(actor=request.auth, user=_end_user(request, org_id, end_user_id), **arguments)


@router.get(
    "/organizations/{org_id}/end-users",
    response=EndUserPageOut,
    summary="List end users, ordered by email: `q` is an email prefix, `after` the `next` of the previous page",
)
def list_end_users(request, org_id: uuid.UUID, q: str = "", after: str = ""):
    organization = _readable(request, org_id)
    page = selectors.end_user_page(request.auth, organization, query=q[:254], after=after[:254])
    return {"items": [end_user_out(u) for u in page.rows], "next": page.next_after}


@router.post(
    "/organizations/{org_id}/end-users",
    response={201: EndUserOut},
    summary="Invite an end user by email; the link to set a password goes only to their mailbox (7 days)",
)
def invite_end_user(request, org_id: uuid.UUID, body: EndUserInviteIn):
    organization = organization_for(request, org_id)
    user = services.end_user_invite(
        actor=request.auth,
        organization=organization,
        email=body.email,
        name=body.name,
        base_url=portal_base_url(request),
    )
    return Status(201, end_user_out(user))


@router.get("/organizations/{org_id}/end-users/{end_user_id}", response=EndUserOut, summary="Read an end user")
def read_end_user(request, org_id: uuid.UUID, end_user_id: uuid.UUID):
    return end_user_out(_end_user(request, org_id, end_user_id))


@router.post(
    "/organizations/{org_id}/end-users/{end_user_id}/disable",
    response=EndUserOut,
    summary="Disable an end user: sign-in refused, their sessions and tokens revoked",
)
def disable_end_user(request, org_id: uuid.UUID, end_user_id: uuid.UUID):
    return end_user_out(_end_user_act(request, org_id, end_user_id, services.end_user_disable))


@router.post(
    "/organizations/{org_id}/end-users/{end_user_id}/enable",
    response=EndUserOut,
    summary="Enable a disabled end user again",
)
def enable_end_user(request, org_id: uuid.UUID, end_user_id: uuid.UUID):
    return end_user_out(_end_user_act(request, org_id, end_user_id, services.end_user_enable))


@router.delete(
    "/organizations/{org_id}/end-users/{end_user_id}",
    response={204: None},
    summary="Delete an end user and everything they were issued",
)
def delete_end_user(request, org_id: uuid.UUID, end_user_id: uuid.UUID):
    _end_user_act(request, org_id, end_user_id, services.end_user_delete)
    return Status(204, None)


@router.post(
    "/organizations/{org_id}/end-users/{end_user_id}/resend-invitation",
    response=EndUserOut,
    summary="Mail a new invitation link (the previous link stops working)",
)
def resend_invitation(request, org_id: uuid.UUID, end_user_id: uuid.UUID):
    resend = services.end_user_resend_invitation
    return end_user_out(_end_user_act(request, org_id, end_user_id, resend, base_url=portal_base_url(request)))


@router.delete(
    "/organizations/{org_id}/end-users/{end_user_id}/invitation",
    response={204: None},
    summary="Revoke an open invitation (the account, which never had a password, is removed)",
)
def revoke_invitation(request, org_id: uuid.UUID, end_user_id: uuid.UUID):
    _end_user_act(request, org_id, end_user_id, services.end_user_revoke_invitation)
    return Status(204, None)


@router.post(
    "/organizations/{org_id}/end-users/{end_user_id}/sign-out-everywhere",
    response=SignOutOut,
    summary="End every session of the end user and revoke their tokens",
)
def sign_out_everywhere(request, org_id: uuid.UUID, end_user_id: uuid.UUID):
    user = _end_user(request, org_id, end_user_id)
    count = services.end_user_sign_out_everywhere(actor=request.auth, user=user)
    return {"id": user.pk, "tokens_revoked": count}
