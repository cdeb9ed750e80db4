"""The white-label billing service, over the same services and the same address parser as the web UI."""

from __future__ import annotations

import uuid

from django.urls import reverse
from ninja import Router, Schema, Status

from fleetadmin.api.scope import organization_act, organization_for
from fleetadmin.billing import branding, selectors, services

router = Router(tags=["Billing"])


class AddressIn(Schema):
    address: str  # "line1, line2 (optional), city, state, zipcode[, country]"


class StructuredAddressOut(Schema):
    line1: str
    line2: str
    city: str
    state: str
    zipcode: str
    country: str


class BillingConfigOut(Schema):
    organization_id: uuid.UUID
    enabled: bool
    address: str | None
    structured_address: StructuredAddressOut | None
    support_email: str | None
    logo_url: str | None
    billing_dashboard_url: str


def _config(request, organization) -> dict:
    """Exactly what the platform's `get-config` reports, plus the state and the structured address."""
    service = selectors.get_billing_service(organization)
    brand = branding.branding_for(organization)
    address = service.address
    return {
        "organization_id": organization.pk,
        "enabled": service.enabled,
        "address": address.one_line if address else None,
        "structured_address": address.as_dict() if address else None,
        "support_email": brand.support_email,
        "logo_url": request.build_absolute_uri(brand.logo_url) if brand.logo_url else None,
        "billing_dashboard_url": request.build_absolute_uri(
            reverse("billing_dashboard:dashboard", args=[organization.pk])
        ),
    }


@router.get("/organizations/{org_id}/billing-service", response=BillingConfigOut, summary="Billing configuration")
def get_config(request, org_id: uuid.UUID):
    return _config(request, organization_for(request, org_id, "billing.view"))


@router.post(
    "/organizations/{org_id}/billing-service/enable",
    response=BillingConfigOut,
    summary="Enable billing with its address",
)
def enable(request, org_id: uuid.UUID, body: AddressIn):
    return _config(request, organization_act(request, org_id, services.billing_service_enable, address=body.address))


@router.patch("/organizations/{org_id}/billing-service", response=BillingConfigOut, summary="Update the address")
def update(request, org_id: uuid.UUID, body: AddressIn):
    return _config(request, organization_act(request, org_id, services.billing_service_update, address=body.address))


@router.post(
    "/organizations/{org_id}/billing-service/disable",
    response=BillingConfigOut,
    summary="Disable billing (the address is kept)",
)
def disable(request, org_id: uuid.UUID):
    return _config(request, organization_act(request, org_id, services.billing_service_disable))


# ---- customers: an invitation that an owner of the invited organization answers --------------------


class InviteIn(Schema):
    customer_id: str  # the invited organization's id; nothing about it is disclosed before it answers


class SentInvitationOut(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID
    status: str
    created_at: str


class ReceivedInvitationOut(Schema):
    id: uuid.UUID
    billing_organization_id: uuid.UUID
    billing_organization_name: str
    invited_by: str
    status: str
    created_at: str


def _sent(invitation) -> dict:
    return {
        "id": invitation.pk,
        "customer_id": invitation.customer_organization_id,
        "status": invitation.status,
        "created_at": invitation.created_at.isoformat(),
    }


def _received(invitation) -> dict:
    return {
        "id": invitation.pk,
        "billing_organization_id": invitation.billing_organization_id,
        "billing_organization_name": invitation.billing_organization.name,
        "invited_by": invitation.invited_by_name,
        "status": invitation.status,
        "created_at": invitation.created_at.isoformat(),
    }


@router.post(
    "/organizations/{org_id}/billing-service/customer-invitations",
    response={201: SentInvitationOut},
    summary="Invite an organization to be billed (an owner of it accepts)",
)
def invite_customer(request, org_id: uuid.UUID, body: InviteIn):
    organization = organization_for(request, org_id)
    invitation = services.customer_invite(
        actor=request.auth, billing_organization=organization, customer_id=body.customer_id
    )
    return Status(201, _sent(invitation))


@router.get(
    "/organizations/{org_id}/billing-invitations",
    response=list[ReceivedInvitationOut],
    summary="Pending invitations to bill this organization (owners only)",
)
def list_received_invitations(request, org_id: uuid.UUID):
    organization = organization_for(request, org_id, "billing.manage")
    return [_received(invitation) for invitation in selectors.invitations_received(request.auth, organization)]


def _answer(request, org_id: uuid.UUID, invitation_id: uuid.UUID, *, accept: bool) -> dict:
    organization = organization_for(request, org_id, "billing.manage")
    invitation = selectors.get_received_invitation_for(request.auth, organization, invitation_id)
    answer = services.customer_invitation_accept if accept else services.customer_invitation_decline
    answer(actor=request.auth, organization=organization, invitation=invitation)
    invitation.refresh_from_db()
    return _received(invitation)


@router.post(
    "/organizations/{org_id}/billing-invitations/{invitation_id}/accept",
    response=ReceivedInvitationOut,
    summary="Accept being billed by the inviting organization",
)
def accept_invitation(request, org_id: uuid.UUID, invitation_id: uuid.UUID):
    return _answer(request, org_id, invitation_id, accept=True)


@router.post(
    "/organizations/{org_id}/billing-invitations/{invitation_id}/decline",
    response=ReceivedInvitationOut,
    summary="Decline being billed by the inviting organization",
)
def decline_invitation(request, org_id: uuid.UUID, invitation_id: uuid.UUID):
    return _answer(request, org_id, invitation_id, accept=False)
