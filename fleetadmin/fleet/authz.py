"""The one place that decides who may do what.

``can(actor, permission, obj)`` answers for portal users today, and for API
keys and support staff as they arrive: any actor that offers
``fleet_grants()`` is judged by the same table. Nothing else in the code base
compares roles.

A *grant* is a role on a scope: an organization, a location subtree or one
machine. A grant **covers** an object when the object lies inside its scope.
A permission names the roles allowed to act on an object they cover.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q

from fleetadmin.core.actors import SYSTEM
from fleetadmin.core.statements import Statement
from fleetadmin.fleet.models import (
    LOCATION_ROLES,
    MACHINE_ROLES,
    ORGANIZATION_ROLES,
    OWNER_ROLES,
    Location,
    Machine,
    Membership,
    Organization,
    Role,
)

ALL_ROLES = frozenset(Role)
ORG_OWNER = frozenset({Role.ORGANIZATION_OWNER})
ORG_OR_LOCATION_OWNER = frozenset({Role.ORGANIZATION_OWNER, Role.LOCATION_OWNER})
# Support staff under a ticket-scoped grant (fleetadmin.support.access). Not a membership role:
# it is never stored, and only a SupportActor with an active grant holds it, on that one organization.
SUPPORT_AGENT = "support_agent"
# Roles whose grant covers everything in its organization: the organization's own roles, and support's.
ORGANIZATION_WIDE_ROLES = ORGANIZATION_ROLES | {SUPPORT_AGENT}


@dataclass(frozen=True)
class Grant:
    role: str
    organization_id: uuid.UUID
    location_path: str | None = None  # set for location roles
    machine_id: uuid.UUID | None = None  # set for machine roles
    # The organization's "require two-factor" policy, loaded with the membership (no extra query per page).
    requires_two_factor: bool = False
    # The organization's name, loaded with the membership: the organization switcher shows it without a query.
    # Not part of the grant's identity; empty on grants that were not loaded from a membership.
    organization_name: str = field(default="", compare=False)

    def covers(self, obj: Organization | Location | Machine) -> bool:
        """True when obj lies entirely inside this grant's scope."""
        org_id, path, machine_id = _scope_of(obj)
        if org_id != self.organization_id:
            return False
        if self.role in ORGANIZATION_WIDE_ROLES:
            return True
        if self.role in LOCATION_ROLES:
            return path is not None and path.startswith(self.location_path or "\0")
        return machine_id is not None and machine_id == self.machine_id

    def touches(self, organization: Organization) -> bool:
        """True when this grant reaches anything in the organization."""
        return organization.pk == self.organization_id


# permission -> roles that may exercise it on an object their grant covers
PERMISSIONS: dict[str, frozenset[str]] = {
    "fleet.view": ALL_ROLES,
    "fleet.add_location": ORG_OWNER,
    "fleet.delete_location": ORG_OWNER,
    "fleet.rename_location": ORG_OR_LOCATION_OWNER,
    "fleet.add_machine": ORG_OR_LOCATION_OWNER,
    "fleet.rename_machine": OWNER_ROLES,
    "fleet.delete_machine": ORG_OR_LOCATION_OWNER,
    "fleet.manage_members": ORG_OWNER,
    "fleet.manage_organization": ORG_OWNER,
    "keys.view": ALL_ROLES,
    "keys.manage": OWNER_ROLES,
    "billing.view": frozenset(ORGANIZATION_ROLES),
    "billing.manage": ORG_OWNER,
    "oauth.view": frozenset(ORGANIZATION_ROLES),
    "oauth.manage": ORG_OWNER,
    "audit.view_log": frozenset(ORGANIZATION_ROLES),
    "audit.verify": ORG_OWNER,
    # Support access (fleetadmin.support): who sees it, who may end it, and the short list of
    # actions support staff take on a customer's behalf, each with a ticket reference.
    "support.view_access": frozenset(ORGANIZATION_ROLES),
    "support.end_access": ORG_OWNER,
    "support.delete_key": frozenset({SUPPORT_AGENT}),
    "support.rotate_oauth_secret": frozenset({SUPPORT_AGENT}),
    "support.toggle_auth_service": frozenset({SUPPORT_AGENT}),
    "support.update_billing_address": frozenset({SUPPORT_AGENT}),
}
# Permissions that any grant inside the organization confers on the organization itself.
ORGANIZATION_SHELL_PERMISSIONS = frozenset({"fleet.view_organization", "fleet.view_members"})


