"""Reads of billing, scoped to what the actor may see.

Two audiences: the billing organization's members (``billing.view``) on the
portal's billing pages, and its customers' owners and operators on the
white-label dashboard, who see the invoices of their own organizations and
nothing else. Anyone else gets a 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from fleetadmin.audit.query import AuditFilters
from fleetadmin.audit.timeline import Timeline, object_timeline, timeline
from fleetadmin.billing.labels import billing_event
from fleetadmin.billing.models import (
    BillingService,
    BrandLogo,
    Customer,
    CustomerInvitation,
    InvitationStatus,
    Invoice,
    InvoiceStatus,
)
from fleetadmin.fleet import authz
from fleetadmin.fleet import selectors as fleet_selectors
from fleetadmin.fleet.models import Organization

PAGE_SIZE = 50
RECENT_INVOICES = 8
# Every action the billing services record (all under "billing."): the billing page's history lists them
# through the (organization, action, id) index; its "Full history" link says the same as "action:billing.".
BILLING_ACTIONS = (
    "billing.service.enable",
    "billing.service.update",
    "billing.service.disable",
    "billing.customer.attach",
    "billing.customer.detach",
    "billing.customer.invite",
    "billing.customer.invitation_decline",
    "billing.customer.invitation_declined",  # the name before 2026-12
    "billing.customer.invitation_cancel",
    "billing.invitation.receive",
    "billing.invitation.accept",
    "billing.invitation.decline",
    "billing.invitation.cancel",
    "billing.invoice.create",
    "billing.invoice.pay",
    "billing.invoice.void",
)


def get_billing_service(organization: Organization) -> BillingService:
    """The organization's billing service; an unsaved, disabled one if billing was never enabled."""
    service = BillingService.objects.filter(organization=organization).first()
    if service is None:
        service = BillingService(organization=organization)
    service.organization = organization
    return service


def customers_of(organization: Organization) -> QuerySet[Customer]:
    """The organization's customers, each with its count of open invoices, by name."""
    return (
        Customer.objects.filter(billing_organization=organization)
        .select_related("organization")
        .annotate(
            open_invoices=Count(
                "organization__received_invoices",
                filter=Q(
                    organization__received_invoices__billing_organization=organization,
                    organization__received_invoices__status=InvoiceStatus.OPEN,
                ),
            )
        )
        .order_by("organization__name", "organization_id")
    )


