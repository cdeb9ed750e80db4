"""Filters applied to real events: each field, prefixes, actor by email or id, inclusive date ranges, combinations."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.db import transaction

from fleetadmin import audit
from fleetadmin.audit import selectors
from fleetadmin.audit.context import RequestContext, bind_request_context
from fleetadmin.audit.models import AuditEvent
from fleetadmin.audit.query import parse_query
from fleetadmin.core.actors import SYSTEM, ActorIdentity
from fleetadmin.fleet import services
from fleetadmin.keys.services import Grant, api_key_create
from tests.audit.conftest import HTMX, log_url, record_event

pytestmark = pytest.mark.django_db


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class Story:
    """Nine events in Acme Robotics (and one in Globex) at chosen instants, named for the assertions."""

    fleet: object
    events: dict

    def names(self, filters) -> set[str]:
        matched = set(
            filters.apply(AuditEvent.objects.filter(organization=self.fleet.org)).values_list("id", flat=True)
        )
        return {name for name, event in self.events.items() if event.pk in matched}


@pytest.fixture
def story(fleet, audit_clock) -> Story:
    events = {}

    def last():
        return AuditEvent.objects.order_by("-id").first()

    audit_clock.set(at(2026, 10, 31, 23, 59, 59, 999999))
    annex = services.location_create(actor=fleet.owner, organization=fleet.org, name="Annex")
    events["annex_created"] = last()

    audit_clock.set(at(2026, 11, 1, 0, 0, 0))
    services.machine_create(actor=fleet.owner, location=annex, name="bot-1")
    events["bot_created"] = last()

    audit_clock.set(at(2026, 11, 1, 12, 0, 0))
    with bind_request_context(RequestContext(request_id="req-0001-aaaa", ip="203.0.113.7", user_agent="ua/1")):
        services.machine_create(actor=fleet.location_owner, location=fleet.line_a, name="arm-02")
        events["arm2_created"] = last()
        services.machine_rename(actor=fleet.location_owner, machine=fleet.arm, name="arm-01b")
        events["arm_renamed"] = last()

    audit_clock.set(at(2026, 11, 15, 8, 30, 0))
    services.location_rename(actor=fleet.location_owner, location=fleet.line_a, name="Line A1")
    events["line_renamed"] = last()

    audit_clock.set(at(2026, 11, 20, 9, 0, 0))
    events["support_view"] = record_event(fleet.org, action="support.organization.view", ticket="SUP-7")

    audit_clock.set(at(2026, 11, 30, 23, 59, 59, 999999))
    services.location_rename(actor=SYSTEM, location=fleet.warehouse, name="Warehouse West")
    events["warehouse_renamed"] = last()

    audit_clock.set(at(2026, 12, 1, 0, 0, 0))
    issued = api_key_create(
        actor=fleet.owner, organization=fleet.org, grants=[Grant(role="organization_owner", resource=fleet.org)]
    )
    events["key_created"] = AuditEvent.objects.get(action="keys.api_key.create", target_id=str(issued.key.pk))

    audit_clock.set(at(2026, 12, 2, 10, 0, 0))
    events["machine_in_warehouse"] = record_event(
        fleet.org, actor=fleet.owner, action="fleet.machine.inspect", target=fleet.forklift
    )

    # The same actor and action in another organization never shows up.
    globex = fleet.outsider.memberships.get().organization
    audit_clock.set(at(2026, 11, 1, 12, 0, 0))
    services.location_create(actor=fleet.outsider, organization=globex, name="Annex")
    services.location_create(actor=SYSTEM, organization=globex, name="Depot")
    assert AuditEvent.objects.filter(organization=fleet.org).count() == 9
    return Story(fleet, events)


ALL = {
    "annex_created",
    "bot_created",
    "arm2_created",
    "arm_renamed",
    "line_renamed",
    "support_view",
    "warehouse_renamed",
    "key_created",
    "machine_in_warehouse",
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ALL),
        # action: a prefix of the dotted name, not a substring
        ("action:fleet.", ALL - {"support_view", "key_created"}),
        ("action:fleet.machine.", {"bot_created", "arm2_created", "arm_renamed", "machine_in_warehouse"}),
        ("action:fleet.machine.create", {"bot_created", "arm2_created"}),
        ("action:fleet.location.rename", {"line_renamed", "warehouse_renamed"}),
        ("action:keys.", {"key_created"}),
        ("action:keys.api_key.rotate", set()),
        ("action:machine", set()),
        # target type and id
        ("type:fleet.machine", {"bot_created", "arm2_created", "arm_renamed", "machine_in_warehouse"}),
        ("type:fleet.location", {"annex_created", "line_renamed", "warehouse_renamed"}),
        ("type:keys.apikey", {"key_created"}),
        ("type:fleet", set()),
        # ticket and request id
        ("ticket:SUP-7", {"support_view"}),
        ("ticket:SUP", set()),
        ("request:req-0001-aaaa", {"arm2_created", "arm_renamed"}),
        ("request:req-0001", set()),
        # actor: the system actor by name
        ("actor:system", {"support_view", "warehouse_renamed"}),
        # created: whole UTC days, both ends inclusive
        (
            "created:2026-11-01..2026-11-30",
            {"bot_created", "arm2_created", "arm_renamed", "line_renamed", "support_view", "warehouse_renamed"},
        ),
        ("created:2026-11-01", {"bot_created", "arm2_created", "arm_renamed"}),
        ("created:=2026-10-31", {"annex_created"}),
        ("created:<2026-11-01", {"annex_created"}),
        ("created:<=2026-10-31", {"annex_created"}),
        ("created:>2026-11-30", {"key_created", "machine_in_warehouse"}),
        ("created:>=2026-12-01", {"key_created", "machine_in_warehouse"}),
        ("created:2026-11-30", {"warehouse_renamed"}),
        ("created:2026-11-02..2026-11-14", set()),
        ("created:>=2027-01-01", set()),
        # combinations
        ("action:fleet.machine. created:2026-11-01", {"bot_created", "arm2_created", "arm_renamed"}),
        ("type:fleet.location actor:system", {"warehouse_renamed"}),
        ("action:fleet. created:>2026-11-01 created:<2026-12-01", {"line_renamed", "warehouse_renamed"}),
        ("request:req-0001-aaaa action:fleet.machine.rename", {"arm_renamed"}),
        ("ticket:SUP-7 actor:system action:support.", {"support_view"}),
        ("ticket:SUP-7 action:fleet.", set()),
    ],
)
def test_filter_by_query(story, query, expected):
    assert story.names(parse_query(query)) == expected


def test_actor_by_email_any_case_or_by_id(story):
    fleet = story.fleet
    owner_events = {"annex_created", "bot_created", "key_created", "machine_in_warehouse"}
    for actor in (fleet.owner.email, fleet.owner.email.upper(), fleet.owner.email.title(), str(fleet.owner.pk)):
        assert story.names(parse_query(f"actor:{actor}")) == owner_events, actor
    location_owner_events = {"arm2_created", "arm_renamed", "line_renamed"}
    assert story.names(parse_query(f"actor:{fleet.location_owner.email}")) == location_owner_events
    assert story.names(parse_query(f"actor:{fleet.location_owner.pk}")) == location_owner_events
    # an email is matched whole, not as a prefix; another organization's user matches nothing here
    assert story.names(parse_query(f"actor:{fleet.owner.email[:-1]}")) == set()
    assert story.names(parse_query(f"actor:{fleet.outsider.email}")) == set()


def test_combining_actor_with_other_fields(story):
    fleet = story.fleet
    assert story.names(parse_query(f"actor:{fleet.owner.email} action:fleet.")) == {
        "annex_created",
        "bot_created",
        "machine_in_warehouse",
    }
    assert story.names(parse_query(f"actor:{fleet.location_owner.email} created:2026-11-15")) == {"line_renamed"}
    assert story.names(parse_query(f"actor:{fleet.owner.pk} created:>=2026-11-01 type:keys.apikey")) == {"key_created"}


def test_filter_by_target_id(story):
    fleet = story.fleet
    assert story.names(parse_query(f"target:{fleet.arm.pk}")) == {"arm_renamed"}
    assert story.names(parse_query(f"target:{fleet.line_a.pk}")) == {"line_renamed"}
    assert story.names(parse_query(f"target:{fleet.forklift.pk} type:fleet.machine")) == {"machine_in_warehouse"}
    assert story.names(parse_query(f"target:{fleet.forklift.pk} type:fleet.location")) == set()


def test_a_bare_term_searches_names_ids_tickets_requests_and_actions(story):
    fleet = story.fleet
    owner_events = {"annex_created", "bot_created", "key_created", "machine_in_warehouse"}
    cases = {
        "arm-02": {"arm2_created"},  # the target's name, as a machine name is typed
        "ARM-01B": {"arm_renamed"},  # names without case
        "arm": set(),  # a name is matched whole, not as a substring
        str(fleet.arm.pk): {"arm_renamed"},  # a pasted target id
        str(fleet.owner.pk): owner_events,  # a pasted actor id
        fleet.owner.email.upper(): owner_events,
        "sup-7": {"support_view"},  # tickets as people type them
        "req-0001-aaaa": {"arm2_created", "arm_renamed"},
        "fleet.location.": {"annex_created", "line_renamed", "warehouse_renamed"},  # an action prefix
        "arm-02 fleet.machine.create": {"arm2_created"},  # every term must match
        "arm-02 action:fleet.location.": set(),
        f"{fleet.location_owner.email} created:2026-11-15": {"line_renamed"},
    }
    for query, expected in cases.items():
        assert story.names(parse_query(query)) == expected, query


def test_bare_terms_print_back_and_round_trip():
    filters = parse_query("arm-01 'Field 3' action:keys.")
    assert filters.terms == ("arm-01", "Field 3")
    assert filters.to_query() == "arm-01 'Field 3' action:keys."
    assert parse_query(filters.to_query()) == filters


def test_the_log_page_searches_a_bare_term(story, client_for):
    response = client_for(story.fleet.owner).get(log_url(story.fleet.org), {"q": "arm-02"}, **HTMX)
    assert response.status_code == 200
    shown = [int(i) for i in re.findall(rf"/orgs/{story.fleet.org.pk}/audit/events/(\d+)/", response.content.decode())]
    assert shown == [story.events["arm2_created"].pk]
    assert response["HX-Push-Url"] == f"{log_url(story.fleet.org)}?q=arm-02"


def test_the_log_page_shows_exactly_the_filtered_events_newest_first(story, client_for):
    fleet = story.fleet
    response = client_for(fleet.operator).get(log_url(fleet.org), {"q": "action:fleet.machine."}, **HTMX)
    assert response.status_code == 200
    shown = [int(i) for i in re.findall(rf"/orgs/{fleet.org.pk}/audit/events/(\d+)/", response.content.decode())]
    expected = ["machine_in_warehouse", "arm_renamed", "arm2_created", "bot_created"]
    assert shown == [story.events[name].pk for name in expected]
    assert 'Filtered: <code class="mono">action:fleet.machine.</code>' in response.content.decode()


def test_the_filter_form_and_the_query_merge_field_by_field(story, client_for):
    """Form fields override the query line's value for the same field; the page then shows the merged line."""
    fleet = story.fleet
    response = client_for(fleet.owner).get(
        log_url(fleet.org), {"q": "action:keys. ticket:SUP-7", "action": "support.", "since": "2026-11-20"}, **HTMX
    )
    assert response.status_code == 200
    assert response["HX-Push-Url"] == (
        f"{log_url(fleet.org)}?q=action%3Asupport.+ticket%3ASUP-7+created%3A%3E%3D2026-11-20"
    )
    shown = [int(i) for i in re.findall(rf"/orgs/{fleet.org.pk}/audit/events/(\d+)/", response.content.decode())]
    assert shown == [story.events["support_view"].pk]


