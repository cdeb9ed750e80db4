"""What support staff and the customer's members see (issue 12, items 5, 10, 11, 12)."""

import html
import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from fleetadmin.audit.models import AuditEvent
from fleetadmin.support import services
from fleetadmin.support.access import SupportActor
from fleetadmin.support.models import SupportGrant
from tests.mailserver import text_body

pytestmark = pytest.mark.django_db


def verified_client(user) -> Client:
    """Signed in with a second factor, as support staff must be to reach the console."""
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


def text_of(response) -> str:
    """The page's text as a person reads it: tags dropped, whitespace collapsed, no space before , or ."""
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))
    return re.sub(r" ([,.])", r"\1", text)


def open_url(org) -> str:
    return reverse("support:open", args=[org.pk])


# ---- 5. the ticket is always asked for, or confirmed


def test_with_access_open_the_console_names_the_ticket_and_offers_another(fleet, support, open_grant):
    open_grant(support, fleet.org, ticket="SUP-1")
    response = verified_client(support).post(reverse("support:console"), {"q": str(fleet.org.pk)})
    text = text_of(response)
    assert "Open for SUP-1" in text and "Another ticket…" in text
    assert f'href="{open_url(fleet.org)}"' in response.content.decode()


def test_opening_again_asks_which_ticket_and_switching_is_on_the_record(fleet, support, open_grant, clock):
    first = open_grant(support, fleet.org, ticket="SUP-1")
    client = verified_client(support)
    page = client.get(open_url(fleet.org))
    assert page.status_code == 200  # asks, rather than silently going on under SUP-1
    assert "You already have access to Acme Robotics for ticket SUP-1" in text_of(page)
    assert "Continue with ticket SUP-1" in text_of(page)

    same = client.post(open_url(fleet.org), {"ticket": "SUP-1", "reason": "same ticket"})
    assert same.status_code == 302 and SupportGrant.objects.count() == 1

    switched = client.post(open_url(fleet.org), {"ticket": "SUP-2", "reason": "Another customer's question"})
    assert switched.status_code == 302
    first.refresh_from_db()
    assert first.ended_at is not None
    (current,) = SupportGrant.objects.filter(ended_at=None)
    assert current.ticket == "SUP-2"
    actions = list(
        AuditEvent.objects.filter(organization=fleet.org, action__startswith="support.access.")
        .order_by("id")
        .values_list("action", "ticket")
    )
    assert actions == [
        ("support.access.open", "SUP-1"),
        ("support.access.end", "SUP-1"),
        ("support.access.open", "SUP-2"),
    ]


def test_a_refused_ticket_leaves_the_current_access_open(fleet, support, open_grant):
    first = open_grant(support, fleet.org, ticket="SUP-1")
    response = verified_client(support).post(open_url(fleet.org), {"ticket": "nope", "reason": "x"})
    assert response.status_code == 422
    first.refresh_from_db()
    assert first.ended_at is None


# ---- 10. support staff land on the console; the ticket help shows an example


def test_support_staff_land_on_the_console(support):
    response = verified_client(support).get(reverse("fleet:home"))
    assert response.status_code == 302 and response["Location"] == reverse("support:console")


def test_the_ticket_help_shows_an_example_not_the_pattern(fleet, support):
    text = text_of(verified_client(support).get(open_url(fleet.org)))
    assert "As your ticket system writes it, for example ABC-123." in text
    assert "^[A-Z]" not in text


# ---- 11. billing disabled: say what the customer must do


def test_billing_disabled_tells_support_what_the_customer_must_do(fleet, support, open_grant):
    grant = open_grant(support, fleet.org)
    response = verified_client(support).get(reverse("support:billing_address", args=[grant.pk]))
    text = text_of(response)
    assert "Billing is not enabled for Acme Robotics" in text
    assert "an owner of Acme Robotics signs in, opens Billing and presses Enable billing" in text
    assert f"Owners who can do it: {fleet.owner.email}." in text


# ---- 12. members see the access, owners are mailed, page views stay out of Activity


def test_members_see_a_banner_while_support_has_access(fleet, support, open_grant, client_for):
    overview = reverse("fleet:organization", args=[fleet.org.pk])
    assert "Support has read-only access" not in text_of(client_for(fleet.operator).get(overview))
    grant = open_grant(support, fleet.org, ticket="SUP-42")
    text = text_of(client_for(fleet.operator).get(overview))
    assert f"Support has read-only access: {support.email}, ticket SUP-42, until " in text
    assert grant.expires_at.strftime("%b %-d, %H:%M UTC") in text
    services.support_grant_end(actor=support, grant=grant)
    assert "Support has read-only access" not in text_of(client_for(fleet.operator).get(overview))


def test_owners_are_mailed_when_access_opens(fleet, support, smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.support_grant_open(actor=support, organization=fleet.org, ticket="SUP-42", reason="Key question")
    (message,) = smtp_server.wait_for(fleet.owner.email)
    assert message["Subject"] == "Support opened access to Acme Robotics for ticket SUP-42"
    body = text_body(message)
    assert support.email in body and "Reason: Key question" in body
    assert f"/orgs/{fleet.org.pk}/support-access/" in body
    assert fleet.operator.email not in message["X-Envelope-To"]


def test_support_page_views_stay_out_of_the_activity_panel(fleet, support, open_grant, client_for):
    grant = open_grant(support, fleet.org)
    services.support_page_view_record(actor=SupportActor(support, grant), path="/x/", page="Overview")
    assert AuditEvent.objects.filter(action="support.access.view").count() == 1
    response = client_for(fleet.owner).get(reverse("fleet:activity", args=[fleet.org.pk]), HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert "support.access.open" in content  # opening access is a change the owners see
    assert "support.access.view" not in content
    log = client_for(fleet.owner).get(reverse("audit:log", args=[fleet.org.pk]), {"q": "action:support.access.view"})
    assert "support.access.view" in log.content.decode()  # still in the audit log
