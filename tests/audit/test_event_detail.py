"""The event page: every field, a readable nested diff, redacted secrets, same-request events, targets."""

import html
import re

import pytest

from fleetadmin.audit import selectors
from fleetadmin.audit.context import RequestContext, bind_request_context
from fleetadmin.audit.diffs import DiffRow, diff_rows
from fleetadmin.audit.models import AuditEvent
from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet import services
from fleetadmin.keys.services import Grant, api_key_create, api_key_delete
from tests.audit.conftest import HTMX, T0, event_url, log_url, record_event

pytestmark = pytest.mark.django_db

NESTED = {
    "before": {"a": {"b": 1, "c": [1, 2]}, "gone": True},
    "after": {"a": {"b": 2, "c": [1, 2]}, "d": "x"},
}


def text_of(response) -> str:
    """The page's text with tags removed and whitespace collapsed, for reading it as a person does."""
    without_tags = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(html.unescape(without_tags).split())


def diff_table(response) -> list[tuple[str, str, str, str]]:
    """(class, field, before, after) for each row of the Changes table."""
    content = response.content.decode()
    table = content.split('class="table compact diff-table"', 1)[1].split("</table>", 1)[0]
    rows = []
    for css, cells in re.findall(r'<tr class="([^"]*)">(.*?)</tr>', table, flags=re.S):
        parts = [
            " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", cells, flags=re.S)
        ]
        rows.append((css, *parts))
    return rows


# ---- diff rows ----------------------------------------------------------------------------------------


def test_diff_rows_flatten_nested_json():
    assert diff_rows(NESTED) == [
        DiffRow(path="a.b", before="1", after="2", changed=True, added=False, removed=False),
        DiffRow(path="a.c", before="[1, 2]", after="[1, 2]", changed=False, added=False, removed=False),
        DiffRow(path="d", before="", after="x", changed=True, added=True, removed=False),
        DiffRow(path="gone", before="true", after="", changed=True, added=False, removed=True),
    ]


def test_diff_rows_of_a_creation_a_deletion_and_no_change():
    assert diff_rows({"after": {"name": "Annex", "parent": None}}) == [
        DiffRow(path="name", before="", after="Annex", changed=True, added=True, removed=False),
        DiffRow(path="parent", before="", after="null", changed=True, added=True, removed=False),
    ]
    assert diff_rows({"before": {"name": "Annex"}}) == [
        DiffRow(path="name", before="Annex", after="", changed=True, added=False, removed=True),
    ]
    assert diff_rows({}) == []


def test_diff_rows_keep_deeper_nesting_and_extra_keys():
    rows = diff_rows({"before": {"x": {"y": {"z": 1}}}, "after": {"x": {"y": {"z": 1, "w": "é"}}}, "note": "n"})
    assert rows == [
        DiffRow(path="x.y.w", before="", after="é", changed=True, added=True, removed=False),
        DiffRow(path="x.y.z", before="1", after="1", changed=False, added=False, removed=False),
        DiffRow(path="note", before="", after="n", changed=False, added=False, removed=False),
    ]


def test_the_page_shows_the_nested_diff_with_changed_rows_marked(fleet, audit_clock, client_for):
    event = record_event(fleet.org, action="test.thing.update", changes=NESTED)
    response = client_for(fleet.operator).get(event_url(fleet.org, event))
    assert response.status_code == 200
    assert diff_table(response) == [
        ("is-changed", "a.b (changed)", "1", "2"),
        ("", "a.c", "[1, 2]", "[1, 2]"),
        ("is-changed", "d (changed)", "—", "x"),
        ("is-changed", "gone (changed)", "true", "—"),
    ]
    content = response.content.decode()
    assert '<td class="diff-old">1</td>' in content and '<td class="diff-new">2</td>' in content


def test_an_event_without_changes_says_so(fleet, audit_clock, client_for):
    event = record_event(fleet.org, action="support.organization.view")
    response = client_for(fleet.owner).get(event_url(fleet.org, event))
    assert "This event records no field changes." in response.content.decode()
    assert "diff-table" not in response.content.decode()


