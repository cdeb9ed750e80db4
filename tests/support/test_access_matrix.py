"""Every customer page × who asks: support with a grant, without, with a grant elsewhere; staff; the owner.

Support staff read the customer's own pages, unchanged, through the middleware; these
tests hold those pages to "read-only, no write control, no secret" under a grant, and to
the outsider's 404 without one.
"""

import re

import pytest
from django.urls import reverse

from fleetadmin.audit.models import AuditEvent
from fleetadmin.fleet.models import Location
from fleetadmin.keys.models import ApiKey
from fleetadmin.oauth.models import AuthService, OAuthApplication
from tests.factories import OrganizationFactory
from tests.support.conftest import CLIENT_SECRET_PREFIX, KEY_VALUE_PREFIX

pytestmark = pytest.mark.django_db

FORM = re.compile(r"(<form\b[^>]*>)(.*?)</form>", re.I | re.S)
WRITE_LABELS = [
    "Add a location",
    "Add a machine",
    "Create API key",
    "Rotate…",
    "Delete…",
    "Duplicate",
    "Rename",
    "Verify now",
    "Disable…",
    "Enable auth service",
    "Create application",
    "Rotate secret…",
    "Upload logo",
    "Charge a customer",
    "Enable billing",
    'type="file"',
    'type="checkbox"',
    "hx-post",
]


def customer_pages(fleet, customer) -> dict[str, str]:
    org = fleet.org.pk
    return {
        "overview": reverse("fleet:organization", args=[org]),
        "activity": reverse("fleet:activity", args=[org]),
        "keys": reverse("keys:list", args=[org]),
        "key_detail": reverse("keys:detail", args=[org, customer.key.pk]),
        "audit_log": reverse("audit:log", args=[org]),
        "audit_event": reverse("audit:event", args=[org, AuditEvent.objects.filter(organization=org).first().pk]),
        "support_access": reverse("support_access:list", args=[org]),
        "auth_service": reverse("oauth:service", args=[org]),
        "oauth_apps": reverse("oauth:apps", args=[org]),
        "oauth_app": reverse("oauth:app_detail", args=[org, customer.app.pk]),
        "signin_preview": reverse("oauth:preview", args=[org]),
        "billing": reverse("billing:service", args=[org]),
        "invoices": reverse("billing:invoices", args=[org]),
        "invoice": reverse("billing:invoice", args=[org, customer.invoice.pk]),
    }


PAGES = ["overview", "activity", "keys", "key_detail", "audit_log", "audit_event", "support_access"]
PAGES += ["auth_service", "oauth_apps", "oauth_app", "signin_preview", "billing", "invoices", "invoice"]


def post_forms(content: str) -> list[str]:
    """The action of every POST form on the page that can be submitted (copy buttons do not submit)."""
    actions = []
    for tag, body in FORM.findall(content):
        submits = [b for b in re.findall(r"<button\b[^>]*>", body, re.I) if 'type="button"' not in b]
        submits += re.findall(r'<input\b[^>]*type="submit"', body, re.I)
        if re.search(r'method="post"', tag, re.I) and submits:
            found = re.search(r'action="([^"]*)"', tag)
            actions.append(found.group(1) if found else "")
    return actions


def assert_no_secret(content: str) -> None:
    assert KEY_VALUE_PREFIX not in content
    assert CLIENT_SECRET_PREFIX not in content


@pytest.mark.parametrize("screen", PAGES)
def test_support_with_a_grant_reads_the_page_with_no_write_control(
    fleet, customer, support, open_grant, client_for, screen
):
    grant = open_grant(support, fleet.org)
    response = client_for(support).get(customer_pages(fleet, customer)[screen])
    content = response.content.decode()
    assert response.status_code == 200
    assert_no_secret(content)
    for label in WRITE_LABELS:
        assert label not in content, label
    allowed = {reverse("support:end", args=[grant.pk]), reverse("accounts:logout")}
    assert set(post_forms(content)) <= allowed
    assert "Support access</strong> to Acme Robotics for ticket <code" in content  # the banner
    assert reverse("support:end", args=[grant.pk]) in content


@pytest.mark.parametrize("screen", PAGES)
def test_support_without_a_grant_gets_404(fleet, customer, support, client_for, screen):
    assert client_for(support).get(customer_pages(fleet, customer)[screen]).status_code == 404


@pytest.mark.parametrize("screen", PAGES)
def test_support_with_a_grant_for_another_organization_gets_404(
    fleet, customer, support, open_grant, client_for, screen
):
    open_grant(support, OrganizationFactory(name="Somewhere else"))
    assert client_for(support).get(customer_pages(fleet, customer)[screen]).status_code == 404


