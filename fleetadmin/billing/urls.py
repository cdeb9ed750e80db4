"""The billing organization's side, under /orgs/<org_id>/billing/."""

from django.urls import path

from fleetadmin.billing import views

app_name = "billing"

urlpatterns = [
    path("", views.service, name="service"),
    path("enable/", views.service_enable, name="enable"),
    path("address/", views.service_update, name="update"),
    path("address/parse/", views.parse_address, name="parse_address"),
    path("disable/", views.service_disable, name="disable"),
    path("customers/attach/", views.customer_attach, name="customer_attach"),
    path("customers/<uuid:customer_id>/detach/", views.customer_detach, name="customer_detach"),
    path("invoices/", views.invoice_list, name="invoices"),
    path("invoices/new/", views.invoice_create, name="invoice_create"),
    path("invoices/<uuid:invoice_id>/", views.invoice_detail, name="invoice"),
    path("invoices/<uuid:invoice_id>/pay/", views.invoice_pay, name="invoice_pay"),
    path("invoices/<uuid:invoice_id>/void/", views.invoice_void, name="invoice_void"),
]
