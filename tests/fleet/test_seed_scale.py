"""seed_scale: bulk-inserted benchmark data that keeps the fleet invariants and valid audit chains."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fleetadmin.audit.hashing import event_hash
from fleetadmin.audit.integrity import verify_chain
from fleetadmin.audit.models import AuditEvent
from fleetadmin.fleet.models import Location, Machine, Organization


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_scale", stdout=out, **options)
    return out.getvalue()


def assert_fleet_is_valid() -> None:
    paths = dict(Location.objects.values_list("id", "path"))
    for location in Location.objects.all():
        assert location.path.endswith(f"/{location.pk.hex}/")
        assert location.path.startswith("/")
        if location.parent_id is None:
            assert location.path == f"/{location.pk.hex}/"
        else:
            assert location.path == f"{paths[location.parent_id]}{location.pk.hex}/"
            assert location.parent.organization_id == location.organization_id
        assert location.depth < Location.MAX_DEPTH
    for machine in Machine.objects.select_related("location"):
        assert machine.organization_id == machine.location.organization_id
    # Names unique among siblings (case-insensitively, as the services check) and within a location.
    siblings = [(loc.organization_id, loc.parent_id, loc.name.lower()) for loc in Location.objects.all()]
    assert len(siblings) == len(set(siblings))
    machine_names = [(m.location_id, m.name.lower()) for m in Machine.objects.all()]
    assert len(machine_names) == len(set(machine_names))


def assert_chains_verify() -> int:
    """Recompute every organization's chain in id order; return the number of chains."""
    org_ids = set(AuditEvent.objects.values_list("organization_id", flat=True))
    for org_id in org_ids:
        prev_hash, prev_at = "", None
        for event in AuditEvent.objects.filter(organization_id=org_id).order_by("id"):
            assert event.prev_hash == prev_hash
            assert event_hash(event, prev_hash) == event.hash
            assert prev_at is None or event.created_at > prev_at
            prev_hash, prev_at = event.hash, event.created_at
        assert verify_chain(org_id).ok
    return len(org_ids)


@pytest.mark.django_db
def test_seed_scale_fills_a_valid_fleet_and_audit_chains():
    output = seed(orgs=3, machines=40, audit_events=200)

    assert Organization.objects.count() == 3
    assert Machine.objects.count() == 40
    assert AuditEvent.objects.count() == 200
    locations = Location.objects.count()
    assert locations >= 3
    assert set(Location.objects.values_list("organization_id", flat=True)) == set(
        Organization.objects.values_list("id", flat=True)
    )
    assert sorted(Organization.objects.values_list("name", flat=True)) == [
        "Scale Org 00001",
        "Scale Org 00002",
        "Scale Org 00003",
    ]
    assert f"seed_scale: 3 orgs, {locations} locations, 40 machines, 200 audit events in" in output
    assert_fleet_is_valid()
    assert assert_chains_verify() == Organization.objects.count()
    # Targets are real rows of the event's organization.
    for event in AuditEvent.objects.exclude(target_type=""):
        model = {"fleet.machine": Machine, "fleet.location": Location, "fleet.organization": Organization}
        target = model[event.target_type].objects.get(pk=event.target_id)
        assert getattr(target, "organization_id", target.pk) == event.organization_id
        assert str(target) == event.target_name


@pytest.mark.django_db
def test_seed_scale_twice_adds_fresh_data_and_continues_chains():
    seed(orgs=3, machines=40, audit_events=200)
    seed(orgs=3, machines=40, audit_events=200)

    assert Organization.objects.count() == 6
    assert Machine.objects.count() == 80
    assert AuditEvent.objects.count() == 400
    assert len(set(Organization.objects.values_list("name", flat=True))) == 6
    assert_fleet_is_valid()

    # Events only: appended to the existing organizations' chains, from their heads.
    seed(orgs=0, machines=0, audit_events=100)
    assert AuditEvent.objects.count() == 500
    assert Organization.objects.count() == 6
    assert assert_chains_verify() == Organization.objects.count()


@pytest.mark.django_db
def test_seed_scale_refuses_machines_without_new_organizations():
    with pytest.raises(CommandError):
        seed(orgs=0, machines=10, audit_events=0)
