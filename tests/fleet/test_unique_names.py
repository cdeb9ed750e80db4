"""Sibling names are unique whatever their case: in the services, in the database, and through the migration."""

import importlib

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from fleetadmin.audit.models import AuditEvent
from fleetadmin.fleet import services
from fleetadmin.fleet.models import Location, Machine
from tests.factories import LocationFactory, MachineFactory, OrganizationFactory

migration = importlib.import_module("fleetadmin.fleet.migrations.0004_case_insensitive_unique_names")

BEFORE = ("fleet", "0003_merge_20261203_0556")
AFTER = ("fleet", "0004_case_insensitive_unique_names")


# --- the database itself, bypassing the services -------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["top level", "under a parent"])
def test_the_database_refuses_a_location_whose_name_differs_only_in_case(fleet, where):
    parent = None if where == "top level" else fleet.hq
    LocationFactory(organization=fleet.org, parent=parent, name="Dock A")
    with pytest.raises(IntegrityError), transaction.atomic():
        LocationFactory(organization=fleet.org, parent=parent, name="dock a")


@pytest.mark.django_db
def test_the_database_refuses_a_machine_whose_name_differs_only_in_case(fleet):
    with pytest.raises(IntegrityError), transaction.atomic():
        MachineFactory(location=fleet.line_a, name="ARM-01")  # beside "arm-01"


@pytest.mark.django_db
def test_the_same_name_in_any_case_is_fine_elsewhere(fleet):
    LocationFactory(organization=fleet.org, parent=fleet.warehouse, name="HEADQUARTERS")  # not a sibling
    LocationFactory(organization=OrganizationFactory(), name="headquarters")  # another organization
    LocationFactory(organization=fleet.org, parent=fleet.hq, name="Line B")
    MachineFactory(location=fleet.warehouse, name="ARM-01")
    assert Location.objects.filter(name__iexact="headquarters").count() == 3


# --- the services, when the constraint and not the pre-check catches the twin ---------------------


def _twin_written_after_the_check(monkeypatch, check_name, twin):
    """The pre-check passes, then a "concurrent request" writes ``twin()`` before the service's own write."""
    check = getattr(services, check_name)

    def check_then_race(*args, **kwargs):
        check(*args, **kwargs)
        twin()

    monkeypatch.setattr(services, check_name, check_then_race)


