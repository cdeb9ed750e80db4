from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "fleetadmin.api"
    label = "api"
    verbose_name = "JSON API"
