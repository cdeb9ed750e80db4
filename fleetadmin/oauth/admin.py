from django.contrib import admin

from fleetadmin.core.admin import ReadOnlyAdmin
from fleetadmin.oauth.models import AuthService, OAuthApplication


@admin.register(AuthService)
class AuthServiceAdmin(ReadOnlyAdmin):
    list_display = ["organization", "enabled", "support_email", "logo_size", "logo_updated_at", "updated_at"]
    list_select_related = ["organization"]
    search_fields = ["organization__name", "=organization__id", "support_email"]
    exclude = ["logo"]


@admin.register(OAuthApplication)
class OAuthApplicationAdmin(ReadOnlyAdmin):
    list_display = ["client_name", "id", "organization", "client_authentication", "pkce", "created_at", "updated_at"]
    list_select_related = ["organization"]
    search_fields = ["client_name", "=id"]
    exclude = ["secret_hash", "pepper_id", "creation_token"]
