"""The only writers of billing: the service, its customers and its invoices.

Each change checks ``billing.manage`` on the billing organization, validates its
input with the same rules the web form shows (``address``, ``money``), and
records one audit event in the billing organization's log, in its transaction.
A call that changes nothing records nothing.

Addresses may be given as an :class:`Address` or as the one-line form (the API
and the CLI pass what the user typed); either way they go through
``fleetadmin.billing.address``. Amounts may be strings, Decimals or ints, never
floats.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from fleetadmin import audit, clock
from fleetadmin.audit.services import diff
from fleetadmin.billing import address as addresses
from fleetadmin.billing import branding
from fleetadmin.billing.address import Address, AddressError, AddressErrors
from fleetadmin.billing.models import (
    BillingService,
    BrandLogo,
    Customer,
    CustomerInvitation,
    InvitationStatus,
    Invoice,
    InvoiceStatus,
)
from fleetadmin.billing.money import AmountError, parse_amount
from fleetadmin.core.errors import DuplicateSubmission
from fleetadmin.fleet import authz
from fleetadmin.fleet.models import Organization

PAYMENT_TERMS = timedelta(days=30)
ADDRESS_FIELDS = addresses.PARTS  # the BillingService columns that hold the address
DESCRIPTION_MAX_LENGTH = 200


# ---- input -----------------------------------------------------------------------------------------


def clean_address(value: Address | str) -> Address:
    """An Address from an Address (re-checked) or from the one-line form; ValidationError on ``address``."""
    try:
        if isinstance(value, Address):
            return addresses.build_address(**value.as_dict())
        return addresses.parse_address(value)
    except AddressError as error:
        raise ValidationError({"address": str(error)}) from None
    except AddressErrors as errors:
        raise ValidationError({"address": [str(error) for error in errors.errors]}) from None


def clean_description(value: str) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise ValidationError({"description": "is empty; say what the charge is for."})
    if len(text) > DESCRIPTION_MAX_LENGTH:
        raise ValidationError({"description": f"is {len(text)} characters long; at most {DESCRIPTION_MAX_LENGTH}."})
    return text


def _user_or_none(actor):
    return actor if isinstance(actor, get_user_model()) else None


def _amount(value, *, field: str, allow_zero: bool) -> Decimal:
    try:
        return parse_amount(value, field=field, allow_zero=allow_zero)
    except AmountError as error:
        raise ValidationError({field: error.problem}) from None


# ---- the billing service ---------------------------------------------------------------------------


def _locked_service(organization: Organization) -> BillingService:
    """The organization's billing row, created on first change, locked for this transaction."""
    BillingService.objects.get_or_create(organization=organization)
    service = BillingService.objects.select_for_update().get(organization=organization)
    service.organization = organization
    return service


def _state(service: BillingService) -> dict[str, Any]:
    address = service.address
    return {"enabled": service.enabled, "address": address.as_dict() if address else None}


def _save(service: BillingService, *fields: str) -> None:
    service.updated_at = clock.now()
    service.save(update_fields=[*fields, "updated_at"])


@transaction.atomic
def billing_service_enable(*, actor, organization: Organization, address: Address | str) -> BillingService:
    """Turn billing on with its billing address (required). A kept address is replaced by the one given."""
    authz.require(actor, "billing.manage", organization)
    address = clean_address(address)
    service = _locked_service(organization)
    if service.enabled:
        raise ValidationError(f"Billing is already enabled for {organization.name}; update its address instead.")
    before = _state(service)
    service.enabled = True
    service.enabled_changed_at = clock.now()
    service.set_address(address)
    _save(service, "enabled", "enabled_changed_at", *ADDRESS_FIELDS)
    audit.record(
        actor=actor,
        action="billing.service.enable",
        organization=organization,
        target=service,
        changes=diff(before, _state(service)),
    )
    return service


@transaction.atomic
def billing_service_update(*, actor, organization: Organization, address: Address | str) -> BillingService:
    """Change the billing address of an enabled service. The same address again changes nothing."""
    authz.require(actor, "billing.manage", organization)
    address = clean_address(address)
    service = _locked_service(organization)
    if not service.enabled:
        raise ValidationError(f"Billing is not enabled for {organization.name}; enable it with this address instead.")
    if service.address == address:
        return service
    before = _state(service)
    service.set_address(address)
    _save(service, *ADDRESS_FIELDS)
    audit.record(
        actor=actor,
        action="billing.service.update",
        organization=organization,
        target=service,
        changes=diff(before, _state(service)),
    )
    return service


