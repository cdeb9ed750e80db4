from django.urls import path

from fleetadmin.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.audit_log, name="log"),
    path("events/<int:event_id>/", views.event_detail, name="event"),
    path("export.<str:fmt>", views.export, name="export"),
    path("verify/", views.verify, name="verify"),
]
