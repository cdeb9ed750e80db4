"""Helpers for the billing tests: a billing organization with customers, and the auth service's brand."""

from __future__ import annotations

import hashlib
import io
from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from PIL import Image

from fleetadmin.audit.models import AuditEvent, PrunePermit
from fleetadmin.billing import services
from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet.models import Role
from fleetadmin.oauth import services as oauth_services
from tests.factories import MembershipFactory, OrganizationFactory

SEED_ADDRESS = "123 Main St, Springfield, IL, 62704"
HTMX = {"HTTP_HX_REQUEST": "true"}


def png(width: int = 48, height: int = 32, color=(200, 40, 90, 255)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


class Brand:
    """The billing organization's brand, set through the auth service's own services (as an owner would)."""

    def __init__(self, organization, *, support_email: str = "", logo: bytes | None = None):
        self.organization = organization
        self.set(support_email=support_email, logo=logo)

    def set(self, *, support_email: str = "", logo: bytes | None = None) -> None:
        if support_email:
            oauth_services.support_email_set(actor=SYSTEM, organization=self.organization, email=support_email)
        if logo:
            oauth_services.logo_set(actor=SYSTEM, organization=self.organization, data=logo)
        else:
            oauth_services.logo_remove(actor=SYSTEM, organization=self.organization)
        self.support_email = support_email
        self.logo = logo
        self.sha256 = hashlib.sha256(logo).hexdigest() if logo else ""


@pytest.fixture
def brand(fleet) -> Brand:
    return Brand(fleet.org, support_email="billing-help@acme.test", logo=png())


@pytest.fixture
def no_brand(fleet) -> None:
    """The billing organization has set neither a logo nor a support email."""


@pytest.fixture
def billing(fleet):
    """Acme Robotics bills two customers; each customer has an owner and an operator."""
    services.billing_service_enable(actor=SYSTEM, organization=fleet.org, address=SEED_ADDRESS)
    initech = OrganizationFactory(name="Initech")
    umbrella = OrganizationFactory(name="Umbrella Corp")
    customers = {}
    for org in (initech, umbrella):
        customers[org.pk] = services.customer_attach(actor=SYSTEM, billing_organization=fleet.org, customer_id=org.pk)
    return SimpleNamespace(
        org=fleet.org,
        owner=fleet.owner,
        operator=fleet.operator,
        location_owner=fleet.location_owner,
        outsider=fleet.outsider,
        initech=initech,
        umbrella=umbrella,
        initech_owner=MembershipFactory(organization=initech, role=Role.ORGANIZATION_OWNER).user,
        initech_operator=MembershipFactory(organization=initech, role=Role.ORGANIZATION_OPERATOR).user,
        umbrella_owner=MembershipFactory(organization=umbrella, role=Role.ORGANIZATION_OWNER).user,
        customers=customers,
    )


def charge(billing, customer=None, *, subtotal="100.00", tax="8.25", description="Fleet support, March"):
    return services.invoice_create(
        actor=billing.owner,
        billing_organization=billing.org,
        customer=customer or billing.initech,
        description=description,
        subtotal=subtotal,
        tax=tax,
    )


@pytest.fixture
def flushable_audit(transactional_db):
    """For transaction=True tests: let the end-of-test flush clear the audit events they committed.

    On SQLite the flush DELETEs every table, and the append-only trigger refuses to delete audit
    events unless audit_prunepermit holds a row. The flush empties tables in no fixed order, so a
    permit left for it may be gone before the events are; instead, at teardown (before the flush),
    remove the events here, under a permit, in one transaction. PostgreSQL flushes with TRUNCATE,
    which the trigger does not see.
    """
    yield
    if connection.vendor != "sqlite":
        return
    with transaction.atomic():
        PrunePermit.objects.create()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table}")  # noqa: S608 -- a constant table name
        PrunePermit.objects.all().delete()
