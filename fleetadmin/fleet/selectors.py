"""Reads that cross a permission line. Views never fetch fleet objects any other way."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet import authz
from fleetadmin.fleet.models import Location, Machine, Organization


def visible_organizations(actor) -> QuerySet[Organization]:
    if actor is SYSTEM:
        return Organization.objects.all()
    org_ids = {grant.organization_id for grant in authz.grants_for(actor)}
    return Organization.objects.filter(pk__in=org_ids)


def get_organization_for(actor, organization_id: uuid.UUID | str) -> Organization:
    """The organization, if the actor may see it; otherwise 404 (never 403, so ids do not leak)."""
    try:
        organization = Organization.objects.get(pk=organization_id)
    except (Organization.DoesNotExist, ValueError, TypeError):
        raise Http404("No such organization.") from None
    if not authz.can(actor, "fleet.view_organization", organization):
        raise Http404("No such organization.")
    return organization


def _location_scope(actor, organization: Organization) -> Q:
    if actor is SYSTEM:
        return Q()
    paths = authz.location_paths_visible_to(actor, organization)
    if paths is None:
        return Q()
    scope = Q(pk__in=[])
    for path in paths:
        scope |= Q(path__startswith=path)
    return scope


def visible_locations(actor, organization: Organization) -> QuerySet[Location]:
    return Location.objects.filter(_location_scope(actor, organization), organization=organization)


def visible_machines(actor, organization: Organization) -> QuerySet[Machine]:
    machines = Machine.objects.filter(organization=organization).select_related("location")
    if actor is SYSTEM or authz.location_paths_visible_to(actor, organization) is None:
        return machines
    location_scope = Q(pk__in=[])
    for path in authz.location_paths_visible_to(actor, organization):
        location_scope |= Q(location__path__startswith=path)
    return machines.filter(location_scope | Q(pk__in=authz.machine_ids_visible_to(actor, organization)))


def get_location_for(actor, organization: Organization, location_id) -> Location:
    try:
        return visible_locations(actor, organization).get(pk=location_id)
    except (Location.DoesNotExist, ValueError, TypeError):
        raise Http404("No such location.") from None


def get_machine_for(actor, organization: Organization, machine_id) -> Machine:
    try:
        return visible_machines(actor, organization).get(pk=machine_id)
    except (Machine.DoesNotExist, ValueError, TypeError):
        raise Http404("No such machine.") from None


def organizations_with_counts(actor) -> QuerySet[Organization]:
    """The actor's organizations with location and machine counts, for the organizations list."""
    return (
        visible_organizations(actor)
        .annotate(
            location_count=Count("locations", distinct=True),
            machine_count=Count("machines", distinct=True),
        )
        .order_by("name", "id")
    )


@dataclass
class TreeNode:
    location: Location
    children: list[TreeNode] = field(default_factory=list)
    machines: list[Machine] = field(default_factory=list)
    can_rename: bool = False
    can_delete: bool = False
    can_add_machine: bool = False

    @property
    def machine_count(self) -> int:
        return len(self.machines) + sum(child.machine_count for child in self.children)


@dataclass
class MachineRow:
    machine: Machine
    can_rename: bool = False
    can_delete: bool = False


def organization_tree(actor, organization: Organization) -> list[TreeNode]:
    """The visible locations as a forest with their machines, in two queries whatever the size."""
    locations = list(visible_locations(actor, organization).order_by("name", "id"))
    machines = list(visible_machines(actor, organization).order_by("name", "id"))
    nodes = {
        loc.pk: TreeNode(
            location=loc,
            can_rename=authz.can(actor, "fleet.rename_location", loc),
            can_delete=authz.can(actor, "fleet.delete_location", loc),
            can_add_machine=authz.can(actor, "fleet.add_machine", loc),
        )
        for loc in locations
    }
    roots: list[TreeNode] = []
    for loc in locations:
        parent = nodes.get(loc.parent_id)
        (parent.children if parent else roots).append(nodes[loc.pk])
    for machine in machines:
        node = nodes.get(machine.location_id)
        if node is None:  # a machine-scoped grant: show its location as the machine's context
            node = nodes[machine.location_id] = TreeNode(location=machine.location)
            roots.append(node)
        node.machines.append(
            MachineRow(
                machine=machine,
                can_rename=authz.can(actor, "fleet.rename_machine", machine),
                can_delete=authz.can(actor, "fleet.delete_machine", machine),
            )
        )
    return roots


def flatten_tree(roots: list[TreeNode]) -> list[tuple[int, TreeNode]]:
    """(depth, node) pairs in display order, for pickers."""
    flat: list[tuple[int, TreeNode]] = []

    def walk(nodes: list[TreeNode], depth: int) -> None:
        for node in nodes:
            flat.append((depth, node))
            walk(node.children, depth + 1)

    walk(roots, 0)
    return flat


def find_location_for(actor, location_id) -> Location:
    """A location by id alone (the CLI's --location-id), if the actor may see it; otherwise 404."""
    location = Location.objects.select_related("organization").filter(pk=location_id).first()
    if location is None:
        raise Http404("No such location.")
    organization = get_organization_for(actor, location.organization_id)
    return get_location_for(actor, organization, location_id)


def find_machine_for(actor, machine_id) -> Machine:
    """A machine by id alone (the CLI's --machine-id), if the actor may see it; otherwise 404."""
    machine = Machine.objects.filter(pk=machine_id).only("organization_id").first()
    if machine is None:
        raise Http404("No such machine.")
    organization = get_organization_for(actor, machine.organization_id)
    return get_machine_for(actor, organization, machine_id)


# ---- people -----------------------------------------------------------------------------------------


@dataclass
class MemberRow:
    membership: object
    two_factor: bool


def organization_members(actor, organization: Organization) -> list[MemberRow]:
    """Everyone with a role in the organization, owners first, with their two-factor status (three queries)."""
    from fleetadmin.accounts.two_factor import users_with_two_factor
    from fleetadmin.fleet.models import Membership, Role

    authz.require(actor, "fleet.view_members", organization)
    order = {
        Role.ORGANIZATION_OWNER: 0,
        Role.ORGANIZATION_OPERATOR: 1,
        Role.LOCATION_OWNER: 2,
        Role.LOCATION_OPERATOR: 3,
    }
    memberships = list(
        Membership.objects.filter(organization=organization).select_related("user", "location", "invited_by")
    )
    memberships.sort(key=lambda m: (order.get(m.role, 9), m.user.email, m.location.name if m.location else ""))
    with_2fa = users_with_two_factor({m.user_id for m in memberships})
    return [MemberRow(m, m.user_id in with_2fa) for m in memberships]


def pending_invitations(actor, organization: Organization):
    from fleetadmin import clock
    from fleetadmin.fleet.models import Invitation

    authz.require(actor, "fleet.view_members", organization)
    return (
        Invitation.objects.filter(organization=organization)
        .pending(clock.now())
        .select_related("location", "invited_by")
        .order_by("-created_at")
    )


def get_membership_for(actor, organization: Organization, membership_id):
    from fleetadmin.fleet.models import Membership

    authz.require(actor, "fleet.view_members", organization)
    try:
        return Membership.objects.select_related("user", "location", "organization").get(
            organization=organization, pk=membership_id
        )
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise Http404("No such member.") from None


def get_invitation_for(actor, organization: Organization, invitation_id):
    from fleetadmin.fleet.models import Invitation

    authz.require(actor, "fleet.view_members", organization)
    try:
        return Invitation.objects.select_related("organization", "location", "invited_by").get(
            organization=organization, pk=invitation_id
        )
    except (Invitation.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("No such invitation.") from None