@transaction.atomic
def billing_service_disable(*, actor, organization: Organization) -> BillingService:
    """Stop charging. The address, the customers and every invoice are kept; enabling again restores them."""
    authz.require(actor, "billing.manage", organization)
    service = _locked_service(organization)
    if not service.enabled:
        return service
    before = _state(service)
    service.enabled = False
    service.enabled_changed_at = clock.now()
    _save(service, "enabled", "enabled_changed_at")
    audit.record(
        actor=actor,
        action="billing.service.disable",
        organization=organization,
        target=service,
        changes=diff(before, _state(service)),
    )
    return service


# ---- customers -------------------------------------------------------------------------------------


def _customer_facts(customer: Customer) -> dict[str, Any]:
    return {"customer": customer.organization.name, "customer_id": str(customer.organization_id)}


def _parse_organization_id(value: uuid.UUID | str) -> uuid.UUID:
    text = str(value).strip()
    try:
        return uuid.UUID(text)
    except ValueError:
        shown = text if len(text) <= 60 else text[:59] + "…"
        raise ValidationError(
            {"customer_id": f"'{shown}' is not an organization ID; paste the customer organization's UUID."}
        ) from None


def _lock_organizations(*organization_ids: uuid.UUID) -> None:
    """Lock the organizations' rows (their audit chains) in one order, so two writers never deadlock."""
    list(Organization.objects.select_for_update().filter(pk__in=organization_ids).order_by("pk").values_list("pk"))


def _attach(*, billing_organization: Organization, customer_org: Organization, attached_by) -> Customer:
    existing = Customer.objects.filter(organization=customer_org).select_related("billing_organization").first()
    if existing is not None:
        if existing.billing_organization_id == billing_organization.pk:
            raise ValidationError({"customer_id": f"{customer_org.name} is already a customer."})
        raise ValidationError(
            {"customer_id": f"{customer_org.name} already has a billing organization; an organization has at most one."}
        )
    try:
        with transaction.atomic():
            return Customer.objects.create(
                billing_organization=billing_organization,
                organization=customer_org,
                attached_at=clock.now(),
                attached_by=_user_or_none(attached_by),
                attached_by_name=attached_by.audit_identity().name[:255] if attached_by else "",
            )
    except IntegrityError:  # attached elsewhere between the check and the insert
        raise ValidationError(
            {"customer_id": f"{customer_org.name} already has a billing organization; an organization has at most one."}
        ) from None


@transaction.atomic
def customer_attach(*, actor, billing_organization: Organization, customer_id: uuid.UUID | str) -> Customer:
    """Attach an organization the actor manages billing of on *both* sides (or the system): consent is implied.

    Everyone else invites (``customer_invite``), and an owner of the customer organization accepts.
    Whether an id the actor cannot manage belongs to an organization is never said.
    """
    authz.require(actor, "billing.manage", billing_organization)
    service = _locked_service(billing_organization)
    if not service.enabled:
        raise ValidationError(f"Enable billing for {billing_organization.name} before attaching customers.")
    wanted = _parse_organization_id(customer_id)
    if wanted == billing_organization.pk:
        raise ValidationError({"customer_id": "An organization cannot be its own customer."})
    customer_org = Organization.objects.filter(pk=wanted).first()
    if customer_org is None or not authz.can(actor, "billing.manage", customer_org):
        raise ValidationError(
            {
                "customer_id": "You can attach directly only an organization you own; "
                "invite it instead, and one of its owners accepts."
            }
        )
    _lock_organizations(billing_organization.pk, customer_org.pk)
    customer = _attach(billing_organization=billing_organization, customer_org=customer_org, attached_by=actor)
    audit.record(
        actor=actor,
        action="billing.customer.attach",
        organization=billing_organization,
        target=customer,
        changes={"after": _customer_facts(customer)},
    )
    return customer


# ---- invitations: billing a stranger needs its consent ---------------------------------------------


def _invitation_facts(invitation: CustomerInvitation) -> dict[str, Any]:
    """What the biller's log says: only the id it pasted, never what the id belongs to."""
    return {"customer_id": str(invitation.customer_organization_id), "status": invitation.status}


