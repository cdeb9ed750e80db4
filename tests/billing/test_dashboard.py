"""The customer-facing billing dashboard and invoice page: branded entirely as the billing organization,
and showing each user the invoices of their own organizations only."""

import re

import pytest
from django.urls import reverse

from fleetadmin.billing import services
from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet.models import Role
from tests.billing.conftest import SEED_ADDRESS, charge, png
from tests.factories import LocationFactory, MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def dashboard_url(world):
    return reverse("billing_dashboard:dashboard", args=[world.org.pk])


def invoice_url(world, invoice):
    return reverse("billing_dashboard:invoice", args=[world.org.pk, invoice.pk])


@pytest.fixture
def world(billing, brand):
    billing.initech_invoice = charge(billing, billing.initech, subtotal="1,250.00", tax="103.13")
    billing.umbrella_invoice = charge(billing, billing.umbrella, description="Umbrella-only charge")
    services.invoice_mark_paid(actor=SYSTEM, invoice=billing.initech_invoice)
    billing.second_initech = charge(billing, billing.initech, description="Second Initech charge")
    billing.brand = brand
    return billing


def assert_white_label(content: str) -> None:
    """No trace of the portal: its name, its top bar, its sidebar, its logo, its own scripts."""
    assert "fleetadmin" not in content.lower()
    for portal_only in ['class="topbar"', 'class="sidebar"', "img/logo.svg", "js/portal.js", "Switch organization"]:
        assert portal_only not in content
    # the CSP allows no inline style or script
    assert " style=" not in content and "<style" not in content
    for script in re.findall(r"<script[^>]*>", content):
        assert " src=" in script


def test_the_customers_owner_sees_their_invoices_branded_as_the_billing_organization(world, client_for):
    response = client_for(world.initech_owner).get(dashboard_url(world))
    assert response.status_code == 200
    content = response.content.decode()
    assert_white_label(content)
    assert "<title>Invoices · Acme Robotics</title>" in content
    assert "Acme Robotics" in content and "billing-help@acme.test" in content
    assert "123 Main St, Springfield, IL, 62704" in content
    logo = reverse("billing_dashboard:logo", args=[world.org.pk])
    assert f'src="{logo}?v={world.brand.sha256[:16]}"' in content
    # their invoices, with number, date, amount, status, due and paid dates
    assert "INV-00001" in content and "INV-00003" in content
    assert "$1,353.13" in content and "Paid" in content and "Open" in content
    assert "Umbrella-only charge" not in content and "INV-00002" not in content
    assert "private" in response["Cache-Control"]


def test_the_customers_operator_sees_them_too(world, client_for):
    content = client_for(world.initech_operator).get(dashboard_url(world)).content.decode()
    assert "INV-00001" in content and "INV-00002" not in content


def test_another_customer_of_the_same_billing_organization_sees_only_theirs(world, client_for):
    client = client_for(world.umbrella_owner)
    content = client.get(dashboard_url(world)).content.decode()
    assert_white_label(content)
    assert "INV-00002" in content and "Umbrella-only charge" in content
    assert "INV-00001" not in content and "INV-00003" not in content
    assert client.get(invoice_url(world, world.initech_invoice)).status_code == 404
    logo = reverse("billing_dashboard:invoice_logo", args=[world.org.pk, world.initech_invoice.pk])
    assert client.get(logo).status_code == 404


@pytest.mark.parametrize("who", ["unrelated", "outsider", "location_member", "customer_of_someone_else"])
def test_everyone_else_gets_404(world, client_for, who):
    if who == "unrelated":
        user = UserFactory()
    elif who == "outsider":
        user = world.outsider
    elif who == "location_member":
        location = LocationFactory(organization=world.initech)
        user = MembershipFactory(organization=world.initech, location=location, role=Role.LOCATION_OPERATOR).user
    else:
        other = OrganizationFactory(name="Other Biller")
        services.billing_service_enable(actor=SYSTEM, organization=other, address=SEED_ADDRESS)
        customer = OrganizationFactory()
        services.customer_attach(actor=SYSTEM, billing_organization=other, customer_id=customer.pk)
        user = MembershipFactory(organization=customer, role=Role.ORGANIZATION_OWNER).user
    client = client_for(user)
    paths = [
        dashboard_url(world),
        invoice_url(world, world.initech_invoice),
        reverse("billing_dashboard:logo", args=[world.org.pk]),
        reverse("billing_dashboard:invoice_logo", args=[world.org.pk, world.initech_invoice.pk]),
    ]
    for path in paths:
        assert client.get(path).status_code == 404, path


