"""The only writers of the fleet hierarchy. Each change records one audit event in its transaction."""

from __future__ import annotations

import unicodedata
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact

from fleetadmin import audit
from fleetadmin.audit.services import diff
from fleetadmin.fleet import authz, counters, rules
from fleetadmin.fleet.models import (
    LOCATION_ROLES,
    ORGANIZATION_ROLES,
    Location,
    Machine,
    Membership,
    Organization,
    Role,
)

NAME_MAX_LENGTH = 100


def clean_name(value: str, *, field: str = "name", what: str = "name") -> str:
    """A display name: trimmed, 1-100 characters, no control characters."""
    name = " ".join((value or "").split())
    if not name:
        raise ValidationError({field: f"Enter a {what}; it cannot be empty."})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({field: f"A {what} has at most {NAME_MAX_LENGTH} characters; this one has {len(name)}."})
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ValidationError({field: f"A {what} cannot contain control characters."})
    return name


def _location_name_taken(parent: Location | None, name: str) -> ValidationError:
    where = f"under {parent.name}" if parent else "at the top level"
    return ValidationError({"name": f"A location named “{name}” already exists {where}."})


def _machine_name_taken(location: Location, name: str) -> ValidationError:
    return ValidationError({"name": f"A machine named “{name}” already exists in {location.name}."})


def _same_name(name: str) -> Exact:
    """Names equal whatever their case, compared as the unique constraints compare them (LOWER in the database)."""
    return Exact(Lower("name"), Lower(Value(name)))


def _ensure_unique_location_name(organization: Organization, parent: Location | None, name: str, exclude=None) -> None:
    siblings = Location.objects.filter(_same_name(name), organization=organization, parent=parent)
    if exclude is not None:
        siblings = siblings.exclude(pk=exclude.pk)
    if siblings.exists():
        raise _location_name_taken(parent, name)


def _ensure_unique_machine_name(location: Location, name: str, exclude=None) -> None:
    siblings = Machine.objects.filter(_same_name(name), location=location)
    if exclude is not None:
        siblings = siblings.exclude(pk=exclude.pk)
    if siblings.exists():
        raise _machine_name_taken(location, name)


# The constraints that back the checks above (fleet.models); their names appear in the database's error.
LOCATION_NAME_CONSTRAINTS = ("fleet_location_unique_root_name_ci", "fleet_location_unique_child_name_ci")
MACHINE_NAME_CONSTRAINTS = ("fleet_machine_unique_name_ci",)


@contextmanager
def _name_clash_reported_as(taken: ValidationError, constraints: tuple[str, ...]):
    """Write in a savepoint; a twin that a concurrent request wrote after the check gets the check's message.

    The savepoint keeps the caller's transaction usable after the database refuses the row.
    """
    try:
        with transaction.atomic():
            yield
    except IntegrityError as error:
        if not any(constraint in str(error) for constraint in constraints):
            raise
        raise taken from None


@transaction.atomic
def organization_create(*, actor, name: str) -> Organization:
    name = clean_name(name, what="organization name")
    organization = Organization.objects.create(name=name)
    audit.record(
        actor=actor,
        action="fleet.organization.create",
        organization=organization,
        target=organization,
        changes={"after": {"name": name}},
    )
    return organization


@transaction.atomic
def membership_grant(
    *, actor, user, organization: Organization, role: str, location: Location | None = None
) -> Membership:
    """Give a user a role on the organization or on one of its locations (replacing an existing one there)."""
    authz.require(actor, "fleet.manage_members", organization)
    if role in ORGANIZATION_ROLES and location is not None:
        raise ValidationError({"location": f"The {role} role applies to the whole organization; leave location empty."})
    if role in LOCATION_ROLES and (location is None or location.organization_id != organization.pk):
        raise ValidationError({"location": f"The {role} role needs a location of {organization.name}."})
    if role not in rules.INVITABLE_ROLE_VALUES:
        raise ValidationError({"role": rules.unknown_role(role)})
    membership, _ = Membership.objects.update_or_create(
        user=user, organization=organization, location=location, defaults={"role": Role(role)}
    )
    audit.record(
        actor=actor,
        action="fleet.membership.grant",
        organization=organization,
        target=membership,
        changes={"after": {"user": user.email, "role": role, "location": location.name if location else None}},
    )
    return membership