@pytest.mark.parametrize("screen", PAGES)
def test_staff_without_the_support_group_gets_404(fleet, customer, staff, client_for, screen):
    assert client_for(staff).get(customer_pages(fleet, customer)[screen]).status_code == 404


@pytest.mark.parametrize("screen", PAGES)
def test_the_owner_reads_the_page(fleet, customer, client_for, screen):
    response = client_for(fleet.owner).get(customer_pages(fleet, customer)[screen])
    assert response.status_code == 200
    assert_no_secret(response.content.decode())
    assert "support-banner" not in response.content.decode()


def test_a_grant_held_by_someone_else_gives_nothing(fleet, customer, support, other_support, open_grant, client_for):
    open_grant(other_support, fleet.org)
    assert client_for(support).get(customer_pages(fleet, customer)["overview"]).status_code == 404


def test_the_sidebar_shows_the_support_link_only_to_support_staff(fleet, customer, support, open_grant, client_for):
    open_grant(support, fleet.org)
    link = f'href="{reverse("support:console")}"'
    overview = customer_pages(fleet, customer)["overview"]
    assert link in client_for(support).get(overview).content.decode()
    assert link not in client_for(fleet.owner).get(overview).content.decode()


def write_attempts(fleet, customer) -> dict[str, tuple[str, dict]]:
    org = fleet.org.pk
    return {
        "location_create": (reverse("fleet:location_create", args=[org]), {"name": "Annex", "parent": ""}),
        "location_rename": (reverse("fleet:location_rename", args=[org, fleet.warehouse.pk]), {"name": "W2"}),
        "key_create": (
            reverse("keys:create", args=[org]),
            {"scope_type": "organization", "access": "owner", "name": "support-key", "expiry": "never"},
        ),
        "key_rotate": (reverse("keys:rotate", args=[org, customer.key.pk]), {"grace": "none"}),
        "key_delete": (reverse("keys:delete", args=[org, customer.key.pk]), {}),
        "key_rename": (reverse("keys:rename", args=[org, customer.key.pk]), {"name": "renamed"}),
        "audit_verify": (reverse("audit:verify", args=[org]), {}),
        "support_access_end": (
            reverse("support_access:end", args=[org, "00000000-0000-4000-8000-000000000000"]),
            {},
        ),
        "oauth_disable": (reverse("oauth:disable", args=[org]), {"confirm": "disable"}),
        "oauth_rotate": (reverse("oauth:app_rotate", args=[org, customer.app.pk]), {"confirm": "rotate"}),
        "oauth_delete": (reverse("oauth:app_delete", args=[org, customer.app.pk]), {"confirm": "delete"}),
        "billing_update": (reverse("billing:update", args=[org]), {"address": "1 New St, Austin, TX, 78701"}),
        "billing_disable": (reverse("billing:disable", args=[org]), {"confirm": "disable"}),
    }


WRITES = ["location_create", "location_rename", "key_create", "key_rotate", "key_delete", "key_rename"]
WRITES += ["audit_verify", "support_access_end", "oauth_disable", "oauth_rotate", "oauth_delete"]
WRITES += ["billing_update", "billing_disable"]


@pytest.mark.parametrize("case", WRITES)
def test_support_cannot_write_on_the_customers_pages(fleet, customer, support, open_grant, client_for, case):
    open_grant(support, fleet.org)
    before = AuditEvent.objects.count()
    keys_before = set(ApiKey.objects.values_list("pk", "name", "deleted_at", "replaced_by"))
    locations_before = set(Location.objects.values_list("pk", "name"))
    path, data = write_attempts(fleet, customer)[case]
    response = client_for(support).post(path, data)
    assert response.status_code == 403, response.status_code
    assert_no_secret(response.content.decode())
    assert AuditEvent.objects.count() == before
    assert set(ApiKey.objects.values_list("pk", "name", "deleted_at", "replaced_by")) == keys_before
    assert set(Location.objects.values_list("pk", "name")) == locations_before
    assert AuthService.objects.get(organization=fleet.org).enabled
    assert OAuthApplication.objects.get(pk=customer.app.pk).secret_hash == customer.app.secret_hash


def test_support_cannot_open_a_customer_write_form(fleet, customer, support, open_grant, client_for):
    open_grant(support, fleet.org)
    org = fleet.org.pk
    for path in [
        reverse("keys:create", args=[org]),
        reverse("keys:rotate", args=[org, customer.key.pk]),
        reverse("fleet:location_rename", args=[org, fleet.warehouse.pk]),
    ]:
        assert client_for(support).get(path).status_code == 403, path


def test_the_json_api_gives_support_staff_nothing_even_under_a_grant(fleet, support, open_grant, client_for):
    open_grant(support, fleet.org)
    response = client_for(support).get(f"/api/v1/orgs/{fleet.org.pk}")
    assert response.status_code == 404
