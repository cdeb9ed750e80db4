"""White-label billing: an organization's billing service, its customers and the invoices it issues them.

Invoices are never deleted and never lose what they said: each one keeps a
snapshot of the issuer's name, address, support email and logo as they were
when it was issued, and the organizations on either side are PROTECTed.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from fleetadmin.billing.address import DEFAULT_COUNTRY, Address
from fleetadmin.billing.money import CURRENCY
from fleetadmin.fleet.models import Organization


class InvoicesAreKept(Exception):
    """Raised on any attempt to delete an invoice: void it instead."""


class BillingService(models.Model):
    """One row per organization, created when an owner first enables billing.

    Disabling flips ``enabled`` and keeps the address, so enabling again starts
    from it. ``next_invoice_number`` is the organization's invoice counter: a
    charge locks this row, takes the number and moves the counter on in the same
    transaction, so numbers have no gaps and no duplicates.
    """

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="billing_service"
    )
    enabled = models.BooleanField(default=False)
    line1 = models.CharField("address line 1", max_length=100, blank=True)
    line2 = models.CharField("address line 2", max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField("state or region", max_length=64, blank=True)
    zipcode = models.CharField("ZIP or postal code", max_length=12, blank=True)
    country = models.CharField(max_length=2, default=DEFAULT_COUNTRY)
    next_invoice_number = models.PositiveIntegerField(default=1)
    enabled_changed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(next_invoice_number__gte=1), name="billing_service_counter_positive"),
            models.CheckConstraint(
                condition=Q(enabled=False) | ~Q(line1=""), name="billing_service_enabled_has_address"
            ),
        ]

    def __str__(self) -> str:
        return f"Billing of {self.organization.name}"

    def get_absolute_url(self) -> str:
        return reverse("billing:service", args=[self.organization_id])

    @property
    def address(self) -> Address | None:
        if not self.line1:
            return None
        return Address(self.line1, self.line2, self.city, self.state, self.zipcode, self.country)

    def set_address(self, address: Address) -> None:
        for field, value in address.as_dict().items():
            setattr(self, field, value)


class Customer(models.Model):
    """An organization billed by another. An organization has at most one billing organization."""

    billing_organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="billing_customers")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    attached_at = models.DateTimeField()
    attached_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    attached_by_name = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["organization__name", "organization_id"]
        indexes = [models.Index(fields=["billing_organization", "organization"], name="billing_customer_of")]
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="billing_customer_one_billing_org"),
            models.CheckConstraint(
                condition=~Q(organization=F("billing_organization")), name="billing_customer_not_itself"
            ),
        ]

    def __str__(self) -> str:
        return self.organization.name


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Waiting for an answer"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    CANCELLED = "cancelled", "Cancelled"


class CustomerInvitation(models.Model):
    """A billing organization's request to bill another organization, until an owner of that one answers.

    The invited organization is held as a bare id, not a foreign key: an invitation to an id no
    organization has is stored and shown exactly like any other, so the biller learns nothing about
    the id it pasted (whether it exists, what it is called, whether someone bills it) until an owner
    of that organization accepts or declines.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    billing_organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="billing_invitations_sent"
    )
    customer_organization_id = models.UUIDField()
    status = models.CharField(max_length=9, choices=InvitationStatus.choices, default=InvitationStatus.PENDING)
    created_at = models.DateTimeField()
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    invited_by_name = models.CharField(max_length=255, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by_name = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["customer_organization_id", "status"], name="billing_invitation_received"),
            models.Index(fields=["billing_organization", "status"], name="billing_invitation_sent"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["billing_organization", "customer_organization_id"],
                condition=Q(status="pending"),
                name="billing_invitation_one_pending",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "accepted", "declined", "cancelled"]),
                name="billing_invitation_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Billing invitation {self.pk}"

    @property
    def is_pending(self) -> bool:
        return self.status == InvitationStatus.PENDING


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class BrandLogo(models.Model):
    """A logo as it was on an invoice, stored once per distinct image (content-addressed)."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    data = models.BinaryField(editable=False)
    width = models.PositiveSmallIntegerField(null=True, blank=True)
    height = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"logo {self.sha256[:12]}"


class InvoiceQuerySet(models.QuerySet):
    def delete(self):
        raise InvoicesAreKept("Invoices are never deleted; void an invoice instead.")


class Invoice(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    billing_organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="issued_invoices")
    customer = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="received_invoices")
    number = models.PositiveIntegerField()
    description = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default=CURRENCY, editable=False)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    tax = models.DecimalField(max_digits=12, decimal_places=2)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN)
    issued_at = models.DateTimeField()
    due_on = models.DateField()
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    # What the invoice said at issue time, whatever happens to either organization later.
    customer_name = models.CharField(max_length=100)
    issuer_name = models.CharField(max_length=100)
    issuer_address = models.JSONField(default=dict)
    issuer_support_email = models.CharField(max_length=254, blank=True)
    issuer_logo = models.ForeignKey(BrandLogo, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by_name = models.CharField(max_length=255, blank=True)
    # A charge form's one-time token: submitting the same form twice charges once.
    creation_token = models.CharField(max_length=64, null=True, blank=True, unique=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["billing_organization", "-number"]
        indexes = [
            models.Index(fields=["billing_organization", "-number"], name="billing_invoice_newest"),
            models.Index(fields=["billing_organization", "status", "-number"], name="billing_invoice_status"),
            models.Index(fields=["customer", "billing_organization", "-number"], name="billing_invoice_customer"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["billing_organization", "number"], name="billing_invoice_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="billing_invoice_number_positive"),
            models.CheckConstraint(condition=Q(subtotal__gt=0), name="billing_invoice_subtotal_positive"),
            models.CheckConstraint(condition=Q(tax__gte=0), name="billing_invoice_tax_not_negative"),
            models.CheckConstraint(condition=Q(status__in=InvoiceStatus.values), name="billing_invoice_status_valid"),
            models.CheckConstraint(
                condition=Q(status=InvoiceStatus.PAID, paid_at__isnull=False)
                | (~Q(status=InvoiceStatus.PAID) & Q(paid_at__isnull=True)),
                name="billing_invoice_paid_has_date",
            ),
            models.CheckConstraint(
                condition=Q(status=InvoiceStatus.VOID, voided_at__isnull=False)
                | (~Q(status=InvoiceStatus.VOID) & Q(voided_at__isnull=True)),
                name="billing_invoice_void_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(customer=F("billing_organization")), name="billing_invoice_not_to_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_number} to {self.customer_name}"

    def get_absolute_url(self) -> str:
        return reverse("billing:invoice", args=[self.billing_organization_id, self.pk])

    def delete(self, *args, **kwargs):
        raise InvoicesAreKept("Invoices are never deleted; void an invoice instead.")

    @property
    def display_number(self) -> str:
        return f"INV-{self.number:05d}"

    @property
    def issuer_address_lines(self) -> list[str]:
        try:
            return Address(**self.issuer_address).lines
        except TypeError:
            return []

    @property
    def is_open(self) -> bool:
        return self.status == InvoiceStatus.OPEN
