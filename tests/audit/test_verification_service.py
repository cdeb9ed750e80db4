"""Chain verification as an audited service: run_chain_verification keeps a ChainVerification row and an
audit.chain.verify event; audit_verify runs it as SYSTEM; the web button's check is bounded to the latest events."""

import io

import pytest
from django.core.management import call_command

from fleetadmin.audit.integrity import run_chain_verification, verify_chain
from fleetadmin.audit.models import AuditEvent, ChainVerification
from tests.audit.conftest import record_many, tamper_update, verify_url

pytestmark = pytest.mark.django_db


def test_service_records_the_row_and_an_event_naming_the_actor(fleet):
    record_many(fleet.org, 4)
    result = run_chain_verification(actor=fleet.owner, organization_id=fleet.org.pk)
    assert (result.ok, result.events_checked, result.message) == (True, 4, "Verified 4 events.")
    row = ChainVerification.objects.get()
    assert (row.organization_id, row.ok, row.events_checked, row.message) == (fleet.org.pk, True, 4, result.message)
    event = AuditEvent.objects.get(action="audit.chain.verify")
    assert (event.organization_id, event.actor_type, event.actor_id) == (fleet.org.pk, "user", str(fleet.owner.pk))
    assert event.changes == {"ok": True, "events_checked": 4, "first_bad_event_id": None, "scope": "full"}
    # The event joins the chain like any other: the next full walk covers it.
    assert verify_chain(fleet.org.pk).events_checked == 5


def test_a_failed_verification_is_recorded_with_the_bad_event(fleet):
    events = record_many(fleet.org, 3)
    tamper_update(events[1].pk, action="test.thing.forged")
    result = run_chain_verification(actor=fleet.owner, organization_id=fleet.org.pk)
    assert (result.ok, result.first_bad_event_id) == (False, events[1].pk)
    event = AuditEvent.objects.get(action="audit.chain.verify")
    assert event.changes == {"ok": False, "events_checked": 1, "first_bad_event_id": events[1].pk, "scope": "full"}


def test_audit_verify_command_records_a_system_event_per_chain(fleet):
    record_many(fleet.org, 2)
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert "audit_verify: OK, verified 2 events in 1 chain(s)." in out.getvalue()
    event = AuditEvent.objects.get(action="audit.chain.verify")
    assert (event.organization_id, event.actor_type) == (fleet.org.pk, "system")
    assert ChainVerification.objects.get().events_checked == 2


def test_bounded_check_walks_only_the_latest_events(fleet):
    events = record_many(fleet.org, 6)
    tamper_update(events[0].pk, action="test.thing.forged")  # older than the bound
    bounded = run_chain_verification(actor=fleet.owner, organization_id=fleet.org.pk, limit=3)
    assert (bounded.ok, bounded.events_checked, bounded.message) == (True, 3, "Verified the latest 3 events.")
    assert AuditEvent.objects.get(action="audit.chain.verify").changes["scope"] == "latest 3"
    full = verify_chain(fleet.org.pk)
    assert (full.ok, full.first_bad_event_id) == (False, events[0].pk)


def test_bounded_check_of_a_short_chain_is_the_full_check(fleet):
    record_many(fleet.org, 2)
    result = verify_chain(fleet.org.pk, limit=10)
    assert (result.ok, result.events_checked, result.message) == (True, 2, "Verified 2 events.")


def test_bounded_check_catches_a_tampered_recent_event(fleet):
    events = record_many(fleet.org, 6)
    tamper_update(events[4].pk, action="test.thing.forged")
    result = verify_chain(fleet.org.pk, limit=3)
    assert (result.ok, result.first_bad_event_id) == (False, events[4].pk)


def test_web_button_records_the_event_as_the_user(fleet, client_for):
    record_many(fleet.org, 2)
    page = client_for(fleet.owner).post(verify_url(fleet.org), follow=True).content.decode()
    assert "Chain verification: Verified 2 events." in page
    event = AuditEvent.objects.get(action="audit.chain.verify")
    assert (event.actor_id, event.changes["scope"]) == (str(fleet.owner.pk), "latest 20000")
    assert "audit.chain.verify" in page  # the log lists the verification like any other event
