"""Browser test of white-label billing, end to end: enable by pasting the seed's one-line address,
update, disable and enable again, invite a customer (its owner accepts) and charge it, then see the invoice as the
customer's owner, branded as the billing organization with no trace of the portal.

The test makes its own organizations and users (through the services, in the server's shell),
so it neither depends on nor disturbs the demo data other tests use.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

SEED_ADDRESS = "123 Main St, Springfield, IL, 62704"


@pytest.fixture
def billing_world(portal_server, unique) -> dict:
    """A billing organization with an owner, a customer organization with an owner, and the biller's brand."""
    suffix = unique("x").split()[-1]
    code = f"""
import io, json
from PIL import Image
from django.contrib.auth import get_user_model
from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet import services
from fleetadmin.fleet.models import Role
from fleetadmin.oauth import services as oauth
User = get_user_model()
def member(org, email):
    user = User.objects.create_user(email=email, password={portal_server.password!r})
    services.membership_grant(actor=SYSTEM, user=user, organization=org, role=Role.ORGANIZATION_OWNER)
biller = services.organization_create(actor=SYSTEM, name="Biller {suffix}")
customer = services.organization_create(actor=SYSTEM, name="Customer {suffix}")
member(biller, "biller-{suffix}@example.com")
member(customer, "customer-{suffix}@example.com")
buffer = io.BytesIO(); Image.new("RGBA", (96, 48), (14, 116, 144, 255)).save(buffer, format="PNG")
oauth.logo_set(actor=SYSTEM, organization=biller, data=buffer.getvalue())
oauth.support_email_set(actor=SYSTEM, organization=biller, email="help-{suffix}@biller.example")
print(json.dumps({{"biller": str(biller.pk), "customer": str(customer.pk), "suffix": "{suffix}"}}))
"""
    return portal_server.query(code)


def test_billing_end_to_end(page: Page, login, console_errors, billing_world, new_context):
    suffix, biller, customer = billing_world["suffix"], billing_world["biller"], billing_world["customer"]
    login(page, f"biller-{suffix}@example.com")
    page.goto(f"/orgs/{biller}/billing/")
    expect(page.get_by_role("navigation").get_by_role("link", name="Billing")).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name="Enable billing…").click()

    # Paste the seed's one-line address: the structured fields fill in place.
    page.get_by_label("One line").fill(SEED_ADDRESS)
    page.get_by_role("button", name="Fill from pasted address").click()
    expect(page.get_by_label("Address line 1")).to_have_value("123 Main St")
    expect(page.get_by_label("City")).to_have_value("Springfield")
    expect(page.get_by_label("State / region")).to_have_value("IL")
    expect(page.get_by_label("ZIP / postal code")).to_have_value("62704")
    page.get_by_role("button", name="Enable billing").click()
    expect(page).to_have_url(re.compile(rf"/orgs/{biller}/billing/$"))
    config = page.locator("#billing-config")
    expect(config).to_contain_text(SEED_ADDRESS)
    expect(config).to_contain_text(f"help-{suffix}@biller.example")
    expect(config).to_contain_text(f"/billing/{biller}/")

    # Update the address with a pasted line that does not parse, then one that does.
    page.get_by_role("link", name="Change address").click()
    page.get_by_label("One line").fill("500 Oak Ave, Austin, XX, 78701")
    page.get_by_role("button", name="Fill from pasted address").click()
    expect(page.locator("#address-form")).to_contain_text("state: 'XX' is not a US state")
    page.get_by_label("One line").fill("500 Oak Ave, Suite 200, Austin, TX, 78701")
    page.get_by_role("button", name="Fill from pasted address").click()
    expect(page.get_by_label("Address line 2")).to_have_value("Suite 200")
    page.get_by_role("button", name="Save address").click()
    expect(page.locator("#billing-config")).to_contain_text("500 Oak Ave, Suite 200, Austin, TX, 78701")

    # Disable (type "disable"), then enable again from the kept address.
    page.get_by_role("link", name="Disable…").click()
    page.get_by_label("Type “disable” to confirm").fill("disable")
    page.get_by_role("button", name="Disable billing").click()
    expect(page.locator("#billing-state")).to_contain_text("Disabled")
    page.get_by_role("link", name="Enable billing…").click()
    expect(page.get_by_label("City")).to_have_value("Austin")
    page.get_by_role("button", name="Enable billing").click()
    expect(page.locator("#billing-state")).to_contain_text("Enabled")

    # Invite the customer by its id: nothing about it shows until one of its owners accepts.
    page.get_by_label("Customer organization ID").fill(customer)
    page.locator("#billing-customers").get_by_role("button", name="Invite").click()
    expect(page.locator("#billing-customers")).to_contain_text("Waiting for an owner of this organization to accept")
    expect(page.locator("#billing-customers")).not_to_contain_text(f"Customer {suffix}")

    # The customer's owner accepts on their own billing page.
    context = new_context()
    customer_page = context.new_page()
    console_errors.attach(customer_page)
    login(customer_page, f"customer-{suffix}@example.com")
    customer_page.goto(f"/orgs/{customer}/billing/")
    invitations = customer_page.locator("#billing-invitations")
    expect(invitations).to_contain_text(f"Biller {suffix}")
    invitations.get_by_role("button", name="Accept").click()
    expect(customer_page.locator("#messages")).to_contain_text(f"Biller {suffix} now bills")

    # Now the biller sees its customer, and charges it.
    page.reload()
    expect(page.locator("#billing-customers")).to_contain_text(f"Customer {suffix}")
    page.get_by_role("link", name=f"Charge Customer {suffix}").click()
    page.get_by_label("Description").fill("Fleet support, March")
    page.get_by_label("Subtotal (USD)").fill("1,250.00")
    page.get_by_label("Tax (USD)").fill("103.13")
    page.get_by_role("button", name="Issue invoice").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("INV-00001")
    expect(page.locator(".invoice-doc")).to_contain_text("$1,353.13")
    assert not console_errors, "\n".join(console_errors)

    # The customer's owner sees the invoice under the biller's brand only.
    customer_page.goto(f"/billing/{biller}/")
    expect(customer_page.locator(".bl-brand")).to_contain_text(f"Biller {suffix}")
    expect(customer_page.locator(".bl-brand img")).to_be_visible()
    expect(customer_page.locator("footer")).to_contain_text(f"help-{suffix}@biller.example")
    customer_page.get_by_role("link", name="INV-00001").click()
    document = customer_page.locator(".invoice-doc")
    expect(document).to_contain_text("$1,353.13")
    expect(document).to_contain_text(f"help-{suffix}@biller.example")
    expect(document).to_contain_text("500 Oak Ave")
    logo = document.locator(".invoice-logo img")
    expect(logo).to_be_visible()
    assert logo.evaluate("img => img.naturalWidth") == 96
    assert "fleetadmin" not in customer_page.content().lower()
    customer_page.emulate_media(media="print")
    expect(customer_page.locator(".bl-header")).to_be_hidden()
    expect(document).to_be_visible()
    assert not console_errors, "\n".join(console_errors)
