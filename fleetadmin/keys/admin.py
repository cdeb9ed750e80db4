from django.contrib import admin

from fleetadmin.core.admin import ReadOnlyAdmin
from fleetadmin.keys.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ["name", "id", "organization", "created_at", "expires_at", "last_used_at", "deleted_at"]
    list_select_related = ["organization"]
    search_fields = ["name", "=id"]
    exclude = ["secret_hash", "pepper_id", "creation_token"]
