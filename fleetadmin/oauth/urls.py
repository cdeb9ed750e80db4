from django.urls import path

from fleetadmin.oauth import views

app_name = "oauth"

urlpatterns = [
    path("", views.service, name="service"),
    path("enable/", views.service_enable, name="enable"),
    path("disable/", views.service_disable, name="disable"),
    path("logo/", views.logo_upload, name="logo_upload"),
    path("logo/remove/", views.logo_remove, name="logo_remove"),
    path("logo.png", views.logo, name="logo"),
    path("support-email/", views.support_email, name="support_email"),
    path("sign-in-preview/", views.signin_preview, name="preview"),
    path("apps/", views.app_list, name="apps"),
    path("apps/new/", views.app_create, name="app_create"),
    path("apps/validate/", views.app_validate, name="app_validate"),
    path("apps/<uuid:client_id>/", views.app_detail, name="app_detail"),
    path("apps/<uuid:client_id>/edit/", views.app_edit, name="app_edit"),
    path("apps/<uuid:client_id>/rotate/", views.app_rotate, name="app_rotate"),
    path("apps/<uuid:client_id>/delete/", views.app_delete, name="app_delete"),
]
