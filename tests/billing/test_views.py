"""The view-test matrix for the billing screens: anonymous, another organization's owner, a location owner,
operator, owner; with and without htmx. Then each screen's own behaviour."""

import re

import pytest
from django.urls import reverse

from fleetadmin.audit.models import AuditEvent
from fleetadmin.billing import services
from fleetadmin.billing.models import BillingService, Customer, CustomerInvitation, Invoice
from fleetadmin.core.actors import SYSTEM
from tests.billing.conftest import HTMX, SEED_ADDRESS, charge
from tests.factories import OrganizationFactory
from tests.matrix import ANONYMOUS, OUTSIDER, OWNERS, ROLES, Matrix, Read, Write

pytestmark = pytest.mark.django_db

NEW_ADDRESS = {
    "action": "save",
    "paste": "",
    "line1": "1 Rue de Rivoli",
    "line2": "",
    "city": "Paris",
    "state": "Île-de-France",
    "zipcode": "75001",
    "country": "FR",
}


def url(name, org, *args):
    return reverse(f"billing:{name}", args=[org.pk, *args])


@pytest.fixture
def world(billing):
    """The billing fixture plus one open invoice and a third organization ready to attach."""
    billing.invoice = charge(billing)
    billing.prospect = OrganizationFactory(name="Prospect LLC")
    return billing


CHARGE = {
    "customer": None,  # the customer's id, filled in by charge_data
    "description": "Robot rental, April",
    "subtotal": "2,400.00",
    "tax": "198.00",
    "form_token": "token-1",
}


def charge_data(world):
    return {**CHARGE, "customer": str(world.umbrella.pk)}


def billing_events():
    return AuditEvent.objects.filter(action__startswith="billing.").count()


# ---- the matrix ------------------------------------------------------------------------------------


def at(name, *attributes):
    """The path of a billing screen, with the world's objects named by ``attributes`` as its arguments."""
    return lambda w: url(name, w.org, *(getattr(w, attribute).pk for attribute in attributes))


def disable_first(world):
    services.billing_service_disable(actor=SYSTEM, organization=world.org)


def new_address_kept(world) -> bool:
    service = BillingService.objects.get(organization=world.org)
    return service.enabled and service.city == "Paris" and service.country == "FR"


def disabled_with_the_address_kept(world) -> bool:
    service = BillingService.objects.get(organization=world.org)
    return not service.enabled and service.city == "Springfield"


def invited_not_attached(world) -> bool:
    """Invited, not attached: an owner of the prospect has to accept."""
    invited = CustomerInvitation.objects.filter(
        billing_organization=world.org, customer_organization_id=world.prospect.pk, status="pending"
    )
    return invited.exists() and not Customer.objects.filter(organization=world.prospect).exists()


def invoice_status(world) -> str:
    return Invoice.objects.get(pk=world.invoice.pk).status


def billing_nav_is_current(response, world, read, role, htmx):
    if not htmx:
        assert f'href="/orgs/{world.org.pk}/billing/" aria-current="page"' in response.content.decode()


def owner_answer(response, world, write, htmx):
    if write.name == "invite" and htmx:  # the customers card, swapped in place, with the history out of band
        assert response.status_code == 200
        content = response.content.decode()
        assert content.lstrip().startswith('<section id="billing-customers"')
        assert (
            "Prospect LLC" not in content
            and str(world.prospect.pk) in content
            and 'id="billing-history" class="card history" aria-labelledby="billing-history-heading" hx-swap-oob="true"'
            in content
        )
    elif htmx:
        assert response.status_code == 200 and response["HX-Redirect"].startswith(f"/orgs/{world.org.pk}/billing/")
    else:
        assert response.status_code == 302 and response["Location"].startswith(f"/orgs/{world.org.pk}/billing/")


