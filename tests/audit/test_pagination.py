"""Keyset pagination: every event exactly once, newest first, whatever the timestamps; a fixed number of queries."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fleetadmin.audit import selectors
from fleetadmin.audit.models import AuditEvent
from fleetadmin.audit.query import AuditFilters, parse_query
from fleetadmin.audit.selectors import PAGE_SIZE
from fleetadmin.fleet import services
from tests.audit.conftest import HTMX, T0, log_url, record_event, record_many

pytestmark = pytest.mark.django_db

OLDER = re.compile(r'<a class="button button-small" href="([^"]*)"[^>]*>Older →</a>')


def shown_ids(response, organization) -> list[int]:
    return [int(i) for i in re.findall(rf"/orgs/{organization.pk}/audit/events/(\d+)/", response.content.decode())]


def older_link(response) -> str | None:
    match = OLDER.search(response.content.decode())
    return html.unescape(match.group(1)) if match else None


def walk_pages(client, organization, params=None, headers=None) -> list[list[int]]:
    """Follow the log's "Older" links from the first page; the ids shown on each page."""
    response = client.get(log_url(organization), params or {}, **(headers or {}))
    assert response.status_code == 200
    pages = [shown_ids(response, organization)]
    while (link := older_link(response)) is not None:
        assert link.startswith("?q=")
        response = client.get(log_url(organization) + link, **(headers or {}))
        assert response.status_code == 200
        pages.append(shown_ids(response, organization))
        assert len(pages) < 20, "pagination does not end"
    return pages


@pytest.fixture
def many_events(fleet, audit_clock):
    """130 events: 70 sharing one created_at, then 60 more of which every other one shares another instant."""
    audit_clock.set(T0)  # the clock stands still: 70 identical timestamps
    record_many(fleet.org, 70, action="fleet.machine.inspect", target=fleet.arm)
    for i in range(60):
        audit_clock.set(T0.replace(hour=15) if i % 2 else T0.replace(hour=16, minute=i))
        record_event(fleet.org, action="fleet.location.inspect" if i % 3 else "keys.api_key.inspect", target=fleet.hq)
    events = list(AuditEvent.objects.filter(organization=fleet.org).order_by("id"))
    assert len(events) == 130
    return events


def test_walking_the_pages_shows_every_event_once_newest_first(fleet, many_events, client_for):
    pages = walk_pages(client_for(fleet.operator), fleet.org)
    assert [len(page) for page in pages] == [50, 50, 30]
    flat = [event_id for page in pages for event_id in page]
    assert flat == sorted((e.pk for e in many_events), reverse=True)


def test_walking_the_pages_with_htmx_gives_the_same_events(fleet, many_events, client_for):
    pages = walk_pages(client_for(fleet.owner), fleet.org, headers=HTMX)
    assert [event_id for page in pages for event_id in page] == sorted((e.pk for e in many_events), reverse=True)


def test_walking_a_filtered_log_keeps_the_filter(fleet, many_events, client_for):
    pages = walk_pages(client_for(fleet.owner), fleet.org, {"q": "action:fleet."})
    expected = sorted((e.pk for e in many_events if e.action.startswith("fleet.")), reverse=True)
    assert len(expected) == 110
    assert [len(page) for page in pages] == [50, 50, 10]
    assert [event_id for page in pages for event_id in page] == expected


def test_event_page_cursor_walks_ties_without_skipping_or_repeating(fleet, many_events):
    seen, before = [], None
    while True:
        page = selectors.event_page(fleet.org, AuditFilters(), before=before)
        seen.extend(event.id for event in page.events)
        if page.next_before is None:
            break
        assert page.next_before == page.events[-1].id
        before = page.next_before
    assert seen == sorted((e.pk for e in many_events), reverse=True)
    assert len(set(seen)) == len(seen) == 130


