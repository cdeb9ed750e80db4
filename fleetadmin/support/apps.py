from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "fleetadmin.support"
    label = "support"
    verbose_name = "Support"
