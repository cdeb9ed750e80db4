"""The recent history a page shows (templates/audit/_timeline.html), and the link to the rest of it.

One selector for every page: the timeline's events and its "Full history" link come from the same
``AuditFilters``, so the link opens the audit log on exactly what the timeline lists, and more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import models

from fleetadmin.audit.labels import action_label
from fleetadmin.audit.links import log_url
from fleetadmin.audit.models import AuditEvent, target_type_of
from fleetadmin.audit.query import AuditFilters
from fleetadmin.audit.selectors import EVENT_LIST_FIELDS

TIMELINE_LENGTH = 10
# Looks, not changes: kept in the audit log, left out of the overview's Activity panel.
ACTIVITY_EXCLUDED_ACTIONS = ("support.access.view",)


def describe_action(event: AuditEvent) -> str:
    return action_label(event.action)


@dataclass(frozen=True)
class TimelineEntry:
    event: AuditEvent
    label: str  # what the actor did, as a sentence fragment: "rotated api key"


@dataclass(frozen=True)
class Timeline:
    organization_id: object
    entries: list[TimelineEntry]
    full_url: str  # the audit log filtered to this timeline's events
    links: bool  # whether the viewer may open the audit log (the full history and each event's page)
    show_target: bool  # a timeline of many objects names each event's object


def timeline(
    organization,
    filters: AuditFilters,
    *,
    links: bool,
    describe: Callable[[AuditEvent], str] = describe_action,
    actions: Iterable[str] = (),
    exclude_actions: Iterable[str] = (),
    show_target: bool = False,
    limit: int = TIMELINE_LENGTH,
) -> Timeline:
    """The newest ``limit`` events matching ``filters``: one indexed query, whatever the history's length.

    ``actions``, when given, is the exact list of actions that ``filters.action`` (a prefix) stands for:
    a prefix (LIKE) cannot use the (organization, action, id) index on PostgreSQL, an IN list can.
    """
    organization_id = getattr(organization, "pk", organization)
    events = filters.apply(AuditEvent.objects.filter(organization_id=organization_id))
    if actions:
        events = events.filter(action__in=tuple(actions))
    if exclude_actions:
        events = events.exclude(action__in=tuple(exclude_actions))
    rows = list(events.only(*EVENT_LIST_FIELDS).order_by("-id")[:limit])
    return Timeline(
        organization_id=organization_id,
        entries=[TimelineEntry(event=event, label=describe(event)) for event in rows],
        full_url=log_url(organization_id, filters),
        links=links,
        show_target=show_target,
    )


def target_filters(obj: models.Model) -> AuditFilters:
    """The filters that select one object's own events (the audit_org_target index)."""
    return AuditFilters(target_type=target_type_of(obj), target_id=str(obj.pk))


def object_timeline(
    organization, obj: models.Model, *, links: bool, describe: Callable[[AuditEvent], str] = describe_action
) -> Timeline:
    """An object's own newest events, and the audit log filtered to that object."""
    return timeline(organization, target_filters(obj), links=links, describe=describe)


def organization_timeline(organization) -> Timeline:
    """The newest changes anywhere in the organization (the overview's Activity); support's page views stay in the log.

    Shown only to those who may read the log, so its links are always on.
    """
    return timeline(
        organization, AuditFilters(), links=True, exclude_actions=ACTIVITY_EXCLUDED_ACTIONS, show_target=True
    )
