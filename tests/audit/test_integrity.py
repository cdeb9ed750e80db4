"""Hash chains: verify_chain and audit_verify catch edits, removals and reorderings; audit_prune keeps them whole."""

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from fleetadmin.audit import integrity
from fleetadmin.audit.hashing import event_hash
from fleetadmin.audit.integrity import VerificationResult, run_chain_verification, verify_chain
from fleetadmin.audit.models import AuditEvent, ChainCheckpoint, ChainVerification, PrunePermit
from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet import services
from tests.audit.conftest import (
    chain,
    log_url,
    record_event,
    record_many,
    tamper_delete,
    tamper_swap,
    tamper_update,
)

pytestmark = pytest.mark.django_db

EDITED = "Event {} does not match its hash: its content was changed after it was recorded."
UNLINKED = "Event {} does not link to the event before it: an event was removed or reordered."


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def events(fleet, audit_clock):
    """Six events of Acme Robotics through the fleet services, one second apart."""
    audit_clock.set(at(2026, 11, 3, 9, 0, 0, 250), step=timedelta(seconds=1))
    location = services.location_create(actor=fleet.owner, organization=fleet.org, name="Annex")
    machine = services.machine_create(actor=fleet.owner, location=location, name="bot-1")
    services.machine_rename(actor=fleet.owner, machine=machine, name="bot-2")
    services.location_rename(actor=fleet.owner, location=fleet.warehouse, name="Depot")
    services.machine_rename(actor=fleet.location_owner, machine=fleet.arm, name="arm-02")
    services.machine_delete(actor=fleet.owner, machine=machine)
    events = chain(fleet.org)
    assert len(events) == 6
    return events


def run(command, *args, **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def run_failing(command, *args, **options) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as raised:
        call_command(command, *args, stdout=out, stderr=err, **options)
    return raised.value.code, out.getvalue(), err.getvalue()


# ---- verify_chain ------------------------------------------------------------------------------------


def test_the_tampering_helpers_leave_the_triggers_in_force(fleet, events):
    tamper_update(events[0].pk, ticket="T-1")
    tamper_swap(events[1], events[2])
    tamper_delete(events[3].pk)
    assert AuditEvent.objects.get(pk=events[0].pk).ticket == "T-1"
    assert not AuditEvent.objects.filter(pk=events[3].pk).exists()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET ticket = 'T-2' WHERE id = %s", [events[0].pk])
    with pytest.raises(DatabaseError, match="append-only"):
        _raw_delete(events[4].pk)


def test_a_fresh_chain_verifies_and_the_log_page_shows_it(fleet, events, client_for):
    client = client_for(fleet.operator)
    assert "The hash chain has not been verified yet." in client.get(log_url(fleet.org)).content.decode()
    result = run_chain_verification(actor=SYSTEM, organization_id=fleet.org.pk)
    assert result == VerificationResult(fleet.org.pk, True, 6, None, "Verified 6 events.")
    stored = ChainVerification.objects.get()
    assert (stored.organization_id, stored.ok, stored.events_checked, stored.first_bad_event_id, stored.message) == (
        fleet.org.pk,
        True,
        6,
        None,
        "Verified 6 events.",
    )
    content = client.get(log_url(fleet.org)).content.decode()
    assert '<span class="status status-active">Chain verified</span>' in content
    assert re.search(r"Verified 6 events\. Last checked \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\.", content)
    assert "has not been verified yet" not in content


def test_the_walk_itself_stores_nothing(fleet, events):
    """Only the audited service keeps a result: the walk writes no unaudited row."""
    assert verify_chain(fleet.org.pk).ok
    assert not ChainVerification.objects.exists()


def test_an_empty_chain_verifies(fleet):
    assert verify_chain(fleet.org.pk) == VerificationResult(fleet.org.pk, True, 0, None, "Verified 0 events.")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created_at", at(2026, 11, 3, 9, 0, 2, 251)),
        ("actor_type", "system"),
        ("actor_id", "999999"),
        ("actor_name", "mallory@example.com"),
        ("action", "fleet.machine.create"),
        ("target_type", "fleet.location"),
        ("target_id", "00000000-0000-0000-0000-000000000000"),
        ("target_name", "bot-3"),
        ("changes", {"before": {"name": "bot-1"}, "after": {"name": "bot-3"}}),
        ("request_id", "forged-request-id"),
        ("ip", "198.51.100.1"),
        ("user_agent", "curl/8"),
        ("ticket", "SUP-1"),
    ],
)
def test_an_edited_event_is_caught(fleet, events, client_for, field, value):
    edited = events[2]
    tamper_update(edited.pk, **{field: value})
    assert getattr(AuditEvent.objects.get(pk=edited.pk), field) == value
    result = run_chain_verification(actor=SYSTEM, organization_id=fleet.org.pk)
    assert result == VerificationResult(fleet.org.pk, False, 2, edited.pk, EDITED.format(edited.pk))
    stored = ChainVerification.objects.get()
    assert (stored.ok, stored.first_bad_event_id, stored.message) == (False, edited.pk, EDITED.format(edited.pk))
    content = client_for(fleet.owner).get(log_url(fleet.org)).content.decode()
    assert '<span class="status status-expired chain-bad">Chain broken</span>' in content
    assert EDITED.format(edited.pk) in content


