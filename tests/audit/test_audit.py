import itertools

import pytest
from django.db import DatabaseError, connection, transaction

from fleetadmin import audit
from fleetadmin.audit.hashing import event_hash
from fleetadmin.audit.models import AppendOnlyError, AuditEvent
from fleetadmin.audit.services import redact
from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet import services
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def make_events(fleet, n=3):
    for i in range(n):
        services.machine_create(actor=fleet.owner, location=fleet.hq, name=f"m-{i}")
    return list(AuditEvent.objects.filter(organization=fleet.org).order_by("id"))


def test_events_chain_per_organization(fleet):
    events = make_events(fleet)
    assert events[0].prev_hash == ""
    for previous, event in itertools.pairwise(events):
        assert event.prev_hash == previous.hash
    for event in events:
        assert event.hash == event_hash(event, event.prev_hash)


def test_chains_of_two_organizations_are_independent(fleet):
    make_events(fleet, 2)
    other_location = services.location_create(
        actor=SYSTEM, organization=fleet.outsider.memberships.get().organization, name="X"
    )
    other_event = AuditEvent.objects.get(target_id=str(other_location.pk))
    assert other_event.prev_hash == ""


def test_editing_a_recorded_event_changes_its_hash(fleet):
    event = make_events(fleet, 1)[0]
    event.actor_name = "someone else"
    assert event_hash(event, event.prev_hash) != event.hash


def test_events_cannot_be_updated_or_deleted_in_code(fleet):
    event = make_events(fleet, 1)[0]
    event.action = "fleet.machine.tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET action = 'tampered' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ],
)
def test_the_database_refuses_update_and_delete(fleet, statement):
    event = make_events(fleet, 1)[0]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "fleet.machine.create"


@pytest.mark.django_db(transaction=True)
def test_record_refuses_to_run_outside_a_transaction():
    organization = OrganizationFactory()
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit.record(actor=SYSTEM, action="fleet.organization.touch", organization=organization)
    assert not AuditEvent.objects.exists()


def test_secrets_are_redacted_wherever_they_appear():
    changes = {"after": {"name": "k", "key_value": "fa_live_x", "nested": [{"client_secret": "s"}]}}
    assert redact(changes) == {
        "after": {"name": "k", "key_value": "[redacted]", "nested": [{"client_secret": "[redacted]"}]}
    }


def test_record_stores_redacted_changes(fleet):
    with transaction.atomic():
        event = audit.record(
            actor=SYSTEM,
            action="keys.api_key.create",
            organization=fleet.org,
            changes={"after": {"name": "k", "key_value": "fa_live_supersecret"}},
        )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.changes == {"after": {"name": "k", "key_value": "[redacted]"}}
    assert stored.actor_type == "system"
    assert stored.actor_name == "system"


def test_request_metadata_is_recorded_and_the_request_id_returned(fleet, client_for):
    client = client_for(fleet.owner)
    response = client.post(
        f"/orgs/{fleet.org.pk}/locations/new/",
        {"name": "Annex", "parent": ""},
        HTTP_X_REQUEST_ID="ticket-trace-0001",
        HTTP_USER_AGENT="pytest-agent/1.0",
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 302
    assert response["X-Request-ID"] == "ticket-trace-0001"
    event = AuditEvent.objects.get(action="fleet.location.create")
    assert event.request_id == "ticket-trace-0001"
    assert event.ip == "203.0.113.9"
    assert event.user_agent == "pytest-agent/1.0"


def test_a_malformed_incoming_request_id_is_replaced(client_for, fleet):
    response = client_for(fleet.owner).get("/orgs/", HTTP_X_REQUEST_ID="<script>")
    assert response["X-Request-ID"] != "<script>"
    assert len(response["X-Request-ID"]) == 32
