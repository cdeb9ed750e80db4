from django.urls import path

from fleetadmin.fleet import member_views, views

app_name = "fleet"

urlpatterns = [
    path("", views.home, name="home"),
    path("orgs/", views.organization_list, name="organizations"),
    path("orgs/new/", member_views.organization_create, name="organization_create"),
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
    path("orgs/<uuid:org_id>/settings/", member_views.organization_settings, name="settings"),
    path("orgs/<uuid:org_id>/settings/delete/", member_views.organization_delete, name="organization_delete"),
    path("orgs/<uuid:org_id>/members/", member_views.members_page, name="members"),
    path("orgs/<uuid:org_id>/members/invite/", member_views.member_invite, name="member_invite"),
    path("orgs/<uuid:org_id>/members/leave/", member_views.member_leave, name="member_leave"),
    path("orgs/<uuid:org_id>/members/<int:membership_id>/", member_views.member_edit, name="member_edit"),
    path("orgs/<uuid:org_id>/members/<int:membership_id>/remove/", member_views.member_remove, name="member_remove"),
    path(
        "orgs/<uuid:org_id>/invitations/<uuid:invitation_id>/resend/",
        member_views.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "orgs/<uuid:org_id>/invitations/<uuid:invitation_id>/revoke/",
        member_views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("invitations/accept/", member_views.invitation_accept, name="invitation_accept"),
    path("invitations/<str:token>/", member_views.invitation_open, name="invitation_open"),
]