@transaction.atomic
def location_create(*, actor, organization: Organization, name: str, parent: Location | None = None) -> Location:
    if parent is not None and parent.organization_id != organization.pk:
        raise ValidationError({"parent": "The parent location belongs to another organization."})
    authz.require(actor, "fleet.add_location", parent or organization)
    name = clean_name(name, what="location name")
    if parent is not None and parent.depth + 1 >= Location.MAX_DEPTH:
        raise ValidationError({"parent": f"Locations nest at most {Location.MAX_DEPTH} levels deep."})
    _ensure_unique_location_name(organization, parent, name)
    location = Location(organization=organization, parent=parent, name=name)
    location.path = f"{parent.path if parent else '/'}{location.pk.hex}/"
    with _name_clash_reported_as(_location_name_taken(parent, name), LOCATION_NAME_CONSTRAINTS):
        location.save(force_insert=True)
    counters.location_added(location)
    audit.record(
        actor=actor,
        action="fleet.location.create",
        organization=organization,
        target=location,
        changes={"after": {"name": name, "parent": parent.name if parent else None}},
    )
    return location


@transaction.atomic
def location_rename(*, actor, location: Location, name: str) -> Location:
    authz.require(actor, "fleet.rename_location", location)
    name = clean_name(name, what="location name")
    before = location.name
    if name == before:
        return location
    _ensure_unique_location_name(location.organization, location.parent, name, exclude=location)
    with _name_clash_reported_as(_location_name_taken(location.parent, name), LOCATION_NAME_CONSTRAINTS):
        Location.objects.filter(pk=location.pk).update(name=name)
    location.name = name
    audit.record(
        actor=actor,
        action="fleet.location.rename",
        organization=location.organization,
        target=location,
        changes=diff({"name": before}, {"name": name}),
    )
    return location


@transaction.atomic
def location_delete(*, actor, location: Location) -> None:
    """Delete an empty location. Locations holding sub-locations or machines are refused, not cascaded."""
    authz.require(actor, "fleet.delete_location", location)
    children = location.children.count()
    machines = location.machines.count()
    if children or machines:
        parts = []
        if children:
            parts.append(f"{children} sub-location{'s' if children != 1 else ''}")
        if machines:
            parts.append(f"{machines} machine{'s' if machines != 1 else ''}")
        raise ValidationError(f"“{location.name}” still holds {' and '.join(parts)}; delete or move them first.")
    audit.record(
        actor=actor,
        action="fleet.location.delete",
        organization=location.organization,
        target=location,
        changes={"before": {"name": location.name, "parent": location.parent.name if location.parent else None}},
    )
    location.delete()
    counters.location_removed(location)


@transaction.atomic
def machine_create(*, actor, location: Location, name: str) -> Machine:
    authz.require(actor, "fleet.add_machine", location)
    name = clean_name(name, what="machine name")
    _ensure_unique_machine_name(location, name)
    with _name_clash_reported_as(_machine_name_taken(location, name), MACHINE_NAME_CONSTRAINTS):
        machine = Machine.objects.create(organization_id=location.organization_id, location=location, name=name)
    counters.machine_added(location)
    audit.record(
        actor=actor,
        action="fleet.machine.create",
        organization=location.organization,
        target=machine,
        changes={"after": {"name": name, "location": location.name}},
    )
    return machine


@transaction.atomic
def machine_rename(*, actor, machine: Machine, name: str) -> Machine:
    authz.require(actor, "fleet.rename_machine", machine)
    name = clean_name(name, what="machine name")
    before = machine.name
    if name == before:
        return machine
    _ensure_unique_machine_name(machine.location, name, exclude=machine)
    with _name_clash_reported_as(_machine_name_taken(machine.location, name), MACHINE_NAME_CONSTRAINTS):
        Machine.objects.filter(pk=machine.pk).update(name=name)
    machine.name = name
    audit.record(
        actor=actor,
        action="fleet.machine.rename",
        organization=machine.organization,
        target=machine,
        changes=diff({"name": before}, {"name": name}),
    )
    return machine


@transaction.atomic
def machine_delete(*, actor, machine: Machine) -> None:
    authz.require(actor, "fleet.delete_machine", machine)
    audit.record(
        actor=actor,
        action="fleet.machine.delete",
        organization=machine.organization,
        target=machine,
        changes={"before": {"name": machine.name, "location": machine.location.name}},
    )
    machine.delete()
    counters.machine_removed(machine.location)
