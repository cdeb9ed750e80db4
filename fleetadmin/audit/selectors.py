"""Reads of the audit log. Keyset pagination on the id: no COUNT(*), no OFFSET, at any depth."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db.models import CharField, F, Value
from django.http import Http404

from fleetadmin.audit.models import AuditEvent, ChainVerification
from fleetadmin.audit.query import AuditFilters
from fleetadmin.core.links import url_maker
from fleetadmin.core.lookups import Among

PAGE_SIZE = 50
# Rows per query when exporting: the per-query and per-write costs vanish, memory stays a few MB.
EXPORT_CHUNK = 5000

EVENT_LIST_FIELDS = (
    "id",
    "created_at",
    "organization_id",
    "actor_type",
    "actor_id",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "target_name",
    "ticket",
    "request_id",
    "changes",
)


@dataclass
class EventPage:
    events: list  # named tuples of EVENT_LIST_FIELDS: read like events, built for a fraction of a model's cost
    next_before: int | None


def event_page(organization, filters: AuditFilters, *, before: int | None = None) -> EventPage:
    events = filters.apply(AuditEvent.objects.filter(organization=organization))
    if before is not None:
        events = events.filter(id__lt=before)
    rows = list(events.order_by("-id").values_list(*EVENT_LIST_FIELDS, named=True)[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return EventPage(events=rows, next_before=rows[-1].id if more else None)


def event_row_chunks(organization, filters: AuditFilters, *, columns: tuple[str, ...]) -> Iterator[list[tuple]]:
    """Every matching event as a tuple of ``columns`` (the first must be "id"), newest first, in chunks.

    One short query per chunk (``id < last`` on the (organization, -id) index): no OFFSET, no
    transaction held open for a whole download, memory constant whatever the number of events.
    Tuples, not model instances: an export of a million events builds no million objects.
    """
    base = filters.apply(AuditEvent.objects.filter(organization=organization)).order_by("-id").values_list(*columns)
    chunk_rows, before = EXPORT_CHUNK, None
    while True:
        chunk = list((base if before is None else base.filter(id__lt=before))[:chunk_rows])
        if chunk:
            yield chunk
        if len(chunk) < chunk_rows:
            return
        before = chunk[-1][0]


def get_event_for(organization, event_id: int) -> AuditEvent:
    try:
        return AuditEvent.objects.get(organization=organization, pk=event_id)
    except (AuditEvent.DoesNotExist, ValueError, TypeError):
        raise Http404("No such event.") from None


def events_of_request(event: AuditEvent, *, limit: int = 50) -> list[AuditEvent]:
    if not event.request_id:
        return []
    return list(
        AuditEvent.objects.filter(organization_id=event.organization_id, request_id=event.request_id)
        .exclude(pk=event.pk)
        .only(*EVENT_LIST_FIELDS)
        .order_by("id")[:limit]
    )


def target_urls(events: list[AuditEvent]) -> dict[tuple[str, str], str]:
    """Links to the targets that still exist: one query per target type on the page, whatever its length."""
    return object_urls((event.target_type, event.target_id) for event in events)


def _page_makers() -> dict[str, tuple[str, Callable[..., str]]]:
    """{model label: (its organization column, function of (pk, organization id))} answering what the model's
    get_absolute_url answers, for the usual targets of an audit page, with one URL reverse per page instead of
    one per row. tests/audit/test_object_urls.py holds each equal to get_absolute_url."""
    overview = url_maker("fleet:organization")
    key_detail = url_maker("keys:detail", ids=(uuid.UUID, uuid.UUID))

    def node(pk, organization_id) -> str:
        return f"{overview(organization_id)}#node-{pk}"

    return {
        "fleet.organization": ("pk", lambda pk, organization_id: overview(pk)),
        "fleet.location": ("organization_id", node),
        "fleet.machine": ("organization_id", node),
        "keys.apikey": ("organization_id", lambda pk, organization_id: key_detail(organization_id, pk)),
    }


def _uuids(ids) -> list[uuid.UUID]:
    """The ids that read as UUIDs (the others name no object of a UUID-keyed model, so link nowhere)."""
    parsed = []
    for value in ids:
        try:
            parsed.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return parsed


def object_urls(pairs) -> dict[tuple[str, str], str]:
    """{(model label, id): page} for the objects that still exist.

    The usual targets (organizations, locations, machines, keys) in one UNION query of their ids and
    organizations, whatever mix a page holds; any other model with a page, one query each.
    """
    wanted: dict[str, set[str]] = defaultdict(set)
    for target_type, target_id in pairs:
        if target_type and target_id:
            wanted[target_type].add(target_id)
    urls: dict[tuple[str, str], str] = {}
    makers = _page_makers() if wanted else {}
    fast = []
    for target_type, ids in wanted.items():
        try:
            model = apps.get_model(target_type)
        except (LookupError, ValueError):
            continue
        if not hasattr(model, "get_absolute_url"):
            continue
        queryset = model._default_manager.all()
        if hasattr(model, "deleted_at"):
            queryset = queryset.filter(deleted_at__isnull=True)
        if target_type in makers:
            valid = _uuids(ids)
            if valid:
                organization = makers[target_type][0]
                label = Value(target_type, output_field=CharField())
                fast.append(queryset.filter(Among(F("pk"), valid)).order_by().values_list(label, "pk", F(organization)))
            continue
        try:
            found = list(queryset.filter(pk__in=ids))
        except (ValueError, ValidationError):  # an id that is not of the model's kind links nowhere
            continue
        for obj in found:
            urls[(target_type, str(obj.pk))] = obj.get_absolute_url()
    if fast:
        rows = fast[0].union(*fast[1:], all=True) if len(fast) > 1 else fast[0]
        for target_type, pk, organization_id in rows:
            urls[(target_type, str(pk))] = makers[target_type][1](pk, organization_id)
    return urls


def latest_verification(organization) -> ChainVerification | None:
    return ChainVerification.objects.filter(organization=organization).order_by("-verified_at").first()