def test_an_edited_event_with_a_recomputed_hash_breaks_the_next_link(fleet, events):
    edited = events[2]
    forged = AuditEvent.objects.get(pk=edited.pk)
    forged.target_name = "innocent"
    tamper_update(edited.pk, target_name="innocent", hash=event_hash(forged, forged.prev_hash))
    result = verify_chain(fleet.org.pk)
    assert result == VerificationResult(fleet.org.pk, False, 3, events[3].pk, UNLINKED.format(events[3].pk))


def test_a_deleted_event_in_the_middle_is_caught(fleet, events):
    tamper_delete(events[3].pk)
    result = verify_chain(fleet.org.pk)
    assert result == VerificationResult(fleet.org.pk, False, 3, events[4].pk, UNLINKED.format(events[4].pk))


def test_a_deleted_first_event_is_caught(fleet, events):
    tamper_delete(events[0].pk)
    result = verify_chain(fleet.org.pk)
    assert result == VerificationResult(fleet.org.pk, False, 0, events[1].pk, UNLINKED.format(events[1].pk))


@pytest.mark.parametrize("first", [0, 2, 4])
def test_a_reordered_pair_is_caught_at_the_first_of_them(fleet, events, first):
    a, b = events[first], events[first + 1]
    tamper_swap(a, b)
    swapped = AuditEvent.objects.get(pk=a.pk)
    assert (swapped.action, swapped.hash, swapped.prev_hash) == (b.action, b.hash, b.prev_hash)
    result = verify_chain(fleet.org.pk)
    assert result == VerificationResult(fleet.org.pk, False, first, a.pk, UNLINKED.format(a.pk))


def test_verification_crosses_chunk_boundaries(fleet, events, monkeypatch):
    monkeypatch.setattr(integrity, "CHUNK", 3)  # six events: exactly two chunks, then an empty read
    assert verify_chain(fleet.org.pk).message == "Verified 6 events."
    record_event(fleet.org)
    assert verify_chain(fleet.org.pk).message == "Verified 7 events."
    tamper_update(events[3].pk, actor_name="x")  # the first event of the second chunk
    result = verify_chain(fleet.org.pk)
    assert (result.ok, result.events_checked, result.first_bad_event_id) == (False, 3, events[3].pk)


