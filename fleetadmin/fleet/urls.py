from django.urls import path

from fleetadmin.fleet import views

app_name = "fleet"

urlpatterns = [
    path("", views.home, name="home"),
    path("orgs/", views.organization_list, name="organizations"),
    path("orgs/<uuid:org_id>/", views.organization_overview, name="organization"),
    path("orgs/<uuid:org_id>/activity/", views.organization_activity, name="activity"),
    path("orgs/<uuid:org_id>/locations/new/", views.location_create, name="location_create"),
    path("orgs/<uuid:org_id>/locations/options/", views.location_picker, name="location_picker"),
    path("orgs/<uuid:org_id>/locations/<uuid:location_id>/", views.location_detail, name="location"),
    path("orgs/<uuid:org_id>/locations/<uuid:location_id>/rename/", views.location_rename, name="location_rename"),
    path("orgs/<uuid:org_id>/locations/<uuid:location_id>/delete/", views.location_delete, name="location_delete"),
    path("orgs/<uuid:org_id>/machines/new/", views.machine_create, name="machine_create"),
    path("orgs/<uuid:org_id>/machines/<uuid:machine_id>/rename/", views.machine_rename, name="machine_rename"),
    path("orgs/<uuid:org_id>/machines/<uuid:machine_id>/delete/", views.machine_delete, name="machine_delete"),
]