def _scope_of(obj) -> tuple[uuid.UUID, str | None, uuid.UUID | None]:
    if hasattr(obj, "authz_scope"):  # e.g. an API key's authorization
        return obj.authz_scope()
    if isinstance(obj, Organization):
        return obj.pk, None, None
    if isinstance(obj, Location):
        return obj.organization_id, obj.path, None
    if isinstance(obj, Machine):
        return obj.organization_id, obj.location.path, obj.pk
    raise TypeError(f"authz cannot place a {type(obj).__name__} in the fleet hierarchy")


# Every signed-in request reads the viewer's memberships: compiled once per connection (core.statements).
_MEMBERSHIPS = Statement(
    lambda user_id: Membership.objects.filter(user_id=user_id).values_list(
        "role", "organization_id", "location__path", "organization__require_two_factor", "organization__name"
    ),
    lambda connection, user_id: [Membership._meta.get_field("user").get_db_prep_value(user_id, connection)],
)


def grants_for(actor) -> list[Grant]:
    """Every grant the actor holds, loaded once per actor object (one query for a user)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return []
    if hasattr(actor, "fleet_grants"):
        return actor.fleet_grants()
    cached = getattr(actor, "_fleet_grants", None)
    if cached is None:
        # Plain values, not model instances: a member of many organizations pays for their columns only.
        memberships = _MEMBERSHIPS.rows(actor.pk)
        cached = [
            Grant(
                role=role,
                organization_id=organization_id,
                location_path=location_path,
                requires_two_factor=requires_two_factor,
                organization_name=organization_name,
            )
            for role, organization_id, location_path, requires_two_factor, organization_name in memberships
        ]
        actor._fleet_grants = cached
    return cached


def organizations_reached(actor) -> Q:
    """A filter on Organization for the organizations the actor holds a grant in (SYSTEM: all of them).

    A person's grants are their memberships: a semi-join on them, not the ids of every organization they belong
    to spelled out in the SQL (for a member of 100 organizations, a third of the list page's time). Keys and
    support staff hold a handful of grants, so their ids are listed.
    """
    if actor is SYSTEM:
        return Q()
    if getattr(actor, "is_authenticated", False) and not hasattr(actor, "fleet_grants"):
        return Q(Exists(Membership.objects.filter(user=actor, organization=OuterRef("pk"))))
    return Q(pk__in={grant.organization_id for grant in grants_for(actor)})


def roles_in(actor, organization: Organization) -> set[str]:
    return {grant.role for grant in grants_for(actor) if grant.touches(organization)}


def _may_create_organization(actor) -> bool:
    """ORGANIZATION_CREATION: "anyone" signed in (the default) or only "staff"; never an API key."""
    from django.conf import settings

    if not getattr(actor, "is_authenticated", False) or hasattr(actor, "fleet_grants"):
        return False
    if settings.ORGANIZATION_CREATION == "staff":
        return bool(getattr(actor, "is_staff", False))
    return True


def roles_by_organization(actor) -> dict[uuid.UUID, set[str]]:
    """organization id -> the actor's roles there, in one pass over its grants (for lists of organizations)."""
    roles: dict[uuid.UUID, set[str]] = {}
    for grant in grants_for(actor):
        roles.setdefault(grant.organization_id, set()).add(grant.role)
    return roles


def can_somewhere(actor, permission: str, organization: Organization) -> bool:
    """May the actor exercise the permission on anything in the organization? One answer from the grants.

    "Show the Create button", "offer an Add form": no walk of the organization's tree, whatever its size.
    """
    if actor is SYSTEM:
        return True
    allowed = PERMISSIONS[permission]
    return any(grant.role in allowed and grant.touches(organization) for grant in grants_for(actor))


def can_throughout(actor, permission: str, organization: Organization) -> bool:
    """May the actor exercise the permission on everything in the organization? (``can`` is then True for every
    object inside it: a list can answer once for all its rows.)"""
    return location_paths_allowed(actor, permission, organization) is None


def location_paths_allowed(actor, permission: str, organization: Organization) -> list[str] | None:
    """None when the permission holds on the whole organization, else the subtrees it holds on (maybe none)."""
    if actor is SYSTEM:
        return None
    allowed = PERMISSIONS[permission]
    grants = [g for g in grants_for(actor) if g.touches(organization) and g.role in allowed]
    if any(g.role in ORGANIZATION_ROLES for g in grants):
        return None
    return [g.location_path for g in grants if g.role in LOCATION_ROLES and g.location_path]


def machine_ids_allowed(actor, permission: str, organization: Organization) -> list[uuid.UUID]:
    allowed = PERMISSIONS[permission]
    return [g.machine_id for g in grants_for(actor) if g.touches(organization) and g.role in allowed and g.machine_id]


def can(actor, permission: str, obj) -> bool:
    if actor is SYSTEM:
        return True
    if permission == "fleet.create_organization":  # not about an existing object: obj is ignored
        return _may_create_organization(actor)
    parts = getattr(obj, "authz_parts", None)
    if parts is not None:  # a composite object (an API key): the actor must cover every part
        return all(can(actor, permission, part) for part in parts())
    if permission in ORGANIZATION_SHELL_PERMISSIONS:
        return isinstance(obj, Organization) and any(g.touches(obj) for g in grants_for(actor))
    try:
        allowed = PERMISSIONS[permission]
    except KeyError:
        raise ValueError(f"Unknown permission {permission!r}") from None
    return any(grant.role in allowed and grant.covers(obj) for grant in grants_for(actor))


def can_each(actor, permission: str, organization: Organization) -> Callable[[Location | Machine], bool]:
    """``can(actor, permission, obj)`` for the many locations or machines a page of one organization lists.

    The same answer per object, but the actor's grants are sifted once (to those in the organization whose
    role the permission allows) instead of on every row; when one of them covers the whole organization, no
    object is looked at beyond its organization. Only for the permissions of PERMISSIONS, which are per object.
    """
    if actor is SYSTEM:
        return lambda obj: True
    try:
        allowed = PERMISSIONS[permission]
    except KeyError:
        raise ValueError(f"can_each answers the per-object permissions, not {permission!r}") from None
    grants = [g for g in grants_for(actor) if g.role in allowed and g.touches(organization)]
    if any(g.role in ORGANIZATION_WIDE_ROLES for g in grants):
        return lambda obj: _scope_of(obj)[0] == organization.pk
    return lambda obj: any(g.covers(obj) for g in grants)


def require(actor, permission: str, obj) -> None:
    """Raise PermissionDenied unless can(actor, permission, obj)."""
    if not can(actor, permission, obj):
        raise PermissionDenied(f"You do not have permission to do this ({permission}).")


def location_paths_visible_to(actor, organization: Organization) -> list[str] | None:
    """None when the actor sees the whole organization, else the subtrees it may see."""
    grants = [g for g in grants_for(actor) if g.touches(organization)]
    if any(g.role in ORGANIZATION_ROLES for g in grants):
        return None
    return [g.location_path for g in grants if g.role in LOCATION_ROLES and g.location_path]


def machine_ids_visible_to(actor, organization: Organization) -> list[uuid.UUID]:
    return [g.machine_id for g in grants_for(actor) if g.touches(organization) and g.role in MACHINE_ROLES]


# ---- support staff (fleetadmin.support) -------------------------------------------------------------


def is_support_staff(actor) -> bool:
    """Support staff: signed-in staff members of the support group, and superusers (``User.is_support``).

    API keys, support actors and anonymous users are not: the console and grants are for people.
    """
    return bool(getattr(actor, "is_authenticated", False) and getattr(actor, "is_support", False))


def may_open_grant(actor, organization: Organization) -> bool:
    """Who may open a ticket-scoped, read-only grant on an organization: support staff, on any organization."""
    return is_support_staff(actor)