def test_tampering_in_one_organization_leaves_the_others_valid(fleet, events):
    globex = fleet.outsider.memberships.get().organization
    foreign = record_many(globex, 3)
    tamper_update(foreign[1].pk, action="x.y.z")
    assert verify_chain(fleet.org.pk).ok
    assert verify_chain(globex.pk).first_bad_event_id == foreign[1].pk


def test_events_without_an_organization_form_a_valid_chain(db):
    """record() accepts organization=None and audit_verify walks that chain too; it must verify."""
    first = record_event(None, action="accounts.user.sign_in")
    second = record_event(None, action="accounts.user.sign_in")
    assert second.prev_hash == first.hash
    assert verify_chain(None).ok
    out, _ = run("audit_verify")
    assert out == "audit_verify: OK, verified 2 events in 1 chain(s).\n"


# ---- audit_verify ---------------------------------------------------------------------------------------


def test_audit_verify_reports_ok(fleet, events):
    globex = fleet.outsider.memberships.get().organization
    record_many(globex, 2)
    out, err = run("audit_verify")
    assert out == "audit_verify: OK, verified 8 events in 2 chain(s).\n"
    assert err == ""
    assert ChainVerification.objects.filter(ok=True).count() == 2


def test_audit_verify_exits_1_at_the_first_bad_event(fleet, events):
    tamper_update(events[4].pk, ticket="SUP-0")
    tamper_delete(events[1].pk)  # the earlier fault is the one reported
    code, out, err = run_failing("audit_verify")
    assert code == 1
    assert out == ""
    assert err == (
        f"organization {fleet.org.pk}: FAILED: {UNLINKED.format(events[2].pk)}\n"
        "audit_verify: 1 chain(s) failed; 1 events verified before the failures.\n"
    )


def test_audit_verify_exits_1_on_an_edited_event(fleet, events):
    tamper_update(events[5].pk, actor_name="mallory@example.com")
    code, _, err = run_failing("audit_verify", "--org", str(fleet.org.pk))
    assert code == 1
    assert f"organization {fleet.org.pk}: FAILED: {EDITED.format(events[5].pk)}\n" in err


def test_audit_verify_for_one_organization(fleet, events):
    globex = fleet.outsider.memberships.get().organization
    foreign = record_many(globex, 2)
    tamper_update(foreign[0].pk, actor_name="x")
    out, _ = run("audit_verify", org=str(fleet.org.pk))
    assert out == "audit_verify: OK, verified 6 events in 1 chain(s).\n"
    assert list(ChainVerification.objects.values_list("organization_id", flat=True)) == [fleet.org.pk]
    code, _, err = run_failing("audit_verify", "--org", str(globex.pk))
    assert code == 1 and EDITED.format(foreign[0].pk) in err


@pytest.mark.parametrize("org", ["nope", "123", "acme"])
def test_audit_verify_refuses_a_bad_org_id(fleet, org):
    with pytest.raises(CommandError) as raised:
        call_command("audit_verify", "--org", org)
    assert str(raised.value) == f"--org must be an organization id (a UUID); got {org!r}."


# ---- audit_prune --------------------------------------------------------------------------------------------


@pytest.fixture
def dated(fleet, audit_clock):
    """Acme events in January, at both sides of 2026-02-10 00:00 UTC, and in March; Globex events in January."""
    globex = fleet.outsider.memberships.get().organization
    moments = [
        at(2026, 1, 5, 10, 0, 0),
        at(2026, 1, 6, 10, 0, 0),
        at(2026, 1, 20, 10, 0, 0),
        at(2026, 2, 9, 23, 59, 59, 999999),
        at(2026, 2, 10, 0, 0, 0),
        at(2026, 3, 1, 8, 0, 0),
        at(2026, 3, 2, 8, 0, 0),
    ]
    for i, moment in enumerate(moments):
        audit_clock.set(moment)
        services.machine_rename(actor=fleet.owner, machine=fleet.arm, name=f"arm-{i}")
    audit_clock.set(at(2026, 1, 7))
    foreign = record_many(globex, 2)
    audit_clock.set(at(2026, 3, 7))
    foreign += record_many(globex, 1)
    audit_clock.set(at(2026, 4, 1, 12, 0, 0))  # "now", when the prune runs
    return chain(fleet.org), foreign


