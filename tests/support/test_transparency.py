"""The customer's "Support access" page: who, when, which ticket, why, what they viewed and did."""

import pytest
from django.urls import reverse

from fleetadmin.audit.models import ActorType
from fleetadmin.support import selectors, services
from fleetadmin.support.access import SupportActor
from tests.support.conftest import events

pytestmark = pytest.mark.django_db


def page_url(org):
    return reverse("support_access:list", args=[org.pk])


@pytest.fixture
def session(fleet, customer, support, open_grant, client_for, clock):
    """Sam opens Acme for SUP-1234, looks at three pages, deletes the leaked key and ends access."""
    grant = open_grant(support, fleet.org, ticket="SUP-1234", reason="Customer says key deploy-bot leaked")
    client = client_for(support)
    client.get(reverse("fleet:organization", args=[fleet.org.pk]))
    client.get(reverse("keys:list", args=[fleet.org.pk]))
    client.get(reverse("keys:detail", args=[fleet.org.pk, customer.key.pk]))
    client.post(reverse("support:delete_key", args=[grant.pk]), {"key": str(customer.key.pk)})
    clock.advance(minutes=5)
    client.post(reverse("support:end", args=[grant.pk]))
    return grant


def test_the_owner_sees_who_when_which_ticket_why_what_was_viewed_and_done(
    fleet, customer, support, session, client_for
):
    response = client_for(fleet.owner).get(page_url(fleet.org))
    content = response.content.decode()
    assert response.status_code == 200
    assert support.email in content
    assert "SUP-1234" in content
    assert "Customer says key deploy-bot leaked" in content
    org = fleet.org.pk
    assert f'<a href="{reverse("fleet:organization", args=[org])}">Overview</a>' in content
    assert f'<a href="{reverse("keys:list", args=[org])}">API keys</a>' in content
    key_page = reverse("keys:detail", args=[org, customer.key.pk])
    assert f'<a href="{key_page}">API key</a> <code class="mono subtle-inline">{customer.key.pk}</code>' in content
    assert "deleted api key <strong>deploy-bot</strong>" in content
    assert "keys.api_key.delete" in content
    assert "Ended" in content
    assert "ticket%3ASUP-1234" in content  # the link to the ticket's events in the audit log


def test_sessions_are_read_from_the_audit_log(fleet, support, session):
    [read] = selectors.access_sessions(fleet.org).sessions
    assert read.grant_id == str(session.pk) and read.reason == "Customer says key deploy-bot leaked"
    assert [v.page for v in read.viewed] == ["Overview", "API keys", "API key"]
    assert [e.action for e in read.actions] == ["keys.api_key.delete"]
    assert read.ended is not None and read.ended.actor_type == ActorType.SUPPORT


def test_two_engineers_and_two_sessions_are_kept_apart(fleet, customer, support, other_support, open_grant, clock):
    first = open_grant(support, fleet.org, ticket="SUP-1", reason="first")
    second = open_grant(other_support, fleet.org, ticket="SUP-2", reason="second")
    services.support_api_key_delete(actor=SupportActor(other_support, second), key=customer.key)
    services.support_grant_end(actor=support, grant=first)
    sessions = selectors.access_sessions(fleet.org).sessions
    assert [s.opened.ticket for s in sessions] == ["SUP-2", "SUP-1"]
    assert [e.action for e in sessions[0].actions] == ["keys.api_key.delete"] and sessions[1].actions == []
    assert sessions[1].ended is not None and sessions[0].ended is None
    assert sessions[0].status(clock.now) == "active"
    clock.advance(hours=2)
    assert sessions[0].status(clock.now) == "expired"


def test_an_owner_can_end_a_support_engineers_access(fleet, support, open_grant, client_for):
    grant = open_grant(support, fleet.org, ticket="SUP-8")
    owner = client_for(fleet.owner)
    content = owner.get(page_url(fleet.org)).content.decode()
    assert "Access open now" in content and support.email in content
    end_url = reverse("support_access:end", args=[fleet.org.pk, grant.pk])
    assert f'action="{end_url}"' in content
    response = owner.post(end_url)
    assert response["Location"] == page_url(fleet.org)
    [end] = events(fleet.org, action="support.access.end")
    assert (end.actor_type, end.actor_name, end.ticket) == (ActorType.USER, fleet.owner.email, "SUP-8")
    assert client_for(support).get(reverse("fleet:organization", args=[fleet.org.pk])).status_code == 302
    assert f"by {fleet.owner.email}" in owner.get(page_url(fleet.org)).content.decode()


def test_operators_see_the_page_but_cannot_end_access(fleet, support, open_grant, client_for):
    grant = open_grant(support, fleet.org)
    response = client_for(fleet.operator).get(page_url(fleet.org))
    assert response.status_code == 200
    end_url = reverse("support_access:end", args=[fleet.org.pk, grant.pk])
    assert end_url not in response.content.decode()
    assert client_for(fleet.operator).post(end_url).status_code == 403
    grant.refresh_from_db()
    assert grant.ended_at is None


def test_who_else_sees_the_page(fleet, support, client_for, staff):
    assert client_for(fleet.location_owner).get(page_url(fleet.org)).status_code == 403
    for user in (fleet.outsider, support, staff):
        assert client_for(user).get(page_url(fleet.org)).status_code == 404


def test_the_sidebar_links_the_page_for_owners_and_operators_only(fleet, client_for):
    overview = reverse("fleet:organization", args=[fleet.org.pk])
    link = f'href="{page_url(fleet.org)}"'
    assert link in client_for(fleet.owner).get(overview).content.decode()
    assert link in client_for(fleet.operator).get(overview).content.decode()
    assert link not in client_for(fleet.location_owner).get(overview).content.decode()


def test_an_organization_never_opened_says_so(fleet, client_for):
    content = client_for(fleet.owner).get(page_url(fleet.org)).content.decode()
    assert "Support staff have never opened Acme Robotics." in content
    assert "Nobody from support has access to Acme Robotics right now." in content


def test_sessions_come_in_pages(fleet, support, open_grant, client_for, monkeypatch, clock):
    monkeypatch.setattr(selectors, "SESSIONS_PER_PAGE", 2)
    for n in range(3):
        grant = open_grant(support, fleet.org, ticket=f"SUP-{n}", reason=f"reason {n}")
        services.support_grant_end(actor=support, grant=grant)
    first = selectors.access_sessions(fleet.org)
    assert [s.opened.ticket for s in first.sessions] == ["SUP-2", "SUP-1"]
    second = selectors.access_sessions(fleet.org, before=first.next_before)
    assert [s.opened.ticket for s in second.sessions] == ["SUP-0"] and second.next_before is None
    content = client_for(fleet.owner).get(page_url(fleet.org)).content.decode()
    assert f'href="?before={first.next_before}"' in content


def test_the_page_takes_a_fixed_number_of_queries(
    fleet, customer, support, open_grant, client_for, clock, django_assert_max_num_queries
):
    client = client_for(fleet.owner)
    client.get(page_url(fleet.org))
    for n in range(5):
        grant = open_grant(support, fleet.org, ticket=f"SUP-{n}")
        services.support_page_view_record(actor=SupportActor(support, grant), path=f"/x/{n}", page="Overview")
        services.support_grant_end(actor=support, grant=grant)
    with django_assert_max_num_queries(12):
        assert client.get(page_url(fleet.org)).status_code == 200
