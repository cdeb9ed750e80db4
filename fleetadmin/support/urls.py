"""The support console, under /support/. Every page here is a 404 to anyone but support staff."""

from django.urls import path

from fleetadmin.support import views

app_name = "support"

urlpatterns = [
    path("", views.console, name="console"),
    path("orgs/<uuid:organization_id>/open/", views.open_grant, name="open"),
    path("grants/<uuid:grant_id>/", views.grant_detail, name="grant"),
    path("grants/<uuid:grant_id>/end/", views.end_grant, name="end"),
    path("grants/<uuid:grant_id>/actions/delete-key/", views.delete_key, name="delete_key"),
    path(
        "grants/<uuid:grant_id>/actions/rotate-oauth-secret/<uuid:client_id>/",
        views.rotate_oauth_secret,
        name="rotate_oauth_secret",
    ),
    path("grants/<uuid:grant_id>/actions/auth-service/", views.auth_service, name="auth_service"),
    path("grants/<uuid:grant_id>/actions/billing-address/", views.billing_address, name="billing_address"),
]