def test_secrets_are_shown_as_redacted(fleet, audit_clock, client_for):
    event = record_event(
        fleet.org,
        action="oauth.application.update",
        changes={
            "before": {"name": "App", "password": "hunter2-old", "client_secret": "cs_old_value"},
            "after": {
                "name": "App 2",
                "password": "hunter2-new",
                "client_secret": "cs_new_value",
                "key_value": "fak_live_supersecret",
                "nested": {"token": "tok_abc", "list": [{"secret": "s3cr3t"}]},
            },
        },
    )
    response = client_for(fleet.owner).get(event_url(fleet.org, event))
    content = response.content.decode()
    for secret in ("hunter2", "cs_old_value", "cs_new_value", "fak_live_supersecret", "tok_abc", "s3cr3t"):
        assert secret not in content
    rows = {row[1].removesuffix(" (changed)"): row[2:] for row in diff_table(response)}
    assert rows["password"] == ("[redacted]", "[redacted]")
    assert rows["client_secret"] == ("[redacted]", "[redacted]")
    assert rows["key_value"] == ("—", "[redacted]")
    assert rows["nested.token"] == ("—", "[redacted]")
    assert rows["nested.list"] == ("—", '[{"secret": "[redacted]"}]')
    assert rows["name"] == ("App", "App 2")


def test_every_field_is_shown(fleet, audit_clock, client_for):
    audit_clock.set(T0)
    context = RequestContext(
        request_id="req-detail-0001", ip="203.0.113.9", user_agent="Mozilla/5.0 (pytest)", ticket="SUP-77"
    )
    with bind_request_context(context):
        services.machine_rename(actor=fleet.owner, machine=fleet.forklift, name="forklift-02")
    event = AuditEvent.objects.get(action="fleet.machine.rename")
    previous = record_event(fleet.org)  # a later event: the page shows its own prev_hash, not the next
    assert previous.prev_hash == event.hash
    response = client_for(fleet.owner).get(event_url(fleet.org, event))
    assert response.status_code == 200
    text = text_of(response)
    expected = [
        f"Event {event.pk}",
        "Time 2026-11-03 14:05:09.123456 UTC",
        f"Actor {fleet.owner.email} User · {fleet.owner.pk}",
        "Action fleet.machine.rename",
        f"Target forklift-02 fleet.machine · {fleet.forklift.pk}",
        "Ticket SUP-77",
        "Request ID req-detail-0001",
        "Address 203.0.113.9",
        "User agent Mozilla/5.0 (pytest)",
        f"Hash {event.hash}",
        f"Previous {event.prev_hash}",
        "name: forklift-01 → forklift-02",
    ]
    for fact in expected:
        assert fact in text, fact
    content = response.content.decode()
    assert f'href="{log_url(fleet.org)}?q=request%3Areq-detail-0001"' in content  # the canonical query
    assert f'<time datetime="{T0.isoformat()}">' in content


def test_the_first_event_of_a_chain_and_an_event_without_context(fleet, audit_clock, client_for):
    event = record_event(fleet.org, action="support.organization.view")
    assert event.prev_hash == ""
    text = text_of(client_for(fleet.owner).get(event_url(fleet.org, event)))
    for fact in (
        "Actor system System",
        "Target —",
        "Ticket —",
        "Request ID —",
        "Address —",
        "User agent —",
        "Previous (start of chain)",
        "None: this request made one change.",
    ):
        assert fact in text, fact


def test_other_events_of_the_same_request_are_listed(fleet, audit_clock, client_for):
    with bind_request_context(RequestContext(request_id="abc0123456789def")):
        location = services.location_create(actor=fleet.owner, organization=fleet.org, name="Annex")
        machine = services.machine_create(actor=fleet.owner, location=location, name="bot-1")
        services.machine_rename(actor=fleet.owner, machine=machine, name="bot-2")
    with bind_request_context(RequestContext(request_id="another-request-01")):
        services.location_rename(actor=fleet.owner, location=fleet.warehouse, name="Depot")
    globex = fleet.outsider.memberships.get().organization
    with bind_request_context(RequestContext(request_id="abc0123456789def")):
        services.location_create(actor=fleet.outsider, organization=globex, name="Globex Annex")
    created, machined, renamed = AuditEvent.objects.filter(
        request_id="abc0123456789def", organization=fleet.org
    ).order_by("id")
    assert selectors.events_of_request(created) == [machined, renamed]
    assert selectors.events_of_request(renamed) == [created, machined]

    response = client_for(fleet.operator).get(event_url(fleet.org, created))
    content = response.content.decode()
    related = content.split('id="same-request"', 1)[1]
    listed = [int(i) for i in re.findall(rf"/orgs/{fleet.org.pk}/audit/events/(\d+)/", related)]
    assert listed == [machined.pk, renamed.pk]
    assert "fleet.machine.create" in related and "fleet.machine.rename" in related
    assert "Depot" not in related and "Globex Annex" not in related
    assert "None: this request made one change." not in content