def test_audit_prune_removes_only_older_events_and_keeps_the_chain_verifiable(fleet, dated):
    events, foreign = dated
    out, _ = run("audit_prune", before="2026-02-10", org=str(fleet.org.pk))
    assert out == (
        f"organization {fleet.org.pk}: removed 4 events\naudit_prune: removed 4 events recorded before 2026-02-10.\n"
    )
    remaining = chain(fleet.org)
    assert [e.pk for e in remaining[:-1]] == [e.pk for e in events[4:]]
    assert AuditEvent.objects.filter(pk__in=[e.pk for e in foreign]).count() == 3  # another organization: untouched

    checkpoint = ChainCheckpoint.objects.get()
    assert (checkpoint.organization_id, checkpoint.last_pruned_event_id, checkpoint.last_pruned_hash) == (
        fleet.org.pk,
        events[3].pk,
        events[3].hash,
    )
    assert (checkpoint.pruned_count, checkpoint.pruned_before) == (4, at(2026, 2, 10))

    prune = remaining[-1]
    assert AuditEvent.objects.filter(action="audit.log.prune").count() == 1
    assert (prune.action, prune.actor_type, prune.actor_name, prune.organization_id) == (
        "audit.log.prune",
        "system",
        "system",
        fleet.org.pk,
    )
    assert prune.changes == {"after": {"pruned_events": 4, "recorded_before": "2026-02-10T00:00:00+00:00"}}
    assert prune.prev_hash == events[-1].hash

    out, _ = run("audit_verify")
    assert out == "audit_verify: OK, verified 7 events in 2 chain(s).\n"  # Acme: 3 + the prune event; Globex: 3


def test_audit_prune_of_every_organization(fleet, dated):
    out, _ = run("audit_prune", before="2026-02-10")
    globex = fleet.outsider.memberships.get().organization
    assert f"organization {fleet.org.pk}: removed 4 events\n" in out
    assert f"organization {globex.pk}: removed 2 events\n" in out
    assert out.endswith("audit_prune: removed 6 events recorded before 2026-02-10.\n")
    assert list(AuditEvent.objects.filter(organization=globex).exclude(action="audit.log.prune")) == [dated[1][2]]
    assert AuditEvent.objects.filter(action="audit.log.prune").count() == 2
    out, _ = run("audit_verify")
    assert out == "audit_verify: OK, verified 6 events in 2 chain(s).\n"  # Acme: 3 + prune; Globex: 1 + prune


def test_pruning_every_event_of_an_organization_keeps_its_chain_verifiable(fleet, audit_clock):
    """The prune event (and every later one) must link to the checkpoint when nothing older remains."""
    audit_clock.set(at(2026, 1, 5))
    pruned = record_many(fleet.org, 3)
    audit_clock.set(at(2026, 4, 1))
    run("audit_prune", before="2026-02-01", org=str(fleet.org.pk))
    (prune,) = chain(fleet.org)
    assert prune.action == "audit.log.prune"
    assert ChainCheckpoint.objects.get().last_pruned_hash == pruned[-1].hash
    assert prune.prev_hash == pruned[-1].hash
    record_event(fleet.org)
    assert verify_chain(fleet.org.pk).message == "Verified 2 events."
    out, _ = run("audit_verify")
    assert out == "audit_verify: OK, verified 2 events in 1 chain(s).\n"