def _received_facts(invitation: CustomerInvitation) -> dict[str, Any]:
    """What the invited organization's log says: who wants to bill it."""
    return {
        "billing_organization": invitation.billing_organization.name,
        "billing_organization_id": str(invitation.billing_organization_id),
        "status": invitation.status,
    }


@transaction.atomic
def customer_invite(*, actor, billing_organization: Organization, customer_id: uuid.UUID | str) -> CustomerInvitation:
    """Ask the organization with this id to become a customer; its owners accept or decline.

    The answer is the same whether or not an organization has the id, is already billed, or is
    called anything: an invitation is stored and the biller sees it waiting. Audited in the
    biller's log and, if the organization exists, in the invited organization's log.
    """
    authz.require(actor, "billing.manage", billing_organization)
    service = _locked_service(billing_organization)
    if not service.enabled:
        raise ValidationError(f"Enable billing for {billing_organization.name} before inviting customers.")
    wanted = _parse_organization_id(customer_id)
    if wanted == billing_organization.pk:
        raise ValidationError({"customer_id": "An organization cannot be its own customer."})
    if Customer.objects.filter(billing_organization=billing_organization, organization_id=wanted).exists():
        raise ValidationError({"customer_id": "This organization is already a customer."})
    if CustomerInvitation.objects.filter(
        billing_organization=billing_organization, customer_organization_id=wanted, status=InvitationStatus.PENDING
    ).exists():
        raise ValidationError({"customer_id": f"{wanted} is already invited; the invitation waits for an answer."})
    customer_org = Organization.objects.filter(pk=wanted).first()
    _lock_organizations(billing_organization.pk, *([customer_org.pk] if customer_org else []))
    invitation = CustomerInvitation.objects.create(
        billing_organization=billing_organization,
        customer_organization_id=wanted,
        created_at=clock.now(),
        invited_by=_user_or_none(actor),
        invited_by_name=actor.audit_identity().name[:255],
    )
    _record_both_sides(
        actor=actor,
        invitation=invitation,
        customer_org=customer_org,
        biller_action="billing.customer.invite",
        customer_action="billing.invitation.receive",
    )
    return invitation


def _record_both_sides(
    *,
    actor,
    invitation: CustomerInvitation,
    customer_org: Organization | None,
    biller_action: str,
    customer_action: str,
) -> None:
    """One invitation event in each log: the biller's says only the id it pasted, the invited organization's (when
    an organization has that id) says who asked."""
    audit.record(
        actor=actor,
        action=biller_action,
        organization=invitation.billing_organization,
        target=invitation,
        changes={"after": _invitation_facts(invitation)},
    )
    if customer_org is not None:
        audit.record(
            actor=actor,
            action=customer_action,
            organization=customer_org,
            target=invitation,
            changes={"after": _received_facts(invitation)},
        )


def _locked_invitation(invitation: CustomerInvitation) -> CustomerInvitation:
    locked = (
        CustomerInvitation.objects.select_for_update(of=("self",))
        .select_related("billing_organization")
        .get(pk=invitation.pk)
    )
    if not locked.is_pending:
        raise ValidationError(f"This invitation was already answered ({locked.get_status_display().lower()}).")
    return locked


def _answer(*, actor, invitation: CustomerInvitation, status: str) -> None:
    invitation.status = status
    invitation.decided_at = clock.now()
    invitation.decided_by_name = actor.audit_identity().name[:255]
    invitation.save(update_fields=["status", "decided_at", "decided_by_name"])


@transaction.atomic
def customer_invitation_accept(*, actor, organization: Organization, invitation: CustomerInvitation) -> Customer:
    """An owner of the invited organization agrees to be billed: it becomes a customer, logged on both sides."""
    authz.require(actor, "billing.manage", organization)
    if invitation.customer_organization_id != organization.pk:
        raise ValidationError("This invitation is for another organization.")
    _lock_organizations(invitation.billing_organization_id, organization.pk)
    invitation = _locked_invitation(invitation)
    billing_organization = invitation.billing_organization
    try:
        customer = _attach(
            billing_organization=billing_organization, customer_org=organization, attached_by=invitation.invited_by
        )
    except ValidationError:
        current = Customer.objects.filter(organization=organization).select_related("billing_organization").first()
        biller = current.billing_organization.name if current else "another organization"
        raise ValidationError(
            f"{organization.name} is already billed by {biller}; an organization has at most one billing "
            "organization. Ask it to detach you first, then accept."
        ) from None
    _answer(actor=actor, invitation=invitation, status=InvitationStatus.ACCEPTED)
    # The biller's side of an acceptance is the attachment itself: its event names the invitation.
    audit.record(
        actor=actor,
        action="billing.customer.attach",
        organization=billing_organization,
        target=customer,
        changes={"after": {**_customer_facts(customer), "invitation": str(invitation.pk)}},
    )
    audit.record(
        actor=actor,
        action="billing.invitation.accept",
        organization=organization,
        target=invitation,
        changes={"after": _received_facts(invitation)},
    )
    return customer