def test_target_is_linked_while_it_exists_and_a_snapshot_after_deletion(fleet, audit_clock, client_for):
    client = client_for(fleet.owner)
    location = services.location_create(actor=fleet.owner, organization=fleet.org, name="Annex")
    machine = services.machine_create(actor=fleet.owner, location=location, name="bot-1")
    issued = api_key_create(
        actor=fleet.owner,
        organization=fleet.org,
        grants=[Grant(role="organization_owner", resource=fleet.org)],
        name="ci key",
    )
    created = {
        "location": AuditEvent.objects.get(action="fleet.location.create"),
        "machine": AuditEvent.objects.get(action="fleet.machine.create"),
        "key": AuditEvent.objects.get(action="keys.api_key.create"),
    }
    expected_links = {
        "location": (f"/orgs/{fleet.org.pk}/#node-{location.pk}", "Annex"),
        "machine": (f"/orgs/{fleet.org.pk}/#node-{machine.pk}", "bot-1"),
        "key": (f"/orgs/{fleet.org.pk}/keys/{issued.key.pk}/", "ci key"),
    }
    for name, event in created.items():
        url, label = expected_links[name]
        content = client.get(event_url(fleet.org, event)).content.decode()
        assert f'<a href="{url}">{label}</a>' in content, name
        assert "no longer exists" not in content
    log = client.get(log_url(fleet.org)).content.decode()
    for url, label in expected_links.values():
        assert f'<a href="{url}">{label}</a>' in log

    services.machine_delete(actor=fleet.owner, machine=machine)
    services.location_delete(actor=fleet.owner, location=location)
    api_key_delete(actor=fleet.owner, key=issued.key)  # a tombstone stays: the key counts as gone
    for name, event in created.items():
        url, label = expected_links[name]
        response = client.get(event_url(fleet.org, event))
        content = response.content.decode()
        assert url not in content, name
        assert f"Target {label} no longer exists" in text_of(response), name
    log = client.get(log_url(fleet.org)).content.decode()
    for url, _label in expected_links.values():
        assert url not in log


def test_a_renamed_target_keeps_the_name_it_had(fleet, audit_clock, client_for):
    services.machine_rename(actor=fleet.owner, machine=fleet.arm, name="arm-renamed")
    services.machine_rename(actor=fleet.owner, machine=fleet.arm, name="arm-final")
    first = AuditEvent.objects.order_by("id").first()
    content = client_for(fleet.owner).get(event_url(fleet.org, first)).content.decode()
    assert f'<a href="/orgs/{fleet.org.pk}/#node-{fleet.arm.pk}">arm-renamed</a>' in content


def test_the_event_page_returns_the_full_page_to_htmx_too(fleet, audit_clock, client_for):
    event = record_event(fleet.org)
    response = client_for(fleet.owner).get(event_url(fleet.org, event), **HTMX)
    assert response.status_code == 200
    assert b"<html" in response.content


def test_events_of_other_organizations_and_unknown_ids_are_404(fleet, audit_clock, client_for):
    globex = fleet.outsider.memberships.get().organization
    foreign = record_event(globex, actor=SYSTEM)
    client = client_for(fleet.owner)
    assert client.get(event_url(fleet.org, foreign)).status_code == 404
    assert client.get(event_url(fleet.org, foreign.pk + 1000)).status_code == 404
    assert client_for(fleet.outsider).get(event_url(globex, foreign)).status_code == 200
