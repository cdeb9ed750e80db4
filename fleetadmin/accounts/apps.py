from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "fleetadmin.accounts"
    label = "accounts"
    verbose_name = "Accounts"