MATRIX = Matrix(
    world="world",
    read_roles=(*ROLES, "location_owner"),  # a location owner is a member with no say over billing
    reads=[
        Read("service", at("service")),
        Read("update", at("update"), readers=OWNERS),
        Read("disable", at("disable"), readers=OWNERS),
        Read("invoices", at("invoices")),
        Read("invoice", at("invoice", "invoice")),
        Read("invoice_create", at("invoice_create"), readers=OWNERS),
        Read("customer_detach", at("customer_detach", "umbrella"), readers=OWNERS),
        Read("invoice_void", at("invoice_void", "invoice"), readers=OWNERS),
    ],
    writes=[
        Write(
            "enable",
            at("enable"),
            data=lambda w: NEW_ADDRESS,
            prepare=disable_first,
            effect=new_address_kept,
            actions=["billing.service.enable"],
        ),
        Write(
            "update",
            at("update"),
            data=lambda w: NEW_ADDRESS,
            effect=new_address_kept,
            actions=["billing.service.update"],
        ),
        Write(
            "disable",
            at("disable"),
            data=lambda w: {"confirm": "disable"},
            effect=disabled_with_the_address_kept,
            actions=["billing.service.disable"],
        ),
        Write(
            "invite",
            at("customer_invite"),
            data=lambda w: {"customer_id": str(w.prospect.pk)},
            effect=invited_not_attached,
            actions=["billing.customer.invite", "billing.invitation.receive"],  # the biller's, the prospect's
        ),
        Write(
            "detach",
            at("customer_detach", "umbrella"),
            effect=lambda w: not Customer.objects.filter(organization=w.umbrella).exists(),
            actions=["billing.customer.detach"],
        ),
        Write(
            "charge",
            at("invoice_create"),
            data=charge_data,
            effect=lambda w: Invoice.objects.filter(customer=w.umbrella, description="Robot rental, April").exists(),
            actions=["billing.invoice.create"],
        ),
        Write(
            "pay",
            at("invoice_pay", "invoice"),
            effect=lambda w: invoice_status(w) == "paid",
            actions=["billing.invoice.pay"],
        ),
        Write(
            "void",
            at("invoice_void", "invoice"),
            effect=lambda w: invoice_status(w) == "void",
            actions=["billing.invoice.void"],
        ),
        # Filling the form from a pasted address writes nothing, but only an owner may ask.
        Write(
            "parse",
            at("parse_address"),
            data=lambda w: {"paste": SEED_ADDRESS},
            roles=(ANONYMOUS, OUTSIDER, "operator"),
        ),
    ],
    read_check=billing_nav_is_current,
    answer=owner_answer,
)
test_reads, test_refused_writes, test_writes = MATRIX.tests()


OWNER_CONTROLS = [
    "Change address",
    "Disable…",
    "Charge a customer",
    "Invite a customer",
    "Detach…",
    ">Charge<",
    "Mark paid",
    "Void…",
]


def controls_in(*responses) -> set[str]:
    content = "".join(response.content.decode() for response in responses)
    return {control for control in OWNER_CONTROLS if control in content}


def test_owner_sees_every_control(world, client_for):
    client = client_for(world.owner)
    pages = [client.get(path(world)) for path in (at("service"), at("invoices"), at("invoice", "invoice"))]
    assert all(screen.status_code == 200 for screen in pages)
    assert controls_in(*pages) == set(OWNER_CONTROLS)


@pytest.mark.parametrize("htmx", [False, True])
def test_operator_reads_billing_without_any_control(world, client_for, htmx):
    client = client_for(world.operator)
    readable = (at("service"), at("invoices"), at("invoice", "invoice"))
    pages = [client.get(path(world), **(HTMX if htmx else {})) for path in readable]
    assert all(screen.status_code == 200 for screen in pages)
    content = "".join(screen.content.decode() for screen in pages)
    assert "Initech" in content and "Umbrella Corp" in content and "INV-00001" in content
    assert controls_in(*pages) == set()
    post_forms = [tag for tag in re.findall(r"<form[^>]*>", content) if 'method="post"' in tag]
    assert not [tag for tag in post_forms if "/billing/" in tag]


# ---- the service page ------------------------------------------------------------------------------


def test_service_page_shows_what_get_config_reports(world, client_for, brand):
    response = client_for(world.owner).get(url("service", world.org))
    content = response.content.decode()
    assert "123 Main St, Springfield, IL, 62704" in content
    assert "billing-help@acme.test" in content
    config = response.context["config"]
    assert config == {
        "address": "123 Main St, Springfield, IL, 62704",
        "support_email": "billing-help@acme.test",
        "logo_url": f"http://testserver/orgs/{world.org.pk}/auth/logo.png?v={brand.sha256[:16]}",
        "dashboard_url": f"http://testserver/billing/{world.org.pk}/",
    }
    assert f'data-copy="http://testserver/billing/{world.org.pk}/"' in content


def test_service_page_without_branding_says_so(world, client_for, no_brand):
    response = client_for(world.owner).get(url("service", world.org))
    assert response.context["config"]["support_email"] is None
    assert response.context["config"]["logo_url"] is None
    assert "No logo; invoices show a placeholder" in response.content.decode()


