from django.apps import AppConfig


class OAuthConfig(AppConfig):
    name = "fleetadmin.oauth"
    label = "oauth"
    verbose_name = "Auth service and OAuth applications"
