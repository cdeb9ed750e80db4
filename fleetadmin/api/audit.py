from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ninja import Router, Schema

from fleetadmin.audit import selectors
from fleetadmin.audit.query import QueryError, parse_query
from fleetadmin.fleet import authz
from fleetadmin.fleet.selectors import get_organization_for

router = Router(tags=["Audit log"])


class EventOut(Schema):
    id: int
    created_at: datetime
    actor_type: str
    actor_id: str
    actor_name: str
    action: str
    target_type: str
    target_id: str
    target_name: str
    ticket: str
    request_id: str
    changes: dict[str, Any]


class EventPageOut(Schema):
    items: list[EventOut]
    next_before: int | None


@router.get("/organizations/{org_id}/audit-events", response=EventPageOut, summary="List audit events, newest first")
def list_events(request, org_id: uuid.UUID, q: str = "", before: int | None = None):
    """Filter with the audit page's query syntax in `q`; page with `before` (the previous page's `next_before`)."""
    organization = get_organization_for(request.auth, org_id)
    authz.require(request.auth, "audit.view_log", organization)
    try:
        filters = parse_query(q)
    except QueryError as error:
        from django.core.exceptions import ValidationError

        raise ValidationError({"q": str(error)}) from None
    page = selectors.event_page(organization, filters, before=before)
    return {"items": page.events, "next_before": page.next_before}