def test_a_page_of_exactly_page_size_events_has_no_older_link(fleet, audit_clock, client_for):
    record_many(fleet.org, PAGE_SIZE)
    page = selectors.event_page(fleet.org, AuditFilters())
    assert len(page.events) == PAGE_SIZE and page.next_before is None
    response = client_for(fleet.owner).get(log_url(fleet.org))
    assert older_link(response) is None
    record_event(fleet.org)
    response = client_for(fleet.owner).get(log_url(fleet.org))
    first = AuditEvent.objects.filter(organization=fleet.org).order_by("id").first()
    assert older_link(response) == f"?q=&before={first.pk + 1}"


def test_a_deep_page_shows_the_newest_link_and_not_on_the_first(fleet, many_events, client_for):
    client = client_for(fleet.owner)
    first = client.get(log_url(fleet.org)).content.decode()
    assert ">Newest</a>" not in first
    deep = client.get(log_url(fleet.org), {"q": "", "before": many_events[10].pk}).content.decode()
    assert ">Newest</a>" in deep
    assert re.findall(rf"/orgs/{fleet.org.pk}/audit/events/(\d+)/", deep) == [
        str(e.pk) for e in reversed(many_events[:10])
    ]


def test_a_malformed_cursor_is_ignored(fleet, many_events, client_for):
    response = client_for(fleet.owner).get(log_url(fleet.org), {"before": "abc"})
    assert response.status_code == 200
    assert shown_ids(response, fleet.org)[0] == many_events[-1].pk


# ---- query counts ---------------------------------------------------------------------------------

# The log page, whatever the number of events on it:
#  1. session            (django_session by key)
#  2. user               (accounts_user by id)
#  3. organization       (get_organization_for)
#  4. grants             (fleet_membership of the user, for authz: view_log, verify)
#  5. events             (the page: LIMIT 51, keyset on id)
#  6. target links       (one query for every target type on the page)
#  7. last verification  (audit_chainverification, newest)
# The organization switcher costs none: its names came with the memberships (4).
LOG_PAGE_QUERIES = 7


def machine_events(fleet, n):
    for i in range(n):
        services.machine_rename(actor=fleet.owner, machine=fleet.arm, name=f"arm-{i:03d}")


def test_log_page_query_count_does_not_grow_with_the_page(fleet, client_for, django_assert_num_queries):
    client = client_for(fleet.operator)
    machine_events(fleet, 5)
    with django_assert_num_queries(LOG_PAGE_QUERIES):
        response = client.get(log_url(fleet.org))
    assert len(shown_ids(response, fleet.org)) == 5
    machine_events(fleet, 55)
    with django_assert_num_queries(LOG_PAGE_QUERIES):
        response = client.get(log_url(fleet.org))
    assert len(shown_ids(response, fleet.org)) == 50
    link = older_link(response)
    with django_assert_num_queries(LOG_PAGE_QUERIES):
        response = client.get(log_url(fleet.org) + link)
    assert len(shown_ids(response, fleet.org)) == 10


def test_log_pages_never_count_or_offset(fleet, client_for):
    machine_events(fleet, 60)
    client = client_for(fleet.owner)
    for params in ({}, {"q": "action:fleet.machine."}, {"q": ""}):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(log_url(fleet.org), params)
            link = older_link(response)
            assert link is not None
            client.get(log_url(fleet.org) + link)
            client.get(log_url(fleet.org) + link, **HTMX)
        sql = [query["sql"].upper() for query in captured.captured_queries]
        assert sql
        assert not [s for s in sql if "COUNT(" in s]
        assert not [s for s in sql if "OFFSET" in s]
        page_queries = [s for s in sql if 'FROM "AUDIT_AUDITEVENT"' in s]
        assert len(page_queries) == 3
        assert all(f"LIMIT {PAGE_SIZE + 1}" in s for s in page_queries)


def test_a_filtered_deep_page_uses_the_cursor_in_sql(fleet, client_for):
    machine_events(fleet, 60)
    cursor = AuditEvent.objects.filter(organization=fleet.org).order_by("id")[30].pk
    with CaptureQueriesContext(connection) as captured:
        page = selectors.event_page(fleet.org, parse_query("type:fleet.machine"), before=cursor)
    assert len(captured.captured_queries) == 1
    assert len(page.events) == 30
    assert all(event.id < cursor for event in page.events)