@transaction.atomic
def customer_invitation_decline(*, actor, organization: Organization, invitation: CustomerInvitation) -> None:
    """An owner of the invited organization refuses; the biller sees "declined", logged on both sides."""
    authz.require(actor, "billing.manage", organization)
    if invitation.customer_organization_id != organization.pk:
        raise ValidationError("This invitation is for another organization.")
    _lock_organizations(invitation.billing_organization_id, organization.pk)
    invitation = _locked_invitation(invitation)
    _answer(actor=actor, invitation=invitation, status=InvitationStatus.DECLINED)
    _record_both_sides(
        actor=actor,
        invitation=invitation,
        customer_org=organization,
        biller_action="billing.customer.invitation_decline",
        customer_action="billing.invitation.decline",
    )


@transaction.atomic
def customer_invitation_cancel(*, actor, invitation: CustomerInvitation) -> None:
    """The biller withdraws a pending invitation, logged on both sides."""
    billing_organization = invitation.billing_organization
    authz.require(actor, "billing.manage", billing_organization)
    customer_org = Organization.objects.filter(pk=invitation.customer_organization_id).first()
    _lock_organizations(billing_organization.pk, *([customer_org.pk] if customer_org else []))
    invitation = _locked_invitation(invitation)
    _answer(actor=actor, invitation=invitation, status=InvitationStatus.CANCELLED)
    _record_both_sides(
        actor=actor,
        invitation=invitation,
        customer_org=customer_org,
        biller_action="billing.customer.invitation_cancel",
        customer_action="billing.invitation.cancel",
    )


@transaction.atomic
def customer_detach(*, actor, customer: Customer) -> None:
    """Stop billing a customer. Its invoices stay, open ones included, and it still sees them."""
    billing_organization = customer.billing_organization
    authz.require(actor, "billing.manage", billing_organization)
    audit.record(
        actor=actor,
        action="billing.customer.detach",
        organization=billing_organization,
        target=customer,
        changes={"before": _customer_facts(customer)},
    )
    customer.delete()


# ---- invoices --------------------------------------------------------------------------------------


def _logo_snapshot(organization: Organization, brand: branding.Branding) -> BrandLogo | None:
    if not brand.has_logo:
        return None
    existing = BrandLogo.objects.filter(sha256=brand.logo_sha256).first()
    if existing is not None:
        return existing
    image = branding.logo_image(organization, brand)
    if image is None:
        return None
    logo, _ = BrandLogo.objects.get_or_create(
        sha256=image.sha256,
        defaults={"data": image.data, "width": image.width, "height": image.height, "created_at": clock.now()},
    )
    return logo


def _invoice_facts(invoice: Invoice) -> dict[str, Any]:
    return {
        "number": invoice.display_number,
        "customer": invoice.customer_name,
        "customer_id": str(invoice.customer_id),
        "description": invoice.description,
        "subtotal": str(invoice.subtotal),
        "tax": str(invoice.tax),
        "total": str(invoice.total),
        "currency": invoice.currency,
        "status": invoice.status,
        "due_on": invoice.due_on.isoformat(),
    }