def test_an_organization_that_never_enabled_billing_has_no_dashboard(world, client_for):
    client = client_for(world.initech_owner)
    assert client.get(reverse("billing_dashboard:dashboard", args=[world.initech.pk])).status_code == 404
    unknown = "00000000-0000-4000-8000-000000000000"
    assert client.get(f"/billing/{unknown}/").status_code == 404


def test_anonymous_is_sent_to_sign_in(world, client_for):
    response = client_for().get(dashboard_url(world))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/sign-in/?next=")


def test_the_billing_organizations_own_members_see_every_invoice(world, client_for):
    for user in (world.owner, world.operator):
        content = client_for(user).get(dashboard_url(world)).content.decode()
        assert_white_label(content)
        assert "INV-00001" in content and "INV-00002" in content and "Billed to" in content


def test_the_print_friendly_invoice(world, client_for):
    response = client_for(world.initech_owner).get(invoice_url(world, world.initech_invoice))
    assert response.status_code == 200
    content = response.content.decode()
    assert_white_label(content)
    for text in [
        "<title>Invoice INV-00001 · Acme Robotics</title>",
        "INV-00001",
        "Initech",
        "Fleet support, March",
        "$1,250.00",
        "$103.13",
        "$1,353.13",
        "123 Main St<br>Springfield, IL 62704<br>United States",
        "billing-help@acme.test",
        "Paid in full.",
        "data-print",
    ]:
        assert text in content, text
    snapshot = reverse("billing_dashboard:invoice_logo", args=[world.org.pk, world.initech_invoice.pk])
    assert f'src="{snapshot}"' in content


def test_the_invoice_keeps_the_brand_it_was_issued_with(world, client_for):
    old_logo = world.brand.logo
    world.brand.set(support_email="new@acme.test", logo=png(color=(0, 0, 0, 255)))
    services.billing_service_update(actor=SYSTEM, organization=world.org, address="9 Elm St, Peoria, IL, 61602")
    client = client_for(world.initech_owner)
    content = client.get(invoice_url(world, world.initech_invoice)).content.decode()
    assert "billing-help@acme.test" in content and "123 Main St" in content
    logo = client.get(reverse("billing_dashboard:invoice_logo", args=[world.org.pk, world.initech_invoice.pk]))
    assert logo.content == old_logo
    current = client.get(reverse("billing_dashboard:logo", args=[world.org.pk]))
    assert current.content == world.brand.logo
    dashboard = client.get(dashboard_url(world)).content.decode()
    assert "new@acme.test" in dashboard and "9 Elm St, Peoria, IL, 61602" in dashboard


def test_logos_are_served_as_png_with_nosniff(world, client_for):
    client = client_for(world.initech_owner)
    for path in (
        reverse("billing_dashboard:logo", args=[world.org.pk]),
        reverse("billing_dashboard:invoice_logo", args=[world.org.pk, world.initech_invoice.pk]),
    ):
        response = client.get(path)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response.content.startswith(b"\x89PNG")
        again = client.get(path, HTTP_IF_NONE_MATCH=response["ETag"])
        assert again.status_code == 304


def test_without_a_logo_a_neutral_placeholder(billing, client_for, no_brand):
    invoice = charge(billing)
    client = client_for(billing.initech_owner)
    for path in (dashboard_url(billing), invoice_url(billing, invoice)):
        content = client.get(path).content.decode()
        assert_white_label(content)
        assert '<span class="bl-monogram" aria-hidden="true">A</span>' in content
        assert "<img" not in content
    assert client.get(reverse("billing_dashboard:logo", args=[billing.org.pk])).status_code == 404


def test_a_customer_with_no_invoices_yet_sees_an_empty_dashboard(billing, client_for):
    content = client_for(billing.umbrella_owner).get(dashboard_url(billing)).content.decode()
    assert "No invoices yet." in content


def test_dashboard_query_count_does_not_grow(world, client_for, django_assert_max_num_queries):
    for _ in range(10):
        charge(world, world.initech)
    client = client_for(world.initech_owner)
    client.get(dashboard_url(world))
    with django_assert_max_num_queries(12):
        client.get(dashboard_url(world))