# What a concurrent request writes, what the service was asked, the message, the audit action, the counter.
RACES = {
    "location": (
        "_ensure_unique_location_name",
        lambda fleet: LocationFactory(organization=fleet.org, name="DOCK 7"),
        lambda fleet: services.location_create(actor=fleet.owner, organization=fleet.org, name="Dock 7"),
        "A location named “Dock 7” already exists at the top level.",
        "fleet.location.create",
        lambda fleet: (fleet.org, "location_count", 3),
    ),
    "machine": (
        "_ensure_unique_machine_name",
        lambda fleet: MachineFactory(location=fleet.line_a, name="ARM-02"),
        lambda fleet: services.machine_create(actor=fleet.owner, location=fleet.line_a, name="arm-02"),
        "A machine named “arm-02” already exists in Line A.",
        "fleet.machine.create",
        lambda fleet: (fleet.line_a, "machine_count", 1),
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(RACES))
def test_create_reports_a_concurrent_twin_as_the_check_does(fleet, monkeypatch, kind):
    check_name, twin, create, message, action, counter = RACES[kind]
    _twin_written_after_the_check(monkeypatch, check_name, lambda: twin(fleet))
    with pytest.raises(ValidationError) as excinfo:
        create(fleet)
    assert excinfo.value.message_dict == {"name": [message]}
    assert not AuditEvent.objects.filter(action=action).exists()
    row, field, expected = counter(fleet)
    row.refresh_from_db()
    assert getattr(row, field) == expected  # the counter was not bumped for the refused row


@pytest.mark.django_db
def test_location_rename_reports_the_constraint_with_the_checks_message(fleet, monkeypatch):
    monkeypatch.setattr(services, "_ensure_unique_location_name", lambda *args, **kwargs: None)
    with pytest.raises(ValidationError) as excinfo:
        services.location_rename(actor=fleet.owner, location=fleet.warehouse, name="HEADQUARTERS")
    assert excinfo.value.message_dict == {"name": ["A location named “HEADQUARTERS” already exists at the top level."]}
    assert fleet.warehouse.name == "Warehouse"
    fleet.warehouse.refresh_from_db()
    assert fleet.warehouse.name == "Warehouse"
    assert not AuditEvent.objects.filter(action="fleet.location.rename").exists()


@pytest.mark.django_db
def test_a_child_location_twin_gets_the_checks_message(fleet, monkeypatch):
    monkeypatch.setattr(services, "_ensure_unique_location_name", lambda *args, **kwargs: None)
    with pytest.raises(ValidationError) as excinfo:
        services.location_create(actor=fleet.owner, organization=fleet.org, name="line a", parent=fleet.hq)
    assert excinfo.value.message_dict == {"name": ["A location named “line a” already exists under Headquarters."]}


@pytest.mark.django_db
def test_machine_rename_reports_the_constraint_with_the_checks_message(fleet, monkeypatch):
    monkeypatch.setattr(services, "_ensure_unique_machine_name", lambda *args, **kwargs: None)
    second = services.machine_create(actor=fleet.owner, location=fleet.line_a, name="arm-02")
    with pytest.raises(ValidationError) as excinfo:
        services.machine_rename(actor=fleet.owner, machine=second, name="Arm-01")
    assert excinfo.value.message_dict == {"name": ["A machine named “Arm-01” already exists in Line A."]}
    second.refresh_from_db()
    assert second.name == "arm-02"
    # The refused write did not spoil the transaction: the next change goes through.
    services.machine_rename(actor=fleet.owner, machine=second, name="arm-03")
    assert Machine.objects.get(pk=second.pk).name == "arm-03"


# --- the migration's report on existing duplicates ------------------------------------------------


def _constraint_names(table):
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, table))


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_stops_with_a_report_on_existing_case_duplicates_and_changes_nothing():
    apps = _migrate(BEFORE)
    try:
        Organization = apps.get_model("fleet", "Organization")
        HistLocation = apps.get_model("fleet", "Location")
        HistMachine = apps.get_model("fleet", "Machine")
        org = Organization.objects.create(name="Acme Robotics")

        def location(name, parent=None):
            row = HistLocation(organization=org, parent=parent, name=name)
            row.path = f"{parent.path if parent else '/'}{row.pk.hex}/"
            row.save()
            return row

        upper, lower = location("Line A"), location("line a")
        hall = location("Hall")
        bay, bay_twin, other = location("Bay 1", hall), location("BAY 1", hall), location("Bay 2", hall)
        arm = HistMachine.objects.create(organization=org, location=hall, name="arm-01")
        arm_twin = HistMachine.objects.create(organization=org, location=hall, name="ARM-01")
        HistMachine.objects.create(organization=org, location=other, name="arm-01")  # another location: no clash
        names_before = (
            sorted(HistLocation.objects.values_list("id", "name")),
            sorted(HistMachine.objects.values_list("id", "name")),
        )

        with pytest.raises(migration.CaseInsensitiveDuplicateNames) as excinfo:
            _migrate(AFTER)

        report = str(excinfo.value).split("\n")
        where = f"organization “Acme Robotics” ({org.pk})"
        assert report[0] == (
            "fleet.0004 stopped, nothing was changed: 3 group(s) of sibling names differ only in case, "
            "and names must now be unique whatever their case:"
        )
        assert set(report[1:4]) == {
            f"- locations “Line A” ({upper.pk}), “line a” ({lower.pk}) in {where}, at the top level",
            f"- locations “BAY 1” ({bay_twin.pk}), “Bay 1” ({bay.pk}) in {where}, under location “Hall” ({hall.pk})",
            f"- machines “ARM-01” ({arm_twin.pk}), “arm-01” ({arm.pk}) in {where}, in location “Hall” ({hall.pk})",
        }
        assert report[4:] == [
            "Rename all but one in each group (in the portal, the API or the CLI), then run migrate again."
        ]
        # Nothing was renamed, nothing deleted, the old constraints stand and the new ones were not added.
        names_after = (
            sorted(HistLocation.objects.values_list("id", "name")),
            sorted(HistMachine.objects.values_list("id", "name")),
        )
        assert names_after == names_before
        assert AFTER not in MigrationExecutor(connection).loader.applied_migrations
        assert {"fleet_location_unique_root_name", "fleet_location_unique_child_name"} <= _constraint_names(
            "fleet_location"
        )
        assert "fleet_location_unique_root_name_ci" not in _constraint_names("fleet_location")
        assert "fleet_machine_unique_name" in _constraint_names("fleet_machine")

        # Renamed as the report says, the migration goes through and the database enforces the rule.
        HistLocation.objects.filter(pk=lower.pk).update(name="Line A2")
        HistLocation.objects.filter(pk=bay_twin.pk).update(name="Bay 3")
        HistMachine.objects.filter(pk=arm_twin.pk).update(name="arm-02")
        _migrate(AFTER)
        assert {"fleet_location_unique_root_name_ci", "fleet_location_unique_child_name_ci"} <= _constraint_names(
            "fleet_location"
        )
        assert "fleet_machine_unique_name_ci" in _constraint_names("fleet_machine")
        with pytest.raises(IntegrityError), transaction.atomic():
            Machine.objects.create(organization_id=org.pk, location_id=hall.pk, name="ARM-02")
    finally:
        Machine.objects.all().delete()
        for row in Location.objects.order_by("-path"):  # children first: a parent is protected
            row.delete()
        _migrate(AFTER)
