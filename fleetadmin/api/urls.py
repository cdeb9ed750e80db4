from django.urls import path

from fleetadmin.api import views

app_name = "api"

urlpatterns = [
    path("whoami", views.whoami, name="whoami"),
]
