from django.urls import path

from fleetadmin.keys import views

app_name = "keys"

urlpatterns = [
    path("", views.key_list, name="list"),
    path("new/", views.key_create, name="create"),
    path("delete/", views.key_bulk_delete, name="bulk_delete"),
    path("<uuid:key_id>/", views.key_detail, name="detail"),
    path("<uuid:key_id>/rename/", views.key_rename, name="rename"),
    path("<uuid:key_id>/rotate/", views.key_rotate, name="rotate"),
    path("<uuid:key_id>/duplicate/", views.key_duplicate, name="duplicate"),
    path("<uuid:key_id>/grant/", views.key_grant, name="grant"),
    path("<uuid:key_id>/authorizations/<int:authorization_id>/remove/", views.key_revoke, name="revoke"),
    path("<uuid:key_id>/delete/", views.key_delete, name="delete"),
]
