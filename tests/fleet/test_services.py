import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from fleetadmin.audit.models import AuditEvent
from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet import rules, services
from fleetadmin.fleet.models import Location, Machine, Membership, Role
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def events(action):
    return list(AuditEvent.objects.filter(action=action))


def test_location_create_builds_path_and_records_one_event(fleet):
    before = AuditEvent.objects.count()
    dock = services.location_create(actor=fleet.owner, organization=fleet.org, name="  Dock   7 ", parent=fleet.hq)
    assert dock.name == "Dock 7"
    assert dock.path == f"{fleet.hq.path}{dock.pk.hex}/"
    assert AuditEvent.objects.count() == before + 1
    (event,) = events("fleet.location.create")
    assert event.organization_id == fleet.org.pk
    assert event.actor_type == "user"
    assert event.actor_id == str(fleet.owner.pk)
    assert event.actor_name == fleet.owner.email
    assert event.target_type == "fleet.location"
    assert event.target_id == str(dock.pk)
    assert event.changes == {"after": {"name": "Dock 7", "parent": "Headquarters"}}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Enter a location name; it cannot be empty."),
        ("   ", "Enter a location name; it cannot be empty."),
        ("x" * 101, "A location name has at most 100 characters; this one has 101."),
        ("bad\x00name", "A location name cannot contain control characters."),
    ],
)
def test_location_create_rejects_bad_names(fleet, name, message):
    with pytest.raises(ValidationError) as excinfo:
        services.location_create(actor=fleet.owner, organization=fleet.org, name=name)
    assert excinfo.value.message_dict == {"name": [message]}
    assert not AuditEvent.objects.filter(action="fleet.location.create").exists()


def test_location_names_are_unique_among_siblings_case_insensitively(fleet):
    with pytest.raises(ValidationError) as excinfo:
        services.location_create(actor=fleet.owner, organization=fleet.org, name="headquarters")
    assert excinfo.value.message_dict == {"name": ["A location named “headquarters” already exists at the top level."]}
    # The same name is fine elsewhere in the tree.
    services.location_create(actor=fleet.owner, organization=fleet.org, name="Headquarters", parent=fleet.warehouse)


def test_location_create_refuses_a_parent_from_another_organization(fleet):
    other = OrganizationFactory()
    with pytest.raises(ValidationError):
        services.location_create(actor=SYSTEM, organization=other, name="Stolen", parent=fleet.hq)


def test_locations_nest_at_most_eight_levels(fleet):
    parent = fleet.line_a  # depth 1
    for level in range(2, Location.MAX_DEPTH):
        parent = services.location_create(actor=fleet.owner, organization=fleet.org, name=f"L{level}", parent=parent)
    with pytest.raises(ValidationError, match="at most 8 levels"):
        services.location_create(actor=fleet.owner, organization=fleet.org, name="too deep", parent=parent)


def test_operator_and_location_owner_cannot_create_locations(fleet):
    for actor in (fleet.operator, fleet.location_owner, fleet.outsider):
        with pytest.raises(PermissionDenied):
            services.location_create(actor=actor, organization=fleet.org, name="Nope", parent=fleet.hq)
    assert not Location.objects.filter(name="Nope").exists()
    assert not AuditEvent.objects.exists()


def test_location_rename_records_before_and_after(fleet):
    services.location_rename(actor=fleet.location_owner, location=fleet.line_a, name="Line Alpha")
    fleet.line_a.refresh_from_db()
    assert fleet.line_a.name == "Line Alpha"
    (event,) = events("fleet.location.rename")
    assert event.changes == {"before": {"name": "Line A"}, "after": {"name": "Line Alpha"}}


def test_rename_to_the_same_name_is_a_no_op_without_an_event(fleet):
    services.location_rename(actor=fleet.owner, location=fleet.hq, name="Headquarters")
    assert not AuditEvent.objects.exists()


def test_location_owner_cannot_rename_outside_their_subtree(fleet):
    with pytest.raises(PermissionDenied):
        services.location_rename(actor=fleet.location_owner, location=fleet.warehouse, name="Mine now")