def test_selectors_apply_the_same_filters(story):
    page = selectors.event_page(story.fleet.org, parse_query("type:fleet.location"))
    assert [e.id for e in page.events] == [
        story.events[name].pk for name in ("warehouse_renamed", "line_renamed", "annex_created")
    ]
    assert page.next_before is None
    chunks = selectors.event_row_chunks(story.fleet.org, parse_query("created:2026-11-01"), columns=("id",))
    assert [pk for chunk in chunks for (pk,) in chunk] == [
        story.events[name].pk for name in ("arm_renamed", "arm2_created", "bot_created")
    ]


def test_actor_names_with_like_wildcards_match_literally(fleet, audit_clock):
    """``actor:`` compares whole names without case; ``_`` and ``%`` are not wildcards."""
    with transaction.atomic():
        for name in ("a_b@example.com", "axb@example.com", "a%b@example.com"):
            audit.record(actor=_Named(name), action="test.thing.touch", organization=fleet.org)
    matched = parse_query("actor:A_B@example.com").apply(AuditEvent.objects.filter(organization=fleet.org))
    assert list(matched.values_list("actor_name", flat=True)) == ["a_b@example.com"]
    matched = parse_query("actor:a%b@example.com").apply(AuditEvent.objects.filter(organization=fleet.org))
    assert list(matched.values_list("actor_name", flat=True)) == ["a%b@example.com"]


class _Named:
    """An actor known only by a name (as an API key or an imported user would be)."""

    def __init__(self, name):
        self.name = name

    def audit_identity(self):
        return ActorIdentity(type="user", id="", name=self.name)