@transaction.atomic
def invoice_create(
    *,
    actor,
    billing_organization: Organization,
    customer: Organization,
    description: str,
    subtotal: str | Decimal | int,
    tax: str | Decimal | int,
    creation_token: str | None = None,
) -> Invoice:
    """Charge a customer: the next invoice number, the issuer's brand and address as they are now, open, due in 30 days.

    The billing row is locked first, so concurrent charges take consecutive numbers in turn.
    """
    authz.require(actor, "billing.manage", billing_organization)
    description = clean_description(description)
    errors: dict[str, str] = {}
    amounts: dict[str, Decimal] = {}
    for field, value, allow_zero in (("subtotal", subtotal, False), ("tax", tax, True)):
        try:
            amounts[field] = _amount(value, field=field, allow_zero=allow_zero)
        except ValidationError as error:
            errors.update({k: v[0] for k, v in error.message_dict.items()})
    if errors:
        raise ValidationError(errors)

    service = BillingService.objects.select_for_update().filter(organization=billing_organization).first()
    if service is None or not service.enabled:
        raise ValidationError(f"Billing is not enabled for {billing_organization.name}; enable it to charge customers.")
    if creation_token:
        earlier = Invoice.objects.filter(creation_token=creation_token).first()
        if earlier is not None:
            raise DuplicateSubmission(earlier, f"invoice {earlier.display_number}")
    if not Customer.objects.filter(billing_organization=billing_organization, organization=customer).exists():
        raise ValidationError({"customer": f"{customer.name} is not a customer of {billing_organization.name}."})

    brand = branding.branding_for(billing_organization)
    now = clock.now()
    number = service.next_invoice_number
    service.next_invoice_number = number + 1
    service.save(update_fields=["next_invoice_number"])
    invoice = Invoice.objects.create(
        billing_organization=billing_organization,
        customer=customer,
        number=number,
        description=description,
        subtotal=amounts["subtotal"],
        tax=amounts["tax"],
        total=amounts["subtotal"] + amounts["tax"],
        status=InvoiceStatus.OPEN,
        issued_at=now,
        due_on=(now + PAYMENT_TERMS).date(),
        customer_name=customer.name,
        issuer_name=billing_organization.name,
        issuer_address=service.address.as_dict() if service.address else {},
        issuer_support_email=brand.support_email or "",
        issuer_logo=_logo_snapshot(billing_organization, brand),
        created_by=_user_or_none(actor),
        created_by_name=actor.audit_identity().name[:255],
        creation_token=creation_token or None,
    )
    audit.record(
        actor=actor,
        action="billing.invoice.create",
        organization=billing_organization,
        target=invoice,
        changes={"after": _invoice_facts(invoice)},
    )
    return invoice


def _locked_invoice(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update(of=("self",)).select_related("billing_organization").get(pk=invoice.pk)


def _status_state(invoice: Invoice) -> dict[str, Any]:
    return {
        "status": invoice.status,
        "paid_at": invoice.paid_at.isoformat() if invoice.paid_at else None,
        "voided_at": invoice.voided_at.isoformat() if invoice.voided_at else None,
    }


def _settle(*, actor, invoice: Invoice, status: str, stamp: str, action: str, refusals: dict[str, str]) -> Invoice:
    """Move an open invoice to ``status`` (stamping ``stamp``), refusing the states in ``refusals``."""
    authz.require(actor, "billing.manage", invoice.billing_organization)
    locked = _locked_invoice(invoice)
    if locked.status in refusals:
        raise ValidationError(refusals[locked.status].format(invoice=locked))
    before = _status_state(locked)
    locked.status = status
    setattr(locked, stamp, clock.now())
    locked.save(update_fields=["status", stamp])
    audit.record(
        actor=actor,
        action=action,
        organization=locked.billing_organization,
        target=locked,
        changes=diff(before, _status_state(locked)),
    )
    return locked


@transaction.atomic
def invoice_mark_paid(*, actor, invoice: Invoice) -> Invoice:
    """Record that an open invoice was paid. Paid and void invoices are refused, with the reason."""
    return _settle(
        actor=actor,
        invoice=invoice,
        status=InvoiceStatus.PAID,
        stamp="paid_at",
        action="billing.invoice.pay",
        refusals={
            InvoiceStatus.PAID: "{invoice.display_number} is already paid (on {invoice.paid_at:%Y-%m-%d}).",
            InvoiceStatus.VOID: "{invoice.display_number} is void; a void invoice cannot be paid.",
        },
    )


@transaction.atomic
def invoice_void(*, actor, invoice: Invoice) -> Invoice:
    """Cancel an open invoice. It stays on record, marked void; a paid invoice cannot be voided."""
    return _settle(
        actor=actor,
        invoice=invoice,
        status=InvoiceStatus.VOID,
        stamp="voided_at",
        action="billing.invoice.void",
        refusals={
            InvoiceStatus.VOID: "{invoice.display_number} is already void.",
            InvoiceStatus.PAID: "{invoice.display_number} is paid; a paid invoice cannot be voided.",
        },
    )
