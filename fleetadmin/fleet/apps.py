from django.apps import AppConfig


class FleetConfig(AppConfig):
    name = "fleetadmin.fleet"
    label = "fleet"
    verbose_name = "Fleet"
