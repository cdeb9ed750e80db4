"""The billing services: state, invariants, refusals, and exactly one audit event per change."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.http import Http404

from fleetadmin.audit.models import AuditEvent
from fleetadmin.billing import selectors, services
from fleetadmin.billing.address import Address
from fleetadmin.billing.models import BillingService, BrandLogo, Customer, Invoice, InvoicesAreKept, InvoiceStatus
from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet.models import Role
from tests.billing.conftest import SEED_ADDRESS, charge
from tests.factories import LocationFactory, MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

SEED = Address("123 Main St", "", "Springfield", "IL", "62704", "US")
T0 = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr("fleetadmin.clock.now", lambda: T0)
    return T0


class Events:
    """Counts audit events written since it was made."""

    def __init__(self):
        self.start = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def new(self) -> list[AuditEvent]:
        return list(AuditEvent.objects.filter(id__gt=self.start).order_by("id"))


def only_event(events: Events) -> AuditEvent:
    new = events.new()
    assert len(new) == 1, [event.action for event in new]
    return new[0]


# ---- the service -----------------------------------------------------------------------------------


def test_enable_with_the_seed_address_records_one_event(fleet, clock):
    events = Events()
    service = services.billing_service_enable(actor=fleet.owner, organization=fleet.org, address=SEED_ADDRESS)
    assert service.enabled and service.address == SEED
    assert service.enabled_changed_at == T0
    event = only_event(events)
    assert event.action == "billing.service.enable"
    assert event.organization_id == fleet.org.pk
    assert event.target_type == "billing.billingservice"
    assert event.changes == {
        "before": {"enabled": False, "address": None},
        "after": {"enabled": True, "address": SEED.as_dict()},
    }


def test_enable_requires_an_address_and_reports_what_is_wrong(fleet):
    with pytest.raises(ValidationError) as caught:
        services.billing_service_enable(actor=fleet.owner, organization=fleet.org, address="")
    assert caught.value.message_dict["address"] == [
        "is empty; enter an address. Expected format: line1, line2 (optional), city, state, zipcode[, country]"
    ]
    assert not BillingService.objects.filter(organization=fleet.org, enabled=True).exists()
    assert not AuditEvent.objects.filter(action__startswith="billing.").exists()


def test_enable_accepts_a_structured_address_and_rechecks_it(fleet):
    bad = Address("123 Main St", "", "Springfield", "XX", "62704", "US")
    with pytest.raises(ValidationError, match="state: 'XX' is not a US state"):
        services.billing_service_enable(actor=fleet.owner, organization=fleet.org, address=bad)
    service = services.billing_service_enable(actor=fleet.owner, organization=fleet.org, address=SEED)
    assert service.address == SEED


def test_enable_twice_is_refused(fleet):
    services.billing_service_enable(actor=fleet.owner, organization=fleet.org, address=SEED_ADDRESS)
    with pytest.raises(ValidationError, match="already enabled"):
        services.billing_service_enable(actor=fleet.owner, organization=fleet.org, address=SEED_ADDRESS)


def test_update_changes_the_address_with_one_event(fleet):
    services.billing_service_enable(actor=fleet.owner, organization=fleet.org, address=SEED_ADDRESS)
    events = Events()
    new = "1 Rue de Rivoli, Paris, Île-de-France, 75001, France"
    service = services.billing_service_update(actor=fleet.owner, organization=fleet.org, address=new)
    assert service.address == Address("1 Rue de Rivoli", "", "Paris", "Île-de-France", "75001", "FR")
    event = only_event(events)
    assert event.action == "billing.service.update"
    assert event.changes["before"]["address"]["city"] == "Springfield"
    assert event.changes["after"]["address"]["country"] == "FR"
    assert "enabled" not in event.changes["after"]


def test_update_to_the_same_address_records_nothing(fleet):
    services.billing_service_enable(actor=fleet.owner, organization=fleet.org, address=SEED_ADDRESS)
    events = Events()
    services.billing_service_update(
        actor=fleet.owner, organization=fleet.org, address=" 123 Main St,Springfield, il, 62704 "
    )
    assert events.new() == []


def test_update_needs_billing_enabled(fleet):
    with pytest.raises(ValidationError, match="Billing is not enabled"):
        services.billing_service_update(actor=fleet.owner, organization=fleet.org, address=SEED_ADDRESS)


def test_disable_keeps_the_address_and_enable_again_replaces_it(fleet):
    services.billing_service_enable(actor=fleet.owner, organization=fleet.org, address=SEED_ADDRESS)
    events = Events()
    service = services.billing_service_disable(actor=fleet.owner, organization=fleet.org)
    assert not service.enabled
    stored = BillingService.objects.get(organization=fleet.org)
    assert stored.address == SEED
    event = only_event(events)
    assert event.action == "billing.service.disable"
    assert event.changes == {"before": {"enabled": True}, "after": {"enabled": False}}
    # disabling again changes nothing and records nothing
    services.billing_service_disable(actor=fleet.owner, organization=fleet.org)
    assert len(events.new()) == 1
    # enabling again: reversible
    services.billing_service_enable(actor=fleet.owner, organization=fleet.org, address=SEED)
    assert BillingService.objects.get(organization=fleet.org).enabled


@pytest.mark.parametrize("who", ["operator", "location_owner", "outsider"])
def test_only_organization_owners_manage_billing(fleet, who):
    actor = getattr(fleet, who)
    with pytest.raises(PermissionDenied):
        services.billing_service_enable(actor=actor, organization=fleet.org, address=SEED_ADDRESS)
    services.billing_service_enable(actor=fleet.owner, organization=fleet.org, address=SEED_ADDRESS)
    for write in (
        lambda: services.billing_service_update(actor=actor, organization=fleet.org, address=SEED_ADDRESS),
        lambda: services.billing_service_disable(actor=actor, organization=fleet.org),
        lambda: services.customer_attach(
            actor=actor, billing_organization=fleet.org, customer_id=OrganizationFactory().pk
        ),
    ):
        with pytest.raises(PermissionDenied):
            write()


# ---- customers -------------------------------------------------------------------------------------


def test_an_owner_of_both_organizations_attaches_directly_and_detaches_with_one_event_each(fleet):
    customer_org = OrganizationFactory(name="Initech")
    MembershipFactory(organization=customer_org, user=fleet.owner, role=Role.ORGANIZATION_OWNER)
    services.billing_service_enable(actor=fleet.owner, organization=fleet.org, address=SEED_ADDRESS)
    events = Events()
    customer = services.customer_attach(
        actor=fleet.owner, billing_organization=fleet.org, customer_id=f" {customer_org.pk} "
    )
    assert customer.organization == customer_org and customer.attached_by == fleet.owner
    event = only_event(events)
    assert event.action == "billing.customer.attach"
    assert event.changes == {"after": {"customer": "Initech", "customer_id": str(customer_org.pk)}}

    events = Events()
    services.customer_detach(actor=fleet.owner, customer=customer)
    assert not Customer.objects.filter(organization=customer_org).exists()
    event = only_event(events)
    assert event.action == "billing.customer.detach"
    assert event.changes == {"before": {"customer": "Initech", "customer_id": str(customer_org.pk)}}


STRANGER = "You can attach directly only an organization you own; invite it instead, and one of its owners accepts."


@pytest.mark.parametrize(
    ("customer_id", "message"),
    [
        ("not-a-uuid", "'not-a-uuid' is not an organization ID; paste the customer organization's UUID."),
        ("00000000-0000-4000-8000-000000000000", STRANGER),
        ("self", "An organization cannot be its own customer."),
        ("taken", STRANGER),  # a stranger's organization: whether someone bills it is not said
        ("again", STRANGER),
    ],
)
def test_direct_attach_of_a_stranger_is_refused_without_saying_anything_about_it(billing, customer_id, message):
    other_biller = OrganizationFactory(name="Other Biller")
    services.billing_service_enable(actor=SYSTEM, organization=other_biller, address=SEED_ADDRESS)
    taken = OrganizationFactory(name="Elsewhere Inc")
    services.customer_attach(actor=SYSTEM, billing_organization=other_biller, customer_id=taken.pk)
    value = {"self": billing.org.pk, "taken": taken.pk, "again": billing.initech.pk}.get(customer_id, customer_id)
    events = Events()
    with pytest.raises(ValidationError) as caught:
        services.customer_attach(actor=billing.owner, billing_organization=billing.org, customer_id=value)
    assert caught.value.message_dict == {"customer_id": [message]}
    assert events.new() == []


def test_attach_needs_billing_enabled(fleet):
    with pytest.raises(ValidationError, match=r"Enable billing for Acme Robotics before attaching customers\."):
        services.customer_attach(
            actor=fleet.owner, billing_organization=fleet.org, customer_id=OrganizationFactory().pk
        )


def test_the_database_allows_one_billing_organization_per_customer(billing):
    other = OrganizationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(billing_organization=other, organization=billing.initech, attached_at=T0)


def test_the_database_refuses_an_organization_billing_itself(billing):
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(billing_organization=billing.org, organization=billing.org, attached_at=T0)


# ---- invoices --------------------------------------------------------------------------------------


def test_charge_issues_an_open_invoice_with_a_snapshot_and_one_event(billing, brand, clock):
    events = Events()
    invoice = charge(billing, subtotal="1,250.00", tax="103.13")
    assert invoice.number == 1 and invoice.display_number == "INV-00001"
    assert invoice.subtotal == Decimal("1250.00") and invoice.tax == Decimal("103.13")
    assert invoice.total == Decimal("1353.13")
    assert invoice.currency == "USD" and invoice.status == InvoiceStatus.OPEN
    assert invoice.issued_at == T0 and invoice.due_on == date(2025, 4, 3)
    assert invoice.paid_at is None
    assert invoice.customer_name == "Initech" and invoice.issuer_name == "Acme Robotics"
    assert invoice.issuer_address == SEED.as_dict()
    assert invoice.issuer_support_email == "billing-help@acme.test"
    assert invoice.issuer_logo.sha256 == brand.sha256 and bytes(invoice.issuer_logo.data) == brand.logo
    assert invoice.created_by == billing.owner
    event = only_event(events)
    assert event.action == "billing.invoice.create"
    assert event.target_id == str(invoice.pk)
    assert event.changes["after"] == {
        "number": "INV-00001",
        "customer": "Initech",
        "customer_id": str(billing.initech.pk),
        "description": "Fleet support, March",
        "subtotal": "1250.00",
        "tax": "103.13",
        "total": "1353.13",
        "currency": "USD",
        "status": "open",
        "due_on": "2025-04-03",
    }


def test_the_snapshot_does_not_follow_later_changes(billing, brand):
    invoice = charge(billing)
    logo_then = brand.sha256
    services.billing_service_update(
        actor=billing.owner, organization=billing.org, address="1 New Rd, Peoria, IL, 61602"
    )
    brand.set(support_email="new-help@acme.test", logo=None)
    billing.org.name = "Acme Renamed"
    billing.org.save()
    invoice.refresh_from_db()
    assert invoice.issuer_name == "Acme Robotics"
    assert invoice.issuer_address["line1"] == "123 Main St"
    assert invoice.issuer_support_email == "billing-help@acme.test"
    assert invoice.issuer_logo_id == logo_then
    later = charge(billing)
    assert later.issuer_name == "Acme Renamed" and later.issuer_address["line1"] == "1 New Rd"
    assert later.issuer_support_email == "new-help@acme.test" and later.issuer_logo is None


def test_the_same_logo_is_stored_once(billing, brand):
    charge(billing)
    charge(billing, billing.umbrella)
    assert BrandLogo.objects.count() == 1


def test_without_branding_invoices_have_no_logo_and_no_email(billing, no_brand):
    invoice = charge(billing)
    assert invoice.issuer_logo is None and invoice.issuer_support_email == ""


def test_invoice_numbers_are_sequential_per_billing_organization(billing):
    numbers = [charge(billing, customer).number for customer in [billing.initech, billing.umbrella] * 3]
    assert numbers == [1, 2, 3, 4, 5, 6]
    other = OrganizationFactory(name="Other Biller")
    services.billing_service_enable(actor=SYSTEM, organization=other, address=SEED_ADDRESS)
    services.customer_attach(actor=SYSTEM, billing_organization=other, customer_id=OrganizationFactory().pk)
    customer = Customer.objects.get(billing_organization=other).organization
    first = services.invoice_create(
        actor=SYSTEM, billing_organization=other, customer=customer, description="x", subtotal="1", tax="0"
    )
    assert first.number == 1
    assert BillingService.objects.get(organization=billing.org).next_invoice_number == 7


def test_a_refused_charge_uses_no_number(billing):
    charge(billing)
    with pytest.raises(ValidationError):
        charge(billing, subtotal="-1")
    assert charge(billing).number == 2


def test_the_database_refuses_a_duplicate_number(billing):
    invoice = charge(billing)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            billing_organization=billing.org,
            customer=billing.umbrella,
            number=invoice.number,
            description="dup",
            subtotal=Decimal("1.00"),
            tax=Decimal("0.00"),
            total=Decimal("1.00"),
            issued_at=T0,
            due_on=T0.date(),
            customer_name="Umbrella Corp",
            issuer_name="Acme Robotics",
        )


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {"subtotal": "12.345"},
            {"subtotal": ["'12.345' has more than two decimal places; round it to cents, like 1250.00"]},
        ),
        ({"subtotal": "0"}, {"subtotal": ["must be more than 0.00"]}),
        (
            {"subtotal": "NaN", "tax": "-1"},
            {
                "subtotal": ["'NaN' is not an amount; use digits with at most two decimals, like 1250.00"],
                "tax": ["'-1' is negative; enter an amount in US dollars, like 1250.00"],
            },
        ),
        ({"tax": 1.5}, {"tax": ["give the amount as a string or a Decimal, like '1250.00', not a float"]}),
        ({"description": "   "}, {"description": ["is empty; say what the charge is for."]}),
        ({"description": "x" * 201}, {"description": ["is 201 characters long; at most 200."]}),
    ],
)
def test_charge_refusals_name_the_field(billing, fields, errors):
    events = Events()
    with pytest.raises(ValidationError) as caught:
        charge(billing, **fields)
    assert caught.value.message_dict == errors
    assert events.new() == [] and not Invoice.objects.exists()


def test_tax_may_be_zero(billing):
    assert charge(billing, tax="0").total == Decimal("100.00")


def test_charging_needs_billing_enabled_and_an_attached_customer(billing):
    stranger = OrganizationFactory(name="Stranger")
    with pytest.raises(ValidationError) as caught:
        charge(billing, stranger)
    assert caught.value.message_dict == {"customer": ["Stranger is not a customer of Acme Robotics."]}
    services.billing_service_disable(actor=billing.owner, organization=billing.org)
    with pytest.raises(ValidationError, match="Billing is not enabled for Acme Robotics"):
        charge(billing)
    assert not Invoice.objects.exists()


def test_a_form_token_charges_once(billing):
    first = services.invoice_create(
        actor=billing.owner,
        billing_organization=billing.org,
        customer=billing.initech,
        description="once",
        subtotal="5",
        tax="0",
        creation_token="token-1",
    )
    with pytest.raises(services.DuplicateSubmission) as caught:
        services.invoice_create(
            actor=billing.owner,
            billing_organization=billing.org,
            customer=billing.initech,
            description="once",
            subtotal="5",
            tax="0",
            creation_token="token-1",
        )
    assert caught.value.created == first
    assert Invoice.objects.count() == 1


def test_operators_cannot_charge(billing):
    with pytest.raises(PermissionDenied):
        services.invoice_create(
            actor=billing.operator,
            billing_organization=billing.org,
            customer=billing.initech,
            description="x",
            subtotal="1",
            tax="0",
        )


def test_mark_paid_then_refusals(billing, clock):
    invoice = charge(billing)
    events = Events()
    paid = services.invoice_mark_paid(actor=billing.owner, invoice=invoice)
    assert paid.status == InvoiceStatus.PAID and paid.paid_at == T0
    event = only_event(events)
    assert event.action == "billing.invoice.pay"
    assert event.changes == {
        "before": {"status": "open", "paid_at": None},
        "after": {"status": "paid", "paid_at": T0.isoformat()},
    }
    with pytest.raises(ValidationError) as caught:
        services.invoice_mark_paid(actor=billing.owner, invoice=invoice)
    assert caught.value.messages == ["INV-00001 is already paid (on 2025-03-04)."]
    with pytest.raises(ValidationError) as caught:
        services.invoice_void(actor=billing.owner, invoice=invoice)
    assert caught.value.messages == ["INV-00001 is paid; a paid invoice cannot be voided."]
    assert len(events.new()) == 1


def test_void_then_refusals(billing, clock):
    invoice = charge(billing)
    events = Events()
    voided = services.invoice_void(actor=billing.owner, invoice=invoice)
    assert voided.status == InvoiceStatus.VOID and voided.voided_at == T0
    event = only_event(events)
    assert event.action == "billing.invoice.void"
    assert event.changes == {
        "before": {"status": "open", "voided_at": None},
        "after": {"status": "void", "voided_at": T0.isoformat()},
    }
    with pytest.raises(ValidationError) as caught:
        services.invoice_mark_paid(actor=billing.owner, invoice=invoice)
    assert caught.value.messages == ["INV-00001 is void; a void invoice cannot be paid."]
    with pytest.raises(ValidationError) as caught:
        services.invoice_void(actor=billing.owner, invoice=invoice)
    assert caught.value.messages == ["INV-00001 is already void."]
    assert len(events.new()) == 1
    assert Invoice.objects.filter(pk=invoice.pk).exists()  # void invoices stay on record


def test_paying_and_voiding_work_after_billing_is_disabled_or_the_customer_detached(billing):
    first, second = charge(billing), charge(billing)
    services.customer_detach(actor=billing.owner, customer=billing.customers[billing.initech.pk])
    services.billing_service_disable(actor=billing.owner, organization=billing.org)
    assert services.invoice_mark_paid(actor=billing.owner, invoice=first).status == "paid"
    assert services.invoice_void(actor=billing.owner, invoice=second).status == "void"


@pytest.mark.parametrize("who", ["operator", "outsider"])
def test_only_owners_pay_or_void(billing, who):
    invoice = charge(billing)
    for write in (services.invoice_mark_paid, services.invoice_void):
        with pytest.raises(PermissionDenied):
            write(actor=getattr(billing, who), invoice=invoice)
    invoice.refresh_from_db()
    assert invoice.status == "open"


def test_invoices_are_never_deleted(billing):
    invoice = charge(billing)
    with pytest.raises(InvoicesAreKept):
        invoice.delete()
    with pytest.raises(InvoicesAreKept):
        Invoice.objects.all().delete()
    with pytest.raises(ProtectedError):
        billing.initech.delete()
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_the_database_refuses_a_paid_invoice_without_a_date(billing):
    invoice = charge(billing)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.PAID)


# ---- the dashboard's reach -------------------------------------------------------------------------


def test_dashboard_reach(billing):
    mine = charge(billing, billing.initech)
    theirs = charge(billing, billing.umbrella)
    board = selectors.get_dashboard_for(billing.initech_owner, billing.org.pk)
    assert list(board.invoices) == [mine]
    assert selectors.get_dashboard_for(billing.initech_operator, billing.org.pk).customers == [billing.initech]
    assert set(selectors.get_dashboard_for(billing.owner, billing.org.pk).invoices) == {mine, theirs}
    location = LocationFactory(organization=billing.initech)
    location_member = MembershipFactory(organization=billing.initech, role=Role.LOCATION_OWNER, location=location).user
    for user in (billing.outsider, location_member):
        with pytest.raises(Http404):
            selectors.get_dashboard_for(user, billing.org.pk)


def test_a_detached_customer_still_sees_its_invoices(billing):
    invoice = charge(billing, billing.initech)
    services.customer_detach(actor=billing.owner, customer=billing.customers[billing.initech.pk])
    assert list(selectors.get_dashboard_for(billing.initech_owner, billing.org.pk).invoices) == [invoice]
