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
    path("customers/invite/", views.customer_invite, name="customer_invite"),
    path(
        "customers/invitations/<uuid:invitation_id>/cancel/", views.invitation_cancel, name="customer_invitation_cancel"
    ),
    path(
        "invitations/<uuid:invitation_id>/accept/",
        views.invitation_answer,
        {"answer": "accept"},
        name="invitation_accept",
    ),
    path(
        "invitations/<uuid:invitation_id>/decline/",
        views.invitation_answer,
        {"answer": "decline"},
        name="invitation_decline",
    ),
    path("customers/<uuid:customer_id>/detach/", views.customer_detach, name="customer_detach"),
    path("invoices/", views.invoice_list, name="invoices"),
    path("invoices/new/", views.invoice_create, name="invoice_create"),
    path("invoices/<uuid:invoice_id>/", views.invoice_detail, name="invoice"),
    path("invoices/<uuid:invoice_id>/pay/", views.invoice_pay, name="invoice_pay"),
    path("invoices/<uuid:invoice_id>/void/", views.invoice_void, name="invoice_void"),
]
