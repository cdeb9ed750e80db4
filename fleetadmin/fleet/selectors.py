"""Reads that cross a permission line. Views never fetch fleet objects any other way."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS
from django.db.models import BooleanField, Case, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.http import Http404

from fleetadmin import clock
from fleetadmin.core.actors import SYSTEM
from fleetadmin.core.lookups import Among
from fleetadmin.core.statements import Statement
from fleetadmin.fleet import authz
from fleetadmin.fleet.models import Location, Machine, Membership, Organization, Role


def visible_organizations(actor) -> QuerySet[Organization]:
    """The organizations the actor holds a grant in."""
    return Organization.objects.filter(authz.organizations_reached(actor))


def _with_support_flag(organizations: QuerySet[Organization], now=None) -> QuerySet[Organization]:
    """Annotate ``support_access_open``: whether support staff hold access now (the members' banner).

    In the same query as the organization itself, so the banner costs no query on a page without one.
    """
    # By name, as a ForeignKey names a model: support.models imports fleet.models, so an import here would be a cycle.
    grants = apps.get_model("support", "SupportGrant")._meta.db_table
    organization = Organization._meta.db_table
    # Written out, not an Exists() over a queryset: on every page of an organization, building and compiling that
    # subquery cost a third of the query's time. The same SQL on PostgreSQL and SQLite; table names from the
    # models' meta, the one value a parameter.
    sql = f'EXISTS (SELECT 1 FROM "{grants}" g WHERE g."organization_id" = "{organization}"."id"'  # noqa: S608
    sql += ' AND g."ended_at" IS NULL AND g."expires_at" > %s)'
    open_grant = RawSQL(sql, [now or clock.now()], output_field=BooleanField())  # noqa: S611
    return organizations.annotate(support_access_open=open_grant)


# Every page of an organization reads it, with the support flag: compiled once per connection (core.statements).
_ORGANIZATION_FIELDS = [field.attname for field in Organization._meta.concrete_fields]
_ORGANIZATION = Statement(
    lambda organization_id, now: (
        _with_support_flag(Organization.objects.all(), now)
        .filter(pk=organization_id)
        .values_list(*_ORGANIZATION_FIELDS, "support_access_open")
    ),
    lambda connection, organization_id, now: [
        now,
        Organization._meta.pk.get_db_prep_value(organization_id, connection),
    ],
)


def get_organization_for(actor, organization_id: uuid.UUID | str) -> Organization:
    """The organization, if the actor may see it; otherwise 404 (never 403, so ids do not leak)."""
    try:
        found = _ORGANIZATION.rows(organization_id, clock.now())
    except (ValueError, TypeError, ValidationError):
        found = None
    if not found:
        raise Http404("No such organization.")
    *values, support_access_open = found[0]
    organization = Organization.from_db(DEFAULT_DB_ALIAS, _ORGANIZATION_FIELDS, values)
    organization.support_access_open = support_access_open
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


def organizations_with_counts(actor, *, query: str = "") -> QuerySet[Organization]:
    """The actor's organizations for the organizations list, those whose name contains ``query`` if one is given;
    their counts are maintained columns, not a join."""
    organizations = visible_organizations(actor).order_by("name", "id")
    return organizations.filter(name__icontains=query) if query else organizations


def holds_memberships(user) -> bool:
    """Whether the portal user is a member of any organization (support staff usually are not)."""
    return user.memberships.exists()


def machine_list(actor, organization: Organization, *, location_id=None) -> QuerySet[Machine]:
    """The machines the actor sees in the organization (directly in one location, if given), by location and name."""
    machines = visible_machines(actor, organization)
    if location_id is not None:
        machines = machines.filter(location_id=location_id)
    return machines.order_by("location__path", "name")


# ---- the lazy tree ---------------------------------------------------------------------------------
#
# The overview never loads the whole organization. It shows one level (the viewer's top-level locations,
# or one location's sub-locations and machines), a page at a time by keyset over (name, id), and fills
# in whole subtrees only while they fit in TREE_BUDGET rows, so a small fleet opens fully expanded and a
# large one opens collapsed. Sizes come from the maintained counters, so deciding costs no query.

TREE_PAGE = 100  # rows per keyset page of one level
TREE_BUDGET = 100  # rows of expanded subtrees a response may add on top of its page
# What a tree row reads of a machine (its id, name and place; the tag and authz read no more): 0.66 ms for 76
# machines against 0.93 ms for whole rows. tests/scale pins the tree's queries, so a read of another
# field (one query per machine) would fail there.
TREE_MACHINE_FIELDS = ("id", "name", "location_id", "organization_id")
SEARCH_LIMIT = 25  # matches of each kind a search shows


@dataclass
class TreeNode:
    location: Location
    children: list[TreeNode] = field(default_factory=list)
    machines: list[Machine] = field(default_factory=list)
    expanded: bool = False  # children and machines are all loaded here (else: expand on demand)
    more_children: str | None = None  # keyset cursor of the next page of children, when loaded lazily
    more_machines: str | None = None

    @property
    def machine_count(self) -> int:
        return self.location.subtree_machine_count


@dataclass
class TreeLevel:
    """One level of the tree as a response shows it: nodes (some expanded), machines, cursors of the rest."""

    nodes: list[TreeNode]
    machines: list[Machine]
    more_nodes: str | None = None
    more_machines: str | None = None


def encode_name_cursor(obj) -> str:
    return base64.urlsafe_b64encode(f"{obj.name}\x1f{obj.pk}".encode()).decode().rstrip("=")


def _after_name(queryset: QuerySet, cursor: str) -> QuerySet:
    """Rows after the cursor in (name, id) order; a malformed cursor means the first page."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        name, _, pk = raw.rpartition("\x1f")
        pk = uuid.UUID(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return queryset
    return queryset.filter(Q(name__gt=name) | Q(name=name, pk__gt=pk))


def _page(queryset: QuerySet, cursor: str = "", size: int = TREE_PAGE) -> tuple[list, str | None]:
    if cursor:
        queryset = _after_name(queryset, cursor)
    rows = list(queryset.order_by("name", "id")[: size + 1])
    more = encode_name_cursor(rows[size - 1]) if len(rows) > size else None
    return rows[:size], more


def _top_locations(actor, organization: Organization) -> QuerySet[Location]:
    """The viewer's top level: the organization's root locations, or the roots of its location grants."""
    locations = Location.objects.filter(organization=organization)
    paths = None if actor is SYSTEM else authz.location_paths_visible_to(actor, organization)
    if paths is None:
        return locations.filter(parent=None)
    # A grant nested inside another grant of the same viewer is not a separate root.
    roots = [p for p in paths if not any(p != q and p.startswith(q) for q in paths)]
    return locations.filter(path__in=roots)


def _expand(nodes: list[TreeNode], budget: int) -> None:
    """Load whole subtrees of the nodes that fit in the budget, in two queries for all of them."""
    chosen = []
    for node in nodes:
        size = node.location.descendant_count + node.location.subtree_machine_count
        if size and size <= budget:
            chosen.append(node)
            budget -= size
        elif not size:
            node.expanded = True  # nothing under it
    if not chosen:
        return
    scope = Q(pk__in=[])
    for node in chosen:
        scope |= Q(path__startswith=node.location.path)
    below = [loc for loc in Location.objects.filter(scope, organization_id=chosen[0].location.organization_id)]
    by_id = {node.location.pk: node for node in chosen}
    for loc in sorted(below, key=lambda loc: (loc.depth, loc.name, str(loc.pk))):
        if loc.pk not in by_id:
            by_id[loc.pk] = TreeNode(location=loc, expanded=True)
            by_id[loc.parent_id].children.append(by_id[loc.pk])
    machines = Machine.objects.filter(Among(F("location_id"), list(by_id))).only(*TREE_MACHINE_FIELDS)
    for machine in machines.order_by("name", "id"):
        machine.location = by_id[machine.location_id].location
        by_id[machine.location_id].machines.append(machine)
    for node in chosen:
        node.expanded = True


def tree_top(actor, organization: Organization, cursor: str = "") -> TreeLevel:
    """The overview's first level: a page of top-level locations, small subtrees already expanded."""
    locations, more = _page(_top_locations(actor, organization), cursor)
    nodes = [TreeNode(location=loc) for loc in locations]
    _expand(nodes, TREE_BUDGET)
    return TreeLevel(nodes=nodes, machines=[], more_nodes=more)


def tree_below(location: Location, *, locations_after: str = "", machines_after: str = "", only: str = "") -> TreeLevel:
    """What is directly inside a (visible) location: a page of sub-locations and a page of machines.

    ``only`` ("locations" or "machines") answers a "show more" of one list, without the other.
    """
    nodes, more_nodes, machines, more_machines = [], None, [], None
    if only != "machines":
        children, more_nodes = _page(Location.objects.filter(parent=location), locations_after)
        nodes = [TreeNode(location=loc) for loc in children]
    if only != "locations":
        in_location = Machine.objects.filter(location=location).only(*TREE_MACHINE_FIELDS)
        machines, more_machines = _page(in_location, machines_after)
        for machine in machines:
            machine.location = location
    _expand(nodes, TREE_BUDGET - len(machines))
    return TreeLevel(nodes=nodes, machines=machines, more_nodes=more_nodes, more_machines=more_machines)


def tree_totals(actor, organization: Organization) -> tuple[int, int]:
    """(locations, machines) the viewer sees, from the maintained counters."""
    if actor is SYSTEM or authz.location_paths_visible_to(actor, organization) is None:
        return organization.location_count, organization.machine_count
    roots = list(_top_locations(actor, organization).only("descendant_count", "subtree_machine_count"))
    return sum(r.descendant_count + 1 for r in roots), sum(r.subtree_machine_count for r in roots)


def ancestors_of(location: Location) -> list[Location]:
    """The chain above a location, top first, in one query."""
    ids = location.ancestor_ids
    found = {str(loc.pk.hex): loc for loc in Location.objects.filter(pk__in=[uuid.UUID(i) for i in ids])}
    return [found[i] for i in ids if i in found]


def _name_or_id(query: str) -> Q:
    try:
        return Q(pk=uuid.UUID(query))
    except ValueError:
        return Q(name__istartswith=query)


def search_tree(actor, organization: Organization, query: str) -> tuple[list[Location], list[Machine]]:
    """Locations and machines whose name starts with the query (any case) or whose id it is.

    Served on PostgreSQL by the (organization_id, UPPER(name) text_pattern_ops) indexes.
    """
    match = _name_or_id(query)
    locations = list(visible_locations(actor, organization).filter(match).order_by("name", "id")[:SEARCH_LIMIT])
    machines = list(visible_machines(actor, organization).filter(match).order_by("name", "id")[:SEARCH_LIMIT])
    return locations, machines


def location_options(
    actor, organization: Organization, permission: str, *, query: str = "", cursor: str = "", size: int = 50
) -> tuple[list[Location], str | None]:
    """Locations the actor may exercise the permission on, for a searchable picker: a keyset page by name."""
    paths = authz.location_paths_allowed(actor, permission, organization)
    locations = Location.objects.filter(organization=organization)
    if paths is not None:
        scope = Q(pk__in=[])
        for path in paths:
            scope |= Q(path__startswith=path)
        locations = locations.filter(scope)
    if query:
        locations = locations.filter(_name_or_id(query))
    return _page(locations, cursor, size)


def machine_options(
    actor,
    organization: Organization,
    permission: str,
    *,
    query: str = "",
    location: Location | None = None,
    cursor: str = "",
    size: int = 50,
) -> tuple[list[Machine], str | None]:
    """Machines the actor may exercise the permission on (optionally in one location), a keyset page by name."""
    paths = authz.location_paths_allowed(actor, permission, organization)
    machines = Machine.objects.filter(organization=organization).select_related("location")
    if paths is not None:
        scope = Q(pk__in=authz.machine_ids_allowed(actor, permission, organization))
        for path in paths:
            scope |= Q(location__path__startswith=path)
        machines = machines.filter(scope)
    if location is not None:
        machines = machines.filter(location=location)
    if query:
        machines = machines.filter(_name_or_id(query))
    return _page(machines, cursor, size)


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


MEMBERS_PAGE = 100
MEMBER_ORDER = (Role.ORGANIZATION_OWNER, Role.ORGANIZATION_OPERATOR, Role.LOCATION_OWNER, Role.LOCATION_OPERATOR)


def _members_of(organization: Organization) -> QuerySet:
    """The organization's memberships in the Members page's order: owners first, then by email (one query)."""
    rank = Case(
        *(When(role=role, then=Value(i)) for i, role in enumerate(MEMBER_ORDER)),
        default=Value(len(MEMBER_ORDER)),
        output_field=IntegerField(),
    )
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user", "location", "invited_by")
        .annotate(role_rank=rank)
        .order_by("role_rank", "user__email", "pk")
    )


def _member_rows(memberships: list) -> list[MemberRow]:
    from fleetadmin.accounts.two_factor import users_with_two_factor

    with_2fa = users_with_two_factor({m.user_id for m in memberships})
    return [MemberRow(m, m.user_id in with_2fa) for m in memberships]


def _encode_member_cursor(membership) -> str:
    raw = f"{membership.role_rank}\x1f{membership.user.email}\x1f{membership.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _after_member(queryset: QuerySet, cursor: str) -> QuerySet:
    """Memberships after the cursor in the page's order; a malformed cursor means the first page."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        rank, email, pk = raw.split("\x1f")
        rank, pk = int(rank), int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return queryset
    return queryset.filter(
        Q(role_rank__gt=rank)
        | Q(role_rank=rank, user__email__gt=email)
        | Q(role_rank=rank, user__email=email, pk__gt=pk)
    )


@dataclass
class MemberPage:
    rows: list[MemberRow]
    next_cursor: str | None
    viewer_is_member: bool


def member_page(
    actor, organization: Organization, *, query: str = "", cursor: str = "", size: int = MEMBERS_PAGE
) -> MemberPage:
    """One keyset page of the Members screen (owners first, then by email), optionally searched by name or email.

    Three queries whatever the organization's size: the page, its members' two-factor devices, and
    whether the viewer is a member (for "Leave organization").
    """
    authz.require(actor, "fleet.view_members", organization)
    memberships = _members_of(organization)
    if query:
        memberships = memberships.filter(Q(user__email__icontains=query) | Q(user__full_name__icontains=query))
    if cursor:
        memberships = _after_member(memberships, cursor)
    page = list(memberships[: size + 1])
    more = _encode_member_cursor(page[size - 1]) if len(page) > size else None
    viewer_is_member = Membership.objects.filter(organization=organization, user_id=getattr(actor, "pk", None)).exists()
    return MemberPage(_member_rows(page[:size]), more, viewer_is_member)


def organization_members(actor, organization: Organization) -> list[MemberRow]:
    """Everyone with a role in the organization, in the Members page's order, with their two-factor status."""
    authz.require(actor, "fleet.view_members", organization)
    return _member_rows(list(_members_of(organization)))


def member_row(actor, organization: Organization, membership_id) -> MemberRow:
    """One member as the Members page shows it (404 outside the actor's reach)."""
    membership = get_membership_for(actor, organization, membership_id)
    return _member_rows([_members_of(organization).get(pk=membership.pk)])[0]


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
