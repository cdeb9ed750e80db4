"""The support.access.* audit payloads (``fleetadmin.support.payloads``): written and read through one shape.

Events already in an audit log were written by hand-built dicts; they must still read, so the
old shapes are spelled out here literally, as the services wrote them before.
"""

from datetime import timedelta

import pytest
from django.urls import reverse

from fleetadmin import audit
from fleetadmin.support import selectors, services
from fleetadmin.support.access import SupportActor
from fleetadmin.support.models import SupportGrant
from fleetadmin.support.payloads import AccessEnded, AccessOpened, AccessViewed, grant_of
from tests.conftest import T0
from tests.support.conftest import events

GRANT = "0b6f4c8e-5d0a-4f4e-9d55-6a3c1c6f7a10"


@pytest.mark.parametrize(
    "payload",
    [
        AccessOpened(grant=GRANT, reason="Key leaked", expires_at=T0 + timedelta(minutes=30)),
        AccessViewed(grant=GRANT, page="API key", path="/orgs/x/keys/y/", object_id="y", query="q=deploy"),
        AccessViewed(grant=GRANT, page="Overview", path="/orgs/x/"),
        AccessEnded(grant=GRANT, ended_at=T0),
    ],
    ids=["opened", "viewed", "viewed-plain", "ended"],
)
def test_a_payload_reads_back_as_written(payload):
    assert type(payload).from_payload(payload.to_payload()) == payload
    assert grant_of(payload.to_payload()) == GRANT


def test_the_written_shapes_are_the_ones_already_in_the_log():
    """The services used to build these dicts by hand; the dataclasses write exactly the same."""
    expires = T0 + timedelta(minutes=30)
    assert AccessOpened(grant=GRANT, reason="Key leaked", expires_at=expires).to_payload() == {
        "after": {"grant": GRANT, "reason": "Key leaked", "expires_at": expires.isoformat()}
    }
    assert AccessViewed(grant=GRANT, page="Overview", path="/orgs/x/").to_payload() == {
        "after": {"grant": GRANT, "page": "Overview", "path": "/orgs/x/"}
    }
    assert AccessViewed(grant=GRANT, page="API key", path="/p/", object_id="y", query="q=1").to_payload() == {
        "after": {"grant": GRANT, "page": "API key", "path": "/p/", "object_id": "y", "query": "q=1"}
    }
    assert AccessEnded(grant=GRANT, ended_at=T0).to_payload() == {
        "before": {"grant": GRANT, "ended_at": None},
        "after": {"grant": GRANT, "ended_at": T0.isoformat()},
    }


def test_what_is_recorded_of_a_view_is_cut_to_its_limits():
    viewed = AccessViewed.of(grant=GRANT, page="Audit log", path="/" + "p" * 400, object_id="o" * 80, query="q" * 300)
    assert (len(viewed.path), len(viewed.object_id), len(viewed.query)) == (300, 64, 200)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (None, AccessOpened(grant="", reason="", expires_at=None)),
        ({}, AccessOpened(grant="", reason="", expires_at=None)),
        ({"after": {"grant": GRANT}}, AccessOpened(grant=GRANT, reason="", expires_at=None)),
        (
            {"after": {"grant": GRANT, "expires_at": "not a time"}},
            AccessOpened(grant=GRANT, reason="", expires_at=None),
        ),
        ({"after": {"grant": GRANT, "expires_at": 1234}}, AccessOpened(grant=GRANT, reason="", expires_at=None)),
    ],
    ids=["none", "empty", "grant-only", "bad-time", "not-a-string"],
)
def test_an_incomplete_open_reads_as_empty_fields(changes, expected):
    assert AccessOpened.from_payload(changes) == expected


def test_an_end_names_its_grant_on_either_side():
    assert AccessEnded.from_payload({"before": {"grant": GRANT, "ended_at": None}}) == AccessEnded(GRANT, None)
    assert grant_of({"after": {"name": "deploy-bot"}}) == ""  # a customer service's event names no grant


@pytest.mark.django_db
def test_events_written_before_the_dataclasses_still_read(fleet, customer, support, clock):
    """A session recorded with the old hand-built dicts, read by access_sessions."""
    grant = SupportGrant.objects.create(
        staff=support,
        organization=fleet.org,
        ticket="SUP-7",
        reason="Old session",
        created_at=T0,
        expires_at=T0 + timedelta(minutes=30),
    )
    actor = SupportActor(support, grant)
    org, pk = fleet.org, str(grant.pk)
    key_page = reverse("keys:detail", args=[org.pk, customer.key.pk])
    old_events = [
        (
            "support.access.open",
            {"after": {"grant": pk, "reason": "Old session", "expires_at": grant.expires_at.isoformat()}},
        ),
        ("support.access.view", {"after": {"grant": pk, "page": "keys:create", "path": f"/orgs/{org.pk}/keys/new/"}}),
        (
            "support.access.view",
            {
                "after": {
                    "grant": pk,
                    "page": "API key",
                    "path": key_page,
                    "object_id": str(customer.key.pk),
                    "query": "tab=1",
                }
            },
        ),
    ]
    for action, changes in old_events:
        audit.record(actor=actor, action=action, organization=org, target=grant, changes=changes, ticket="SUP-7")
    clock.advance(minutes=5)
    audit.record(
        actor=fleet.owner,
        action="support.access.end",
        organization=org,
        target=grant,
        changes={"before": {"grant": pk, "ended_at": None}, "after": {"grant": pk, "ended_at": clock.now.isoformat()}},
    )
    [session] = selectors.access_sessions(org).sessions
    assert (session.grant_id, session.reason, session.expires_at) == (pk, "Old session", grant.expires_at)
    assert [(v.page, v.object_id, v.link) for v in session.viewed] == [
        ("keys:create", "", f"/orgs/{org.pk}/keys/new/"),
        ("API key", str(customer.key.pk), key_page),
    ]
    assert session.ended is not None and session.ended.actor_id == str(fleet.owner.pk)
    assert session.status(clock.now) == "ended"


@pytest.mark.django_db
def test_the_services_write_through_the_payloads(fleet, support, open_grant, clock):
    grant = open_grant(support, fleet.org, reason="Key leaked")
    services.support_page_view_record(actor=SupportActor(support, grant), path="/orgs/x/", page="Overview")
    services.support_grant_end(actor=support, grant=grant)
    opened, viewed, ended = events(fleet.org, action__startswith="support.access.")
    assert AccessOpened.from_payload(opened.changes) == AccessOpened(str(grant.pk), "Key leaked", grant.expires_at)
    assert AccessViewed.from_payload(viewed.changes) == AccessViewed(str(grant.pk), "Overview", "/orgs/x/")
    assert AccessEnded.from_payload(ended.changes) == AccessEnded(str(grant.pk), clock.now)
