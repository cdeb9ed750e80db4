from django.db.models import QuerySet

from fleetadmin.audit.models import AuditEvent

EVENT_LIST_FIELDS = (
    "id",
    "created_at",
    "organization_id",
    "actor_type",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "target_name",
    "ticket",
)


def recent_events_for_organization(organization, *, limit: int = 10) -> QuerySet[AuditEvent]:
    """The newest events of an organization (uses the audit_org_newest index)."""
    return AuditEvent.objects.filter(organization=organization).only(*EVENT_LIST_FIELDS).order_by("-id")[:limit]
