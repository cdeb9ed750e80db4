from django.contrib import admin

from fleetadmin.billing.models import BillingService, BrandLogo, Customer, Invoice
from fleetadmin.core.admin import ReadOnlyAdmin


@admin.register(BillingService)
class BillingServiceAdmin(ReadOnlyAdmin):
    list_display = ["organization", "enabled", "city", "country", "next_invoice_number", "updated_at"]
    list_select_related = ["organization"]
    search_fields = ["organization__name", "=organization__id"]


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["organization", "billing_organization", "attached_at", "attached_by_name"]
    list_select_related = ["organization", "billing_organization"]
    search_fields = ["organization__name", "billing_organization__name"]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["display_number", "issuer_name", "customer_name", "total", "status", "issued_at", "due_on"]
    list_filter = ["status"]
    search_fields = ["=id", "issuer_name", "customer_name", "description"]
    exclude = ["creation_token"]


@admin.register(BrandLogo)
class BrandLogoAdmin(ReadOnlyAdmin):
    list_display = ["sha256", "width", "height", "created_at"]
    exclude = ["data"]
