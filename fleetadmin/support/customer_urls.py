"""The customer's side of support access, under /orgs/<org_id>/support-access/."""

from django.urls import path

from fleetadmin.support import views

app_name = "support_access"

urlpatterns = [
    path("", views.access_log, name="list"),
    path("<uuid:grant_id>/end/", views.access_end, name="end"),
]