def test_service_page_before_billing_was_ever_enabled(fleet, client_for):
    response = client_for(fleet.owner).get(url("service", fleet.org))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Billing has never been enabled" in content and "Enable billing…" in content
    assert "Invite a customer" not in content
    assert not BillingService.objects.exists()  # reading creates nothing


def test_service_page_query_count_does_not_grow(world, client_for, django_assert_max_num_queries, brand):
    for _ in range(5):
        charge(world, world.umbrella)
    client = client_for(world.owner)
    client.get(url("service", world.org))
    with django_assert_max_num_queries(16):
        client.get(url("service", world.org))


# ---- the address form ------------------------------------------------------------------------------


def test_fill_from_pasted_address_without_javascript(fleet, client_for):
    response = client_for(fleet.owner).post(
        url("enable", fleet.org),
        {"action": "fill", "paste": "123 Main St, Apt 1, San Francisco, CA, 94105, United States", "line1": ""},
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "<html" in content
    for value in ['value="123 Main St"', 'value="Apt 1"', 'value="San Francisco"', 'value="CA"', 'value="94105"']:
        assert value in content
    assert '<option value="US" selected>' in content
    assert not BillingService.objects.exists()  # filling is not enabling


def test_fill_from_pasted_address_with_htmx_returns_the_form(fleet, client_for):
    response = client_for(fleet.owner).post(url("parse_address", fleet.org), {"paste": SEED_ADDRESS}, **HTMX)
    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<form id="address-form"')
    assert "<html" not in content
    assert 'value="Springfield"' in content and 'value="IL"' in content and 'value="62704"' in content
    assert f'action="/orgs/{fleet.org.pk}/billing/enable/"' in content


def test_a_paste_that_does_not_parse_shows_why_and_keeps_the_fields(fleet, client_for):
    for headers, path in ((HTMX, url("parse_address", fleet.org)), ({}, url("enable", fleet.org))):
        response = client_for(fleet.owner).post(
            path, {"action": "fill", "paste": "123 Main St, Springfield, XX, 62704", "line1": "kept line"}, **headers
        )
        assert response.status_code == 422
        content = response.content.decode()
        assert (
            "state: &#x27;XX&#x27; is not a US state; use a two-letter code like IL or the full name. "
            "Expected format: line1, line2 (optional), city, state, zipcode[, country]"
        ) in content
        assert 'value="kept line"' in content
        assert 'aria-invalid="true"' in content


def test_enable_from_the_structured_fields(fleet, client_for):
    response = client_for(fleet.owner).post(url("enable", fleet.org), {**NEW_ADDRESS, "state": "IDF"})
    assert response.status_code == 302
    service = BillingService.objects.get(organization=fleet.org)
    assert service.enabled and service.state == "IDF" and service.country == "FR"


def test_structured_field_errors_are_422_on_each_field(fleet, client_for):
    data = {**NEW_ADDRESS, "country": "US", "state": "XX", "zipcode": "123"}
    for headers in ({}, HTMX):
        response = client_for(fleet.owner).post(url("enable", fleet.org), data, **headers)
        assert response.status_code == 422
        content = response.content.decode()
        assert "&#x27;XX&#x27; is not a US state; use a two-letter code like IL or the full name." in content
        assert "&#x27;123&#x27; is not a US ZIP code; use 5 digits or ZIP+4, like 62704 or 62704-1234." in content
        assert content.lstrip().startswith('<form id="address-form"') is bool(headers)
    assert not BillingService.objects.exists()
    assert billing_events() == 0


def test_the_enable_page_is_prefilled_with_the_kept_address(world, client_for):
    services.billing_service_disable(actor=SYSTEM, organization=world.org)
    content = client_for(world.owner).get(url("enable", world.org)).content.decode()
    assert 'value="123 Main St"' in content and 'value="Springfield"' in content


def test_enable_and_update_pages_send_to_each_other(world, client_for):
    client = client_for(world.owner)
    assert client.get(url("enable", world.org))["Location"] == url("update", world.org)
    services.billing_service_disable(actor=SYSTEM, organization=world.org)
    assert client.get(url("update", world.org))["Location"] == url("enable", world.org)


def test_every_address_input_has_a_label(fleet, client_for):
    content = client_for(fleet.owner).get(url("enable", fleet.org)).content.decode()
    ids = re.findall(
        r'<(?:input|select|textarea)(?![^>]*type="hidden")(?![^>]*class="visually-hidden")[^>]*\bid="([^"]+)"', content
    )
    assert set(ids) >= {
        "address_paste",
        "address_line1",
        "address_line2",
        "address_city",
        "address_state",
        "address_zipcode",
        "address_country",
    }
    for input_id in ids:
        assert f'<label for="{input_id}"' in content, input_id


def test_the_fill_button_skips_browser_validation_and_enter_saves(fleet, client_for):
    content = client_for(fleet.owner).get(url("enable", fleet.org)).content.decode()
    fill = re.search(r"<button[^>]*value=\"fill\"[^>]*>", content, re.S).group(0)
    assert "formnovalidate" in fill
    assert content.index('value="save"') < content.index('value="fill"')


# ---- disable ---------------------------------------------------------------------------------------


def test_disable_asks_to_type_disable(world, client_for):
    client = client_for(world.owner)
    screen = client.get(url("disable", world.org)).content.decode()
    assert "Type “disable” to confirm" in screen and "What is kept" in screen
    response = client.post(url("disable", world.org), {"confirm": "yes"})
    assert response.status_code == 422
    assert "Type disable to confirm; you typed “yes”. Nothing was changed." in response.content.decode()
    assert BillingService.objects.get(organization=world.org).enabled


def test_disabled_billing_keeps_customers_and_invoices_visible(world, client_for):
    services.billing_service_disable(actor=SYSTEM, organization=world.org)
    content = client_for(world.owner).get(url("service", world.org)).content.decode()
    assert "Billing is off" in content and "123 Main St" in content and "Initech" in content and "INV-00001" in content
    assert "Enable billing…" in content and "Invite a customer" not in content
    assert client_for(world.owner).get(url("invoice_create", world.org))["Location"] == url("service", world.org)


# ---- customers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_attach_errors_are_422_with_the_reason(world, client_for, htmx):
    response = client_for(world.owner).post(
        url("customer_invite", world.org), {"customer_id": "nope"}, **(HTMX if htmx else {})
    )
    assert response.status_code == 422
    content = response.content.decode()
    assert "&#x27;nope&#x27; is not an organization ID; paste the customer organization&#x27;s UUID." in content
    assert content.lstrip().startswith('<section id="billing-customers"') is htmx


def test_detach_asks_first_and_says_invoices_are_kept(world, client_for):
    content = client_for(world.owner).get(url("customer_detach", world.org, world.initech.pk)).content.decode()
    assert "Detach “Initech”?" in content and "1 open one" in content


def test_detaching_a_non_customer_is_404(world, client_for):
    assert client_for(world.owner).get(url("customer_detach", world.org, world.prospect.pk)).status_code == 404


# ---- charges and invoices --------------------------------------------------------------------------


def test_charge_form_preselects_the_customer_and_has_a_token(world, client_for):
    response = client_for(world.owner).get(url("invoice_create", world.org), {"customer": str(world.umbrella.pk)})
    content = response.content.decode()
    assert f'<option value="{world.umbrella.pk}" selected>' in content
    assert re.search(r'name="form_token" value="[\w-]{20,}"', content)


@pytest.mark.parametrize("htmx", [False, True])
def test_charge_errors_are_422_on_each_field(world, client_for, htmx):
    data = {
        "customer": str(world.umbrella.pk),
        "description": "x",
        "subtotal": "1e3",
        "tax": "1.005",
        "form_token": "t",
    }
    response = client_for(world.owner).post(url("invoice_create", world.org), data, **(HTMX if htmx else {}))
    assert response.status_code == 422
    content = response.content.decode()
    assert "&#x27;1e3&#x27; is not an amount; use digits with at most two decimals, like 1250.00." in content
    assert "&#x27;1.005&#x27; has more than two decimal places; round it to cents, like 1250.00." in content
    assert content.lstrip().startswith('<form id="charge-form"') is htmx
    assert Invoice.objects.count() == 1


def test_charging_someone_who_is_not_a_customer_is_422(world, client_for):
    data = {"customer": str(world.prospect.pk), "description": "x", "subtotal": "1", "tax": "0", "form_token": "t"}
    response = client_for(world.owner).post(url("invoice_create", world.org), data)
    assert response.status_code == 422
    assert "Select a valid choice." in response.content.decode()


def test_submitting_the_charge_form_twice_charges_once(world, client_for):
    data = charge_data(world)
    client = client_for(world.owner)
    first = client.post(url("invoice_create", world.org), data)
    second = client.post(url("invoice_create", world.org), data)
    assert first["Location"] == second["Location"]
    assert Invoice.objects.filter(description="Robot rental, April").count() == 1


def test_invoice_detail_shows_the_document(world, client_for):
    content = client_for(world.owner).get(url("invoice", world.org, world.invoice.pk)).content.decode()
    for text in [
        "INV-00001",
        "Initech",
        "Fleet support, March",
        "$100.00",
        "$8.25",
        "$108.25",
        "123 Main St",
        "Customer's view",
    ]:
        assert text in content, text


def test_paying_a_void_invoice_says_why_not(world, client_for):
    services.invoice_void(actor=SYSTEM, invoice=world.invoice)
    client = client_for(world.owner)
    response = client.post(url("invoice_pay", world.org, world.invoice.pk), follow=True)
    assert "INV-00001 is void; a void invoice cannot be paid." in response.content.decode()
    assert Invoice.objects.get(pk=world.invoice.pk).status == "void"
    # and the void screen is not offered for a closed invoice
    assert client.get(url("invoice_void", world.org, world.invoice.pk)).status_code == 302


def test_invoice_list_filters_by_status_and_pages_by_number(world, client_for, monkeypatch):
    monkeypatch.setattr("fleetadmin.billing.selectors.PAGE_SIZE", 3)
    for _ in range(5):
        charge(world, world.umbrella)
    services.invoice_mark_paid(actor=SYSTEM, invoice=Invoice.objects.get(number=2))
    client = client_for(world.owner)
    partial = client.get(url("invoices", world.org), {"before": "4"}, **HTMX).content.decode()
    assert partial.lstrip().startswith('<div id="invoice-table">')
    assert re.findall(r">(INV-\d+)<", partial) == ["INV-00003", "INV-00002", "INV-00001"]
    first = client.get(url("invoices", world.org)).content.decode()
    assert re.findall(r">(INV-\d+)<", first) == ["INV-00006", "INV-00005", "INV-00004"]
    assert "?status=&amp;before=4" in first
    paid = client.get(url("invoices", world.org), {"status": "paid"})
    assert [invoice.number for invoice in paid.context["page"].invoices] == [2]


def test_invoice_of_another_billing_organization_is_404(world, client_for):
    other = OrganizationFactory(name="Other Biller")
    services.billing_service_enable(actor=SYSTEM, organization=other, address=SEED_ADDRESS)
    customer = OrganizationFactory()
    services.customer_attach(actor=SYSTEM, billing_organization=other, customer_id=customer.pk)
    foreign = services.invoice_create(
        actor=SYSTEM, billing_organization=other, customer=customer, description="x", subtotal="1", tax="0"
    )
    assert client_for(world.owner).get(url("invoice", world.org, foreign.pk)).status_code == 404
    assert client_for(world.owner).post(url("invoice_pay", world.org, foreign.pk)).status_code == 404


def test_each_invoice_page_has_one_h1(world, client_for):
    admin = client_for(world.owner).get(url("invoice", world.org, world.invoice.pk)).content.decode()
    assert admin.count("<h1") == 1 and '<h2 id="invoice-title"' in admin
    customer = (
        client_for(world.initech_owner)
        .get(reverse("billing_dashboard:invoice", args=[world.org.pk, world.invoice.pk]))
        .content.decode()
    )
    assert customer.count("<h1") == 1 and '<h1 id="invoice-title"' in customer


def test_a_long_customer_list_is_capped_with_the_total(world, client_for, monkeypatch):
    monkeypatch.setattr("fleetadmin.billing.views.CUSTOMERS_SHOWN", 1)
    content = client_for(world.owner).get(url("service", world.org)).content.decode()
    assert "2 organizations" in content and "Showing the first 1 of 2, by name." in content
    customers = content.split('id="billing-customers"')[1].split("</section>")[0]
    assert "Initech" in customers and "Umbrella Corp" not in customers


@pytest.mark.parametrize("before", ["²", "-1", "abc", "99999999999"])
def test_a_garbage_cursor_is_the_first_page(world, client_for, before):
    response = client_for(world.owner).get(url("invoices", world.org), {"before": before})
    assert response.status_code == 200 and "INV-00001" in response.content.decode()
    dashboard = client_for(world.initech_owner).get(f"/billing/{world.org.pk}/", {"before": before})
    assert dashboard.status_code == 200 and "INV-00001" in dashboard.content.decode()
