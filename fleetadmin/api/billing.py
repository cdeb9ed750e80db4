"""The white-label billing service, over the same services and the same address parser as the web UI."""

from __future__ import annotations

import uuid

from django.urls import reverse
from ninja import Router, Schema

from fleetadmin.billing import branding, selectors, services
from fleetadmin.fleet import authz
from fleetadmin.fleet.selectors import get_organization_for

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
    organization = get_organization_for(request.auth, org_id)
    authz.require(request.auth, "billing.view", organization)
    return _config(request, organization)


@router.post(
    "/organizations/{org_id}/billing-service/enable",
    response=BillingConfigOut,
    summary="Enable billing with its address",
)
def enable(request, org_id: uuid.UUID, body: AddressIn):
    organization = get_organization_for(request.auth, org_id)
    services.billing_service_enable(actor=request.auth, organization=organization, address=body.address)
    return _config(request, organization)


@router.patch("/organizations/{org_id}/billing-service", response=BillingConfigOut, summary="Update the address")
def update(request, org_id: uuid.UUID, body: AddressIn):
    organization = get_organization_for(request.auth, org_id)
    services.billing_service_update(actor=request.auth, organization=organization, address=body.address)
    return _config(request, organization)


@router.post(
    "/organizations/{org_id}/billing-service/disable",
    response=BillingConfigOut,
    summary="Disable billing (the address is kept)",
)
def disable(request, org_id: uuid.UUID):
    organization = get_organization_for(request.auth, org_id)
    services.billing_service_disable(actor=request.auth, organization=organization)
    return _config(request, organization)
