import uuid
from dataclasses import dataclass

from django.utils.functional import SimpleLazyObject

SWITCHER_LIMIT = 25


@dataclass(frozen=True)
class SwitcherEntry:
    pk: uuid.UUID
    name: str


def navigation(request):
    """The signed-in user's organizations for the switcher, loaded only if a template shows them."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def load():
        from fleetadmin.fleet import authz
        from fleetadmin.fleet.selectors import visible_organizations

        grants = authz.grants_for(user)
        if not hasattr(user, "fleet_grants") and all(grant.organization_name for grant in grants):
            # A person's organizations are their memberships' (visible_organizations), already loaded with
            # their names by authz: no query, not even a pk__in over every organization they belong to.
            # Ordered as the database orders them: by name then id, in code point order (PostgreSQL's C
            # collation and SQLite's BINARY one).
            names = {grant.organization_id: grant.organization_name for grant in grants}
            first = sorted(names.items(), key=lambda item: (item[1], item[0]))[: SWITCHER_LIMIT + 1]
            return [SwitcherEntry(pk=pk, name=name) for pk, name in first]
        return list(visible_organizations(user).only("pk", "name").order_by("name", "id")[: SWITCHER_LIMIT + 1])

    return {"nav_organizations": SimpleLazyObject(load), "nav_switcher_limit": SWITCHER_LIMIT}
