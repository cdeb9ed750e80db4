"""Every page support views under a grant lands in the customer's audit log: once per page and minute."""

import pytest
from django.urls import reverse

from fleetadmin.audit.models import ActorType
from tests.support.conftest import events

pytestmark = pytest.mark.django_db


@pytest.fixture
def grant(fleet, support, open_grant):
    return open_grant(support, fleet.org, ticket="SUP-42")


def views(org):
    return events(org, action="support.access.view")


def test_a_page_view_is_recorded_with_the_ticket(fleet, support, grant, client_for):
    path = reverse("fleet:organization", args=[fleet.org.pk])
    client_for(support).get(path)
    [event] = views(fleet.org)
    assert (event.actor_type, event.actor_id, event.actor_name) == (ActorType.SUPPORT, str(support.pk), support.email)
    assert event.ticket == "SUP-42"
    assert event.changes["after"] == {"grant": str(grant.pk), "page": "Overview", "path": path}


def test_two_views_in_a_minute_are_one_event_and_the_next_minute_another(fleet, support, grant, client_for, clock):
    client = client_for(support)
    path = reverse("keys:list", args=[fleet.org.pk])
    client.get(path)
    clock.advance(seconds=30)
    client.get(path, {"q": "deploy"})
    assert len(views(fleet.org)) == 1
    clock.advance(seconds=31)
    client.get(path)
    assert len(views(fleet.org)) == 2


def test_each_page_is_counted_on_its_own(fleet, support, grant, client_for):
    client = client_for(support)
    for name in ["fleet:organization", "keys:list", "audit:log", "fleet:organization"]:
        client.get(reverse(name, args=[fleet.org.pk]))
    assert [e.changes["after"]["page"] for e in views(fleet.org)] == ["Overview", "API keys", "Audit log"]


def test_htmx_partials_are_views_too(fleet, support, grant, client_for):
    client_for(support).get(reverse("fleet:activity", args=[fleet.org.pk]), HTTP_HX_REQUEST="true")
    assert [e.changes["after"]["page"] for e in views(fleet.org)] == ["Overview (activity)"]


def test_refused_and_missing_pages_are_not_recorded_as_views(fleet, support, grant, client_for):
    client = client_for(support)
    assert client.get(reverse("keys:create", args=[fleet.org.pk])).status_code == 403
    missing = reverse("keys:detail", args=[fleet.org.pk, "00000000-0000-4000-8000-000000000000"])
    assert client.get(missing).status_code == 404
    assert client.post(reverse("fleet:location_create", args=[fleet.org.pk]), {"name": "x"}).status_code == 403
    assert views(fleet.org) == []


def test_owners_views_are_not_recorded(fleet, client_for, grant):
    client_for(fleet.owner).get(reverse("fleet:organization", args=[fleet.org.pk]))
    assert views(fleet.org) == []


def test_other_events_of_the_request_carry_the_ticket_too(fleet, support, grant, client_for):
    response = client_for(support).get(reverse("audit:export", args=[fleet.org.pk, "jsonl"]))
    b"".join(response.streaming_content)
    [export] = events(fleet.org, action="audit.log.export")
    assert (export.actor_type, export.ticket) == (ActorType.SUPPORT, "SUP-42")


def test_the_support_action_pages_record_views_too(fleet, support, grant, client_for):
    client_for(support).get(reverse("support:grant", args=[grant.pk]))
    [event] = views(fleet.org)
    assert event.changes["after"]["page"] == "Support actions" and event.ticket == "SUP-42"
