"""The customer-facing, white-label side, under /billing/<billing_org_id>/."""

from django.urls import path

from fleetadmin.billing import views

app_name = "billing_dashboard"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("logo.png", views.dashboard_logo, name="logo"),
    path("invoices/<uuid:invoice_id>/", views.dashboard_invoice, name="invoice"),
    path("invoices/<uuid:invoice_id>/logo.png", views.invoice_logo, name="invoice_logo"),
]