def get_customer_for(actor, organization: Organization, customer_org_id) -> Customer:
    """A customer of the organization by the customer organization's id; 404 otherwise."""
    if not authz.can(actor, "billing.view", organization):
        raise Http404("No such customer.")
    try:
        return Customer.objects.select_related("organization", "billing_organization").get(
            billing_organization=organization, organization_id=customer_org_id
        )
    except (Customer.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("No such customer.") from None


INVITATIONS_SHOWN = 20


def invitations_sent(organization: Organization) -> list[CustomerInvitation]:
    """The biller's invitations still waiting, then the declined ones: each shows only the id it pasted."""
    return list(
        CustomerInvitation.objects.filter(
            billing_organization=organization, status__in=[InvitationStatus.PENDING, InvitationStatus.DECLINED]
        ).order_by("status", "-created_at")[:INVITATIONS_SHOWN]
    )


def invitations_received(actor, organization: Organization) -> list[CustomerInvitation]:
    """Pending invitations to bill the organization, for those who may answer them (its owners)."""
    if not authz.can(actor, "billing.manage", organization):
        return []
    return list(
        CustomerInvitation.objects.filter(customer_organization_id=organization.pk, status=InvitationStatus.PENDING)
        .select_related("billing_organization")
        .order_by("-created_at")[:INVITATIONS_SHOWN]
    )


def get_sent_invitation_for(actor, organization: Organization, invitation_id) -> CustomerInvitation:
    if not authz.can(actor, "billing.view", organization):
        raise Http404("No such invitation.")
    try:
        return CustomerInvitation.objects.select_related("billing_organization").get(
            billing_organization=organization, pk=invitation_id
        )
    except (CustomerInvitation.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("No such invitation.") from None


def get_received_invitation_for(actor, organization: Organization, invitation_id) -> CustomerInvitation:
    if not authz.can(actor, "billing.view", organization):
        raise Http404("No such invitation.")
    try:
        return CustomerInvitation.objects.select_related("billing_organization").get(
            customer_organization_id=organization.pk, pk=invitation_id
        )
    except (CustomerInvitation.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("No such invitation.") from None


def visible_invoices(actor, organization: Organization) -> QuerySet[Invoice]:
    """The invoices the organization issued, if the actor may read its billing."""
    if not authz.can(actor, "billing.view", organization):
        return Invoice.objects.none()
    return Invoice.objects.filter(billing_organization=organization)


def open_invoice_count(actor, organization: Organization, *, customer: Organization | None = None) -> int:
    """How many of the organization's invoices (to one customer, if given) are open, as far as the actor may see."""
    invoices = visible_invoices(actor, organization).filter(status=InvoiceStatus.OPEN)
    return (invoices.filter(customer=customer) if customer is not None else invoices).count()


def get_invoice_for(actor, organization: Organization, invoice_id) -> Invoice:
    try:
        invoice = (
            visible_invoices(actor, organization)
            .select_related("customer", "issuer_logo")
            .defer("issuer_logo__data")
            .get(pk=invoice_id)
        )
    except (Invoice.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("No such invoice.") from None
    invoice.billing_organization = organization
    return invoice


@dataclass
class InvoicePage:
    invoices: list[Invoice]
    next_before: int | None


def invoice_page(
    actor, organization: Organization, *, status: str = "", before: int | None = None, size: int | None = None
) -> InvoicePage:
    """Newest first, keyset-paginated on the invoice number (no OFFSET, no COUNT)."""
    size = size or PAGE_SIZE
    invoices = visible_invoices(actor, organization).select_related("customer")
    if status in InvoiceStatus.values:
        invoices = invoices.filter(status=status)
    if before is not None:
        invoices = invoices.filter(number__lt=before)
    rows = list(invoices.order_by("-number")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return InvoicePage(invoices=rows, next_before=rows[-1].number if more else None)


def billing_timeline(actor, organization: Organization) -> Timeline:
    """The newest billing events of the organization (every action under ``billing.``: the service, its
    customers, invitations both ways, invoices), and the audit log filtered to them."""
    return timeline(
        organization,
        AuditFilters(action="billing."),
        links=authz.can(actor, "audit.view_log", organization),
        describe=billing_event,
        actions=BILLING_ACTIONS,
    )


def invoice_timeline(actor, organization: Organization, invoice: Invoice) -> Timeline:
    """The invoice's own events (in the log of the organization that issued it), told as billing sentences."""
    return object_timeline(
        organization, invoice, links=authz.can(actor, "audit.view_log", organization), describe=billing_event
    )


# ---- the customer-facing dashboard -----------------------------------------------------------------


@dataclass
class Dashboard:
    """What one signed-in user may see of one billing organization's invoices."""

    issuer: Organization
    customers: list[Organization] = field(default_factory=list)  # the user's organizations billed by the issuer
    as_issuer: bool = False  # the user reads the issuer's billing: every customer's invoices

    @property
    def invoices(self) -> QuerySet[Invoice]:
        invoices = Invoice.objects.filter(billing_organization=self.issuer)
        if not self.as_issuer:
            invoices = invoices.filter(customer__in=[org.pk for org in self.customers])
        return invoices


def get_dashboard_for(actor, billing_organization_id) -> Dashboard:
    """The dashboard of a billing organization for this user, or 404.

    A user sees the invoices of each of their organizations where they may read billing
    (owners and operators) and that the issuer bills now or has invoiced before; the
    issuer's own owners and operators see every invoice it issued.
    """
    try:
        issuer = Organization.objects.get(pk=billing_organization_id)
    except (Organization.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("No such billing dashboard.") from None
    # An organization that never enabled billing has no dashboard, not even for its own members.
    as_issuer = authz.can(actor, "billing.view", issuer) and BillingService.objects.filter(organization=issuer).exists()
    mine = [
        org
        for org in fleet_selectors.visible_organizations(actor).exclude(pk=issuer.pk).order_by("name", "id")
        if authz.can(actor, "billing.view", org)
    ]
    mine_ids = [org.pk for org in mine]
    billed = set(
        Customer.objects.filter(billing_organization=issuer, organization__in=mine_ids).values_list(
            "organization_id", flat=True
        )
    )
    billed |= set(
        Invoice.objects.filter(billing_organization=issuer, customer__in=mine_ids)
        .values_list("customer_id", flat=True)
        .distinct()
    )
    customers = [org for org in mine if org.pk in billed]
    if not customers and not as_issuer:
        raise Http404("No such billing dashboard.")
    return Dashboard(issuer=issuer, customers=customers, as_issuer=as_issuer)


def dashboard_page(dashboard: Dashboard, *, before: int | None = None, size: int | None = None) -> InvoicePage:
    """The dashboard's invoices, newest first, keyset-paginated on the issuer's invoice number."""
    size = size or PAGE_SIZE
    invoices = dashboard.invoices.select_related("customer")
    if before is not None:
        invoices = invoices.filter(number__lt=before)
    rows = list(invoices.order_by("-number")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return InvoicePage(invoices=rows, next_before=rows[-1].number if more else None)


def get_dashboard_invoice(dashboard: Dashboard, invoice_id) -> Invoice:
    try:
        invoice = (
            dashboard.invoices.select_related("customer", "issuer_logo").defer("issuer_logo__data").get(pk=invoice_id)
        )
    except (Invoice.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("No such invoice.") from None
    invoice.billing_organization = dashboard.issuer
    return invoice


def invoice_logo_data(invoice: Invoice) -> bytes | None:
    """The bytes of the logo snapshot an invoice was issued with, or None."""
    if not invoice.issuer_logo_id:
        return None
    data = BrandLogo.objects.filter(pk=invoice.issuer_logo_id).values_list("data", flat=True).first()
    return bytes(data) if data is not None else None
