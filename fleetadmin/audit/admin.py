from django.contrib import admin

from fleetadmin.audit.models import AuditEvent
from fleetadmin.core.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: audit events are never edited or deleted, here or anywhere."""

    list_display = ["created_at", "organization_id", "actor_name", "action", "target_type", "target_name"]
    list_filter = ["actor_type"]
    search_fields = ["action", "actor_name", "target_name", "request_id", "ticket"]
    show_full_result_count = False