def test_location_delete_refuses_a_location_that_still_holds_things(fleet):
    with pytest.raises(ValidationError) as excinfo:
        services.location_delete(actor=fleet.owner, location=fleet.hq)
    assert excinfo.value.messages == ["“Headquarters” still holds 1 sub-location; delete or move them first."]
    with pytest.raises(ValidationError, match="still holds 1 machine;"):
        services.location_delete(actor=fleet.owner, location=fleet.line_a)
    assert Location.objects.filter(pk=fleet.hq.pk).exists()
    assert not AuditEvent.objects.exists()


def test_location_delete_of_an_empty_location(fleet):
    empty = services.location_create(actor=fleet.owner, organization=fleet.org, name="Empty")
    empty_id = empty.pk
    services.location_delete(actor=fleet.owner, location=empty)
    assert not Location.objects.filter(pk=empty_id).exists()
    (event,) = events("fleet.location.delete")
    assert event.target_id == str(empty_id)
    assert event.target_name == "Empty"


def test_machine_lifecycle(fleet):
    machine = services.machine_create(actor=fleet.location_owner, location=fleet.line_a, name="arm-02")
    assert machine.organization_id == fleet.org.pk
    services.machine_rename(actor=fleet.owner, machine=machine, name="arm-02b")
    services.machine_delete(actor=fleet.owner, machine=machine)
    assert not Machine.objects.filter(pk=machine.pk).exists()
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["fleet.machine.create", "fleet.machine.rename", "fleet.machine.delete"]


def test_machine_names_are_unique_within_a_location(fleet):
    with pytest.raises(ValidationError) as excinfo:
        services.machine_create(actor=fleet.owner, location=fleet.line_a, name="ARM-01")
    assert excinfo.value.message_dict == {"name": ["A machine named “ARM-01” already exists in Line A."]}
    second = services.machine_create(actor=fleet.owner, location=fleet.warehouse, name="forklift-02")
    with pytest.raises(ValidationError, match="already exists in Warehouse"):
        services.machine_rename(actor=fleet.owner, machine=second, name="FORKLIFT-01")
    services.machine_create(actor=fleet.owner, location=fleet.warehouse, name="arm-01")


def test_operator_cannot_change_machines(fleet):
    with pytest.raises(PermissionDenied):
        services.machine_create(actor=fleet.operator, location=fleet.hq, name="x")
    with pytest.raises(PermissionDenied):
        services.machine_rename(actor=fleet.operator, machine=fleet.arm, name="x")
    with pytest.raises(PermissionDenied):
        services.machine_delete(actor=fleet.operator, machine=fleet.arm)
    with pytest.raises(PermissionDenied):
        services.machine_delete(actor=fleet.location_owner, machine=fleet.forklift)


def test_membership_grant_validates_role_and_scope(fleet):
    newcomer = UserFactory()
    with pytest.raises(ValidationError, match="needs a location"):
        services.membership_grant(actor=fleet.owner, user=newcomer, organization=fleet.org, role=Role.LOCATION_OWNER)
    with pytest.raises(
        ValidationError,
        match=re.escape(rules.unknown_role("robot_owner")),
    ):
        services.membership_grant(actor=fleet.owner, user=newcomer, organization=fleet.org, role="robot_owner")
    with pytest.raises(PermissionDenied):
        services.membership_grant(
            actor=fleet.operator, user=newcomer, organization=fleet.org, role=Role.ORGANIZATION_OWNER
        )
    membership = services.membership_grant(
        actor=fleet.owner, user=newcomer, organization=fleet.org, role=Role.LOCATION_OPERATOR, location=fleet.hq
    )
    assert Membership.objects.get(pk=membership.pk).role == Role.LOCATION_OPERATOR
    assert events("fleet.membership.grant")[0].changes["after"]["role"] == "location_operator"


def test_a_failed_audit_write_rolls_the_change_back(fleet, monkeypatch):
    from fleetadmin.audit import services as audit_services

    def broken_hash(event, prev_hash):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit_services, "event_hash", broken_hash)
    with pytest.raises(RuntimeError, match="disk full"):
        services.location_create(actor=fleet.owner, organization=fleet.org, name="Ghost")
    assert not Location.objects.filter(name="Ghost").exists()
