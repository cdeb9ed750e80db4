from django.apps import AppConfig


class IdpConfig(AppConfig):
    name = "fleetadmin.idp"
    label = "idp"
    verbose_name = "End users and the OIDC provider"