def test_audit_prune_in_batches_checkpoints_each_batch(fleet, dated, monkeypatch):
    events, _ = dated
    monkeypatch.setattr(integrity, "PRUNE_BATCH", 3)
    run("audit_prune", before="2026-03-01", org=str(fleet.org.pk))
    checkpoints = list(ChainCheckpoint.objects.order_by("last_pruned_event_id"))
    assert [(c.last_pruned_event_id, c.last_pruned_hash, c.pruned_count) for c in checkpoints] == [
        (events[2].pk, events[2].hash, 3),
        (events[4].pk, events[4].hash, 2),
    ]
    assert AuditEvent.objects.get(action="audit.log.prune").changes["after"]["pruned_events"] == 5
    assert verify_chain(fleet.org.pk).message == "Verified 3 events."


def test_pruning_twice_resumes_from_the_latest_checkpoint(fleet, dated, audit_clock):
    run("audit_prune", before="2026-01-10", org=str(fleet.org.pk))
    audit_clock.set(at(2026, 4, 2))
    run("audit_prune", before="2026-03-02", org=str(fleet.org.pk))
    assert ChainCheckpoint.objects.count() == 2
    # 2026-03-02 08:00 and the two prune events remain
    assert verify_chain(fleet.org.pk).message == "Verified 3 events."
    out, _ = run("audit_verify", org=str(fleet.org.pk))
    assert out == "audit_verify: OK, verified 3 events in 1 chain(s).\n"


def test_after_a_prune_removing_the_first_remaining_event_is_still_caught(fleet, dated):
    events, _ = dated
    run("audit_prune", before="2026-02-10", org=str(fleet.org.pk))
    tamper_delete(events[4].pk)
    result = verify_chain(fleet.org.pk)
    assert result == VerificationResult(fleet.org.pk, False, 0, events[5].pk, UNLINKED.format(events[5].pk))


def test_audit_prune_with_nothing_to_remove(fleet, dated):
    out, _ = run("audit_prune", before="2025-12-31")
    assert out == "audit_prune: removed 0 events recorded before 2025-12-31.\n"
    assert not ChainCheckpoint.objects.exists()
    assert not AuditEvent.objects.filter(action="audit.log.prune").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"before": "2026-02-30"}, "--before must be a date YYYY-MM-DD; got '2026-02-30'."),
        ({"before": "last week"}, "--before must be a date YYYY-MM-DD; got 'last week'."),
        ({"before": "2026-02-10", "org": "acme"}, "--org must be an organization id (a UUID); got 'acme'."),
    ],
)
def test_audit_prune_refuses_bad_arguments(fleet, dated, options, message):
    with pytest.raises(CommandError) as raised:
        call_command("audit_prune", **options)
    assert str(raised.value) == message
    assert AuditEvent.objects.count() == 10


def test_audit_prune_needs_before(fleet):
    with pytest.raises(CommandError, match="the following arguments are required: --before"):
        call_command("audit_prune")


def _raw_delete(event_id):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event_id])


def test_outside_the_prune_command_the_database_still_refuses_delete(fleet, dated):
    """Even in the same transaction as a prune (a caller's atomic block, or this test's), the permit has ended."""
    events, _ = dated
    run("audit_prune", before="2026-02-10", org=str(fleet.org.pk))
    assert not PrunePermit.objects.exists()
    with pytest.raises(DatabaseError, match="append-only"):
        _raw_delete(events[5].pk)
    assert AuditEvent.objects.filter(pk=events[5].pk).exists()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [events[5].pk])


@pytest.mark.django_db(transaction=True)
def test_after_a_committed_prune_the_database_still_refuses_delete(flushable_events, fleet, dated):
    events, _ = dated
    run("audit_prune", before="2026-02-10")
    assert not PrunePermit.objects.exists()
    with pytest.raises(DatabaseError, match="append-only"):
        _raw_delete(events[5].pk)
    assert AuditEvent.objects.filter(pk=events[5].pk).exists()
    out, _ = run("audit_verify")
    assert out == "audit_verify: OK, verified 6 events in 2 chain(s).\n"  # Acme: 3 + prune; Globex: 1 + prune
