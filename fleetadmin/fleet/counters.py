"""The fleet's maintained counters: how many locations and machines an organization and each subtree hold.

Every write that adds or removes a location or machine calls one of these in its own transaction, so
the counters are exact whenever a transaction commits. Updates are single ``UPDATE ... SET n = n + 1``
statements (no read-modify-write race). Measured against indexed ``COUNT`` subqueries in
bench/scale_pages.py: a counter costs the same at 10 and 100,000 machines, a COUNT grows with them.

``rebuild`` recomputes everything from the rows (bulk loaders and the migration use it).
"""

from __future__ import annotations

import uuid

from django.db.models import Count, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from fleetadmin.fleet.models import Location, Machine, Organization


def _ancestors_and_self(location: Location) -> list[uuid.UUID]:
    return [uuid.UUID(part) for part in location.path.strip("/").split("/")]


def location_added(location: Location, delta: int = 1) -> None:
    Organization.objects.filter(pk=location.organization_id).update(location_count=F("location_count") + delta)
    ancestors = _ancestors_and_self(location)[:-1]
    if ancestors:
        Location.objects.filter(pk__in=ancestors).update(descendant_count=F("descendant_count") + delta)
        Location.objects.filter(pk=location.parent_id).update(child_count=F("child_count") + delta)


def location_removed(location: Location) -> None:
    location_added(location, -1)


def machine_added(location: Location, delta: int = 1) -> None:
    Organization.objects.filter(pk=location.organization_id).update(machine_count=F("machine_count") + delta)
    Location.objects.filter(pk__in=_ancestors_and_self(location)).update(
        subtree_machine_count=F("subtree_machine_count") + delta
    )
    Location.objects.filter(pk=location.pk).update(machine_count=F("machine_count") + delta)


def machine_removed(location: Location) -> None:
    machine_added(location, -1)


def _count(queryset, group: str):
    return Coalesce(Subquery(queryset.order_by().values(group).annotate(n=Count("pk")).values("n")[:1]), Value(0))


def rebuild(organization_ids: list | None = None) -> None:
    """Recompute every counter from the rows (for bulk loads; O(rows), so never on a request path)."""
    if organization_ids is None:
        organization_ids = list(Organization.objects.values_list("pk", flat=True))
    for start in range(0, len(organization_ids), CHUNK):
        _rebuild(organization_ids[start : start + CHUNK])


CHUNK = 500  # organizations per pass; SQLite allows 999 parameters per statement


def _rebuild(organization_ids: list) -> None:
    Organization.objects.filter(pk__in=organization_ids).update(
        location_count=_count(Location.objects.filter(organization=OuterRef("pk")), "organization"),
        machine_count=_count(Machine.objects.filter(organization=OuterRef("pk")), "organization"),
    )
    direct = dict(
        Machine.objects.filter(organization_id__in=organization_ids)
        .order_by()
        .values("location")
        .annotate(n=Count("pk"))
        .values_list("location", "n")
    )
    # Ancestors are in the materialized path: each location adds one to every ancestor's descendants,
    # and its machines to the subtree total of every location on its chain.
    rows = list(Location.objects.filter(organization_id__in=organization_ids).values_list("pk", "path", "parent"))
    counts = {pk: [0, 0, direct.get(pk, 0), 0] for pk, _, _ in rows}  # child, descendant, machine, subtree
    for pk, path, parent in rows:
        chain = [uuid.UUID(part) for part in path.strip("/").split("/")]
        if parent is not None:
            counts[parent][0] += 1
        for ancestor in chain[:-1]:
            counts[ancestor][1] += 1
        for member in chain:
            counts[member][3] += counts[pk][2]
    Location.objects.bulk_update(
        [
            Location(pk=pk, child_count=c, descendant_count=d, machine_count=m, subtree_machine_count=t)
            for pk, (c, d, m, t) in counts.items()
        ],
        ["child_count", "descendant_count", "machine_count", "subtree_machine_count"],
        batch_size=500,
    )
