from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "fleetadmin.billing"
    label = "billing"
    verbose_name = "Billing"
