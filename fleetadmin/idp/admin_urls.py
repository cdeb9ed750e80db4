from django.urls import path

from fleetadmin.idp import admin_views

app_name = "idp_admin"

urlpatterns = [
    path("", admin_views.end_users, name="end_users"),
    path("<uuid:end_user_id>/<slug:action>/", admin_views.end_user_action, name="end_user_action"),
]
