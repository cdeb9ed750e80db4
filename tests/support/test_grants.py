"""Opening, expiring and ending a grant; the ticket pattern; one grant per organization."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from fleetadmin.audit.models import ActorType
from fleetadmin.support import services
from fleetadmin.support.models import SupportGrant
from tests.conftest import T0
from tests.factories import OrganizationFactory
from tests.support.conftest import events

pytestmark = pytest.mark.django_db

PATTERN_MESSAGE = "The ticket reference must match ^[A-Z][A-Z0-9]*-\\d+$ (for example SUP-1234); got {!r}."


def open_url(org):
    return reverse("support:open", args=[org.pk])


def overview(org):
    return reverse("fleet:organization", args=[org.pk])


def test_opening_records_who_which_ticket_and_why_in_the_customers_log(fleet, support, open_grant, clock):
    grant = open_grant(support, fleet.org, ticket="SUP-1234", reason="Key stopped working")
    assert (grant.staff, grant.organization, grant.ticket) == (support, fleet.org, "SUP-1234")
    assert grant.created_at == T0 and (grant.expires_at - T0).total_seconds() == 3600
    [event] = events(fleet.org)
    assert event.action == "support.access.open"
    assert (event.actor_type, event.actor_id, event.actor_name) == (ActorType.SUPPORT, str(support.pk), support.email)
    assert event.ticket == "SUP-1234"
    assert event.changes["after"]["reason"] == "Key stopped working"
    assert event.changes["after"]["grant"] == str(grant.pk)


@pytest.mark.parametrize("ticket", ["sup-1", "SUP1", "SUP-", "-12", "SUP-12a", "SUP 12", "1SUP-2"])
def test_a_ticket_must_match_the_pattern(fleet, support, open_grant, ticket):
    with pytest.raises(ValidationError) as error:
        open_grant(support, fleet.org, ticket=ticket)
    assert error.value.message_dict["ticket"] == [PATTERN_MESSAGE.format(ticket)]
    assert not SupportGrant.objects.exists() and not events(fleet.org)


@pytest.mark.parametrize("ticket", ["SUP-1", "ZD-998877", "A-0", "JIRA2-15"])
def test_tickets_that_match_the_pattern(fleet, support, open_grant, ticket):
    assert open_grant(support, fleet.org, ticket=ticket).ticket == ticket


def test_the_pattern_and_duration_are_settings(fleet, support, open_grant, settings, clock):
    settings.SUPPORT_TICKET_PATTERN = r"^#\d{4,}$"
    settings.SUPPORT_GRANT_MINUTES = 15
    grant = open_grant(support, fleet.org, ticket="#20931")
    assert (grant.expires_at - grant.created_at).total_seconds() == 15 * 60
    with pytest.raises(ValidationError) as error:
        open_grant(support, OrganizationFactory(), ticket="SUP-1")
    assert error.value.message_dict["ticket"] == [
        "The ticket reference must match ^#\\d{4,}$ (for example SUP-1234); got 'SUP-1'."
    ]


def test_a_reason_is_required(fleet, support, open_grant):
    with pytest.raises(ValidationError) as error:
        open_grant(support, fleet.org, reason="   ")
    assert error.value.message_dict["reason"] == ["Say why you need access; the customer reads this."]


def test_only_support_staff_can_open(fleet, staff, open_grant):
    for user in (staff, fleet.owner):
        with pytest.raises(PermissionDenied):
            open_grant(user, fleet.org)
    assert not SupportGrant.objects.exists()


def test_an_active_grant_is_never_extended_by_opening_again(fleet, support, open_grant, clock):
    grant = open_grant(support, fleet.org)
    clock.advance(minutes=50)
    with pytest.raises(services.GrantAlreadyActive):
        open_grant(support, fleet.org, ticket="SUP-9")
    grant.refresh_from_db()
    assert grant.expires_at == T0.replace(hour=6)  # unchanged: T0 + 60 minutes
    assert SupportGrant.objects.count() == 1


def test_the_open_form_validates_with_the_exact_message(fleet, support, client_for):
    response = client_for(support).post(open_url(fleet.org), {"ticket": "ticket 12", "reason": ""})
    content = response.content.decode()
    assert response.status_code == 422
    assert PATTERN_MESSAGE.format("ticket 12").replace("'", "&#x27;") in content
    assert "Say why you need access; the customer reads this." in content
    assert '<label for="id_ticket">Ticket reference</label>' in content
    assert '<label for="id_reason">Reason</label>' in content
    empty = client_for(support).post(open_url(fleet.org), {"ticket": "", "reason": "x"})
    assert "Enter the ticket reference; it must match ^[A-Z][A-Z0-9]*-\\d+$." in empty.content.decode()
    assert not SupportGrant.objects.exists()


def test_the_open_form_opens_and_lands_on_the_overview(fleet, support, client_for, clock):
    client = client_for(support)
    assert client.get(open_url(fleet.org)).status_code == 200
    response = client.post(open_url(fleet.org), {"ticket": "SUP-77", "reason": "Billing question"})
    assert response.status_code == 302 and response["Location"] == overview(fleet.org)
    assert client.get(overview(fleet.org)).status_code == 200


def test_the_open_form_lands_on_the_page_that_matched_but_never_elsewhere(fleet, support, client_for, customer):
    key_page = reverse("keys:detail", args=[fleet.org.pk, customer.key.pk])
    response = client_for(support).post(
        open_url(fleet.org), {"ticket": "SUP-1", "reason": "Leaked key", "next": key_page}
    )
    assert response["Location"] == key_page
    other = OrganizationFactory()
    for evil in ["https://evil.example/", "//evil.example/x", overview(other), f"/orgs/{fleet.org.pk}/\\evil"]:
        response = client_for(support).post(open_url(other), {"ticket": "SUP-1", "reason": "x", "next": evil})
        assert response["Location"] == overview(other), evil
        SupportGrant.objects.filter(organization=other).update(ended_at=T0)


def test_opening_an_organization_you_can_already_see_asks_which_ticket(fleet, support, open_grant, client_for):
    grant = open_grant(support, fleet.org)
    client = client_for(support)
    response = client.get(open_url(fleet.org))
    assert response.status_code == 200  # always asked (or confirmed), never a silent pass under the old ticket
    assert grant.ticket in response.content.decode()
    response = client.post(open_url(fleet.org), {"ticket": grant.ticket, "reason": "same ticket"})
    assert response.status_code == 302 and response["Location"] == overview(fleet.org)
    assert SupportGrant.objects.count() == 1


def test_the_open_form_is_a_404_for_non_support_users_and_unknown_organizations(fleet, staff, support, client_for):
    assert client_for(staff).get(open_url(fleet.org)).status_code == 404
    assert client_for(fleet.owner).post(open_url(fleet.org), {"ticket": "SUP-1", "reason": "x"}).status_code == 404
    missing = reverse("support:open", args=["00000000-0000-4000-8000-000000000000"])
    assert client_for(support).get(missing).status_code == 404
    assert not SupportGrant.objects.exists()


def test_an_expired_grant_sends_the_engineer_back_to_the_console(fleet, support, open_grant, client_for, clock):
    open_grant(support, fleet.org, ticket="SUP-5")
    client = client_for(support)
    clock.advance(minutes=59, seconds=59)
    assert client.get(overview(fleet.org)).status_code == 200
    clock.advance(seconds=1)
    response = client.get(overview(fleet.org))
    assert response.status_code == 302 and response["Location"] == reverse("support:console")
    console = client.get(response["Location"]).content.decode()
    assert "Your support access to Acme Robotics for ticket SUP-5 expired at 06:06 UTC." in console
    htmx = client.get(overview(fleet.org), HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and htmx["HX-Redirect"] == reverse("support:console")


def test_after_expiry_a_new_grant_can_be_opened(fleet, support, open_grant, client_for, clock):
    open_grant(support, fleet.org)
    clock.advance(minutes=61)
    grant = open_grant(support, fleet.org, ticket="SUP-6")
    assert client_for(support).get(overview(fleet.org)).status_code == 200
    assert SupportGrant.objects.count() == 2 and grant.ticket == "SUP-6"


def test_ending_early_records_it_and_closes_access(fleet, support, open_grant, client_for, clock):
    grant = open_grant(support, fleet.org)
    client = client_for(support)
    clock.advance(minutes=10)
    response = client.post(reverse("support:end", args=[grant.pk]))
    assert response["Location"] == reverse("support:console")
    grant.refresh_from_db()
    assert grant.ended_at == clock.now
    end = events(fleet.org, action="support.access.end")[0]
    assert (end.actor_type, end.ticket) == (ActorType.SUPPORT, "SUP-1234")
    response = client.get(overview(fleet.org))
    assert response.status_code == 302 and response["Location"] == reverse("support:console")
    client.post(reverse("support:end", args=[grant.pk]))  # ending twice records once
    assert len(events(fleet.org, action="support.access.end")) == 1


def test_one_engineer_cannot_end_anothers_grant(fleet, support, other_support, open_grant, client_for):
    grant = open_grant(support, fleet.org)
    assert client_for(other_support).post(reverse("support:end", args=[grant.pk])).status_code == 404
    grant.refresh_from_db()
    assert grant.ended_at is None


def test_a_second_organization_needs_its_own_grant(fleet, support, open_grant, client_for, clock):
    open_grant(support, fleet.org)
    globex = fleet.outsider.memberships.get().organization
    client = client_for(support)
    assert client.get(overview(fleet.org)).status_code == 200
    assert client.get(overview(globex)).status_code == 404
    open_grant(support, globex, ticket="SUP-2")
    assert client.get(overview(globex)).status_code == 200
    opens = events(globex, action="support.access.open")
    assert [e.ticket for e in opens] == ["SUP-2"]


def test_there_is_no_way_to_change_a_grant(fleet, support, open_grant, client_for):
    grant = open_grant(support, fleet.org)
    client = client_for(support)
    response = client.post(
        reverse("support:grant", args=[grant.pk]), {"expires_at": "2099-01-01T00:00:00Z", "ticket": "SUP-9"}
    )
    assert response.status_code == 405
    grant.refresh_from_db()
    assert grant.ticket == "SUP-1234" and grant.expires_at.year == 2025 and grant.organization == fleet.org
