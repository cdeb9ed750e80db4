from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "fleetadmin.keys"
    label = "keys"
    verbose_name = "API keys"
