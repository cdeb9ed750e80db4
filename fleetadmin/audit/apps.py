from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "fleetadmin.audit"
    label = "audit"
    verbose_name = "Audit log"
