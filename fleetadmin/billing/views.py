"""Screens of white-label billing.

Portal side (``/orgs/<org_id>/billing/``): the billing organization's owners change
everything (``billing.manage``); its operators read (``billing.view``: no
controls); anyone outside the organization gets a 404.

Customer side (``/billing/<billing_org_id>/``): the branded dashboard and the
print-friendly invoice, for the owners and operators of the organizations the
billing organization bills. No portal chrome and no portal brand.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import quote_etag
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from fleetadmin.billing import branding, selectors, services
from fleetadmin.billing.forms import FILL, AddressForm, AttachCustomerForm, ChargeForm, parse_pasted
from fleetadmin.billing.models import InvoiceStatus
from fleetadmin.core.support_pages import support_hidden, support_visible
from fleetadmin.core.web import render_screen, typed_confirmation, wants_partial
from fleetadmin.fleet import authz
from fleetadmin.fleet import selectors as fleet_selectors
from fleetadmin.fleet.models import Organization

SERVICE = "billing/service.html"
ADDRESS = "billing/address.html"
INVOICE_FORM = "billing/invoice_form.html"
INVOICE_LIST = "billing/invoice_list.html"
INVOICE_DETAIL = "billing/invoice_detail.html"
MESSAGES = "includes/messages.html"


# ---- helpers ---------------------------------------------------------------------------------------


def _organization(request: HttpRequest, org_id, permission: str = "billing.view") -> Organization:
    """The organization (404 unless the user sees it), then 403 unless they hold ``permission`` there."""
    organization = fleet_selectors.get_organization_for(request.user, org_id)
    authz.require(request.user, permission, organization)
    return organization


def _done(request: HttpRequest, url: str) -> HttpResponse:
    """After a write: a full navigation to ``url`` (htmx or not), where the flash message shows."""
    return HttpResponseClientRedirect(url) if wants_partial(request) else redirect(url)


def _service_url(organization: Organization) -> str:
    return reverse("billing:service", args=[organization.pk])


def _auth_service_url(organization: Organization) -> str:
    """Where the logo and the support email are set (the auth service)."""
    return reverse("oauth:service", args=[organization.pk])


def dashboard_url(request: HttpRequest, organization: Organization) -> str:
    return request.build_absolute_uri(reverse("billing_dashboard:dashboard", args=[organization.pk]))


def _before(request: HttpRequest) -> int | None:
    value = request.GET.get("before", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


# ---- the billing service page ----------------------------------------------------------------------

CUSTOMERS_SHOWN = 50


def _customer_list(organization: Organization) -> dict[str, Any]:
    """The first customers by name, and how many there are in all (counted only when there are more)."""
    customers = selectors.customers_of(organization)
    shown = list(customers[: CUSTOMERS_SHOWN + 1])
    more = len(shown) > CUSTOMERS_SHOWN
    return {
        "customers": shown[:CUSTOMERS_SHOWN],
        "customer_count": customers.count() if more else len(shown),
        "customers_truncated": more,
    }


def _service_context(request: HttpRequest, organization: Organization, **forms: Any) -> dict[str, Any]:
    user = request.user
    service = selectors.get_billing_service(organization)
    brand = branding.branding_for(organization)
    return {
        "organization": organization,
        "nav_section": "billing",
        "service": service,
        "address": service.address,
        "brand": brand,
        "config": {
            "address": service.address.one_line if service.address else None,
            "support_email": brand.support_email,
            "logo_url": request.build_absolute_uri(brand.logo_url) if brand.logo_url else None,
            "dashboard_url": dashboard_url(request, organization),
        },
        "auth_service_url": _auth_service_url(organization),
        "can_manage": authz.can(user, "billing.manage", organization),
        **_customer_list(organization),
        "recent_invoices": selectors.invoice_page(user, organization, size=selectors.RECENT_INVOICES).invoices,
        "history": selectors.billing_timeline(user, organization),
        "attach_form": forms.get("attach_form") or AttachCustomerForm(),
        "invitations_sent": selectors.invitations_sent(organization)
        if authz.can(user, "billing.manage", organization)
        else [],
        "invitations_received": selectors.invitations_received(user, organization),
    }


@support_visible("Billing", actions=("support.update_billing_address",))
@login_required
@require_GET
def service(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id)
    return render_screen(request, SERVICE, _service_context(request, organization))


# ---- enable and update: the address form -----------------------------------------------------------


def _address_context(organization: Organization, form: AddressForm, *, mode: str) -> dict[str, Any]:
    return {
        "organization": organization,
        "nav_section": "billing",
        "form": form,
        "mode": mode,
        "action_url": reverse(f"billing:{mode}", args=[organization.pk]),
        "parse_url": reverse("billing:parse_address", args=[organization.pk]),
    }


def _address_screen(request: HttpRequest, organization: Organization, *, mode: str) -> HttpResponse:
    service = selectors.get_billing_service(organization)
    status = 200
    if request.method == "POST" and request.POST.get("action") == FILL:
        form, parsed = parse_pasted(request.POST)
        status = 200 if parsed else 422
    elif request.method == "POST":
        form = AddressForm(request.POST)
        if form.is_valid():
            write = services.billing_service_enable if mode == "enable" else services.billing_service_update
            try:
                write(actor=request.user, organization=organization, address=form.cleaned_data["address"])
            except ValidationError as error:
                form.add_error(None, error)
            else:
                if mode == "enable":
                    messages.success(request, f"Billing enabled for {organization.name}.")
                else:
                    messages.success(request, "Billing address saved.")
                return _done(request, _service_url(organization))
        status = 422
    else:
        form = AddressForm.filled_from(service.address) if service.address else AddressForm()
    context = _address_context(organization, form, mode=mode)
    return render_screen(request, ADDRESS, context, partial="address-form", status=status)


@support_visible("Enable billing")
@login_required
@require_http_methods(["GET", "POST"])
def service_enable(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id, "billing.manage")
    if selectors.get_billing_service(organization).enabled:
        messages.info(request, "Billing is already enabled; change its address here.")
        return redirect("billing:update", org_id=organization.pk)
    return _address_screen(request, organization, mode="enable")


@support_visible("Billing address")
@login_required
@require_http_methods(["GET", "POST"])
def service_update(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id, "billing.manage")
    if not selectors.get_billing_service(organization).enabled:
        messages.info(request, "Billing is not enabled; enable it with a billing address.")
        return redirect("billing:enable", org_id=organization.pk)
    return _address_screen(request, organization, mode="update")


@support_visible("Check a billing address")
@login_required
@require_POST
def parse_address(request: HttpRequest, org_id) -> HttpResponse:
    """htmx: the address form filled from the pasted line, or showing why the line does not parse."""
    organization = _organization(request, org_id, "billing.manage")
    mode = "update" if selectors.get_billing_service(organization).enabled else "enable"
    form, parsed = parse_pasted(request.POST)
    context = _address_context(organization, form, mode=mode)
    return render_screen(request, ADDRESS, context, partial="address-form", status=200 if parsed else 422)


@support_visible("Disable billing")
@login_required
@require_http_methods(["GET", "POST"])
def service_disable(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id, "billing.manage")
    service = selectors.get_billing_service(organization)
    if not service.enabled:
        messages.info(request, "Billing is already disabled.")
        return redirect("billing:service", org_id=organization.pk)

    def disable() -> HttpResponse:
        services.billing_service_disable(actor=request.user, organization=organization)
        messages.success(
            request, "Billing disabled. The address, customers and invoices are kept; enable it again to charge."
        )
        return _done(request, _service_url(organization))

    def context() -> dict:
        return {
            "organization": organization,
            "nav_section": "billing",
            "service": service,
            "customer_count": selectors.customers_of(organization).count(),
            "open_count": selectors.open_invoice_count(request.user, organization),
        }

    return typed_confirmation(request, word="disable", template="billing/disable.html", context=context, act=disable)


# ---- customers -------------------------------------------------------------------------------------


@support_visible("Invite a customer")
@login_required
@require_POST
def customer_invite(request: HttpRequest, org_id) -> HttpResponse:
    """Invite an organization by its id. The answer never says whether the id names an organization."""
    organization = _organization(request, org_id, "billing.manage")
    form = AttachCustomerForm(request.POST)
    if form.is_valid():
        try:
            invitation = services.customer_invite(
                actor=request.user, billing_organization=organization, customer_id=form.cleaned_data["customer_id"]
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for message in error.message_dict.get("customer_id", []):
                    form.add_error("customer_id", message)
                for message in error.message_dict.get("__all__", []):
                    form.add_error(None, message)
            else:
                form.add_error(None, error)
        else:
            messages.success(
                request,
                f"Invitation sent for {invitation.customer_organization_id}. If an organization has this ID, its "
                "owners see the invitation on their billing page; it becomes a customer when one of them accepts.",
            )
            if wants_partial(request):
                context = _service_context(request, organization)
                return render_screen(
                    request, SERVICE, context, partial="customers", oob=(MESSAGES, f"{SERVICE}#history")
                )
            return redirect("billing:service", org_id=organization.pk)
    context = _service_context(request, organization, attach_form=form)
    return render_screen(request, SERVICE, context, partial="customers", status=422)


@support_visible("Cancel a customer invitation")
@login_required
@require_POST
def invitation_cancel(request: HttpRequest, org_id, invitation_id) -> HttpResponse:
    organization = _organization(request, org_id, "billing.manage")
    invitation = selectors.get_sent_invitation_for(request.user, organization, invitation_id)
    try:
        services.customer_invitation_cancel(actor=request.user, invitation=invitation)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Invitation for {invitation.customer_organization_id} cancelled.")
    return _done(request, _service_url(organization))


@support_visible("Answer a billing invitation")
@login_required
@require_POST
def invitation_answer(request: HttpRequest, org_id, invitation_id, answer: str) -> HttpResponse:
    """An owner of the invited organization accepts or declines being billed."""
    organization = _organization(request, org_id, "billing.manage")
    invitation = selectors.get_received_invitation_for(request.user, organization, invitation_id)
    biller = invitation.billing_organization.name
    try:
        if answer == "accept":
            services.customer_invitation_accept(actor=request.user, organization=organization, invitation=invitation)
        else:
            services.customer_invitation_decline(actor=request.user, organization=organization, invitation=invitation)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if answer == "accept":
            messages.success(request, f"{biller} now bills {organization.name}; its invoices appear on its dashboard.")
        else:
            messages.success(request, f"Declined: {biller} does not bill {organization.name}.")
    return _done(request, _service_url(organization))


@support_visible("Detach a customer")
@login_required
@require_http_methods(["GET", "POST"])
def customer_detach(request: HttpRequest, org_id, customer_id) -> HttpResponse:
    organization = _organization(request, org_id, "billing.manage")
    customer = selectors.get_customer_for(request.user, organization, customer_id)
    if request.method == "POST":
        name = customer.organization.name
        services.customer_detach(actor=request.user, customer=customer)
        messages.success(request, f"{name} is no longer a customer. Its invoices are kept.")
        return _done(request, _service_url(organization))
    open_count = selectors.open_invoice_count(request.user, organization, customer=customer.organization)
    context = {"organization": organization, "nav_section": "billing", "customer": customer, "open_count": open_count}
    return render_screen(request, "billing/customer_detach.html", context)


# ---- invoices --------------------------------------------------------------------------------------


@support_visible("Invoices")
@login_required
@require_GET
def invoice_list(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id)
    status = request.GET.get("status", "")
    status = status if status in InvoiceStatus.values else ""
    page = selectors.invoice_page(request.user, organization, status=status, before=_before(request))
    context = {
        "organization": organization,
        "nav_section": "billing",
        "page": page,
        "status": status,
        "status_choices": InvoiceStatus.choices,
        "first_page": _before(request) is None,
        "can_manage": authz.can(request.user, "billing.manage", organization),
        "service": selectors.get_billing_service(organization),
    }
    return render_screen(request, INVOICE_LIST, context, partial="invoice-table")


@support_visible("Create an invoice")
@login_required
@require_http_methods(["GET", "POST"])
def invoice_create(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id, "billing.manage")
    service = selectors.get_billing_service(organization)
    if not service.enabled:
        messages.info(request, "Enable billing before charging customers.")
        return redirect("billing:service", org_id=organization.pk)
    customers = list(selectors.customers_of(organization))
    choices = [(str(c.organization_id), c.organization.name) for c in customers]
    status = 200
    if request.method == "POST":
        form = ChargeForm(request.POST, customer_choices=choices)
        if form.is_valid():
            data = form.cleaned_data
            customer = next(c.organization for c in customers if str(c.organization_id) == data["customer"])
            try:
                invoice = services.invoice_create(
                    actor=request.user,
                    billing_organization=organization,
                    customer=customer,
                    description=data["description"],
                    subtotal=data["subtotal"],
                    tax=data["tax"],
                    creation_token=data["form_token"],
                )
            except services.DuplicateSubmission as duplicate:
                messages.info(request, "This form was already submitted; the invoice was created then.")
                return _done(request, reverse("billing:invoice", args=[organization.pk, duplicate.created.pk]))
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Invoice {invoice.display_number} issued to {customer.name}.")
                return _done(request, reverse("billing:invoice", args=[organization.pk, invoice.pk]))
        status = 422
    else:
        initial = {"form_token": secrets.token_urlsafe(24), "tax": "0.00"}
        if request.GET.get("customer") in {value for value, _ in choices}:
            initial["customer"] = request.GET["customer"]
        form = ChargeForm(initial=initial, customer_choices=choices)
    context = {"organization": organization, "nav_section": "billing", "form": form, "has_customers": bool(choices)}
    return render_screen(request, INVOICE_FORM, context, partial="charge-form", status=status)


def _invoice(request: HttpRequest, org_id, invoice_id, permission: str = "billing.view"):
    organization = _organization(request, org_id, permission)
    return organization, selectors.get_invoice_for(request.user, organization, invoice_id)


@support_visible("Invoice")
@login_required
@require_GET
def invoice_detail(request: HttpRequest, org_id, invoice_id) -> HttpResponse:
    organization, invoice = _invoice(request, org_id, invoice_id)
    context = {
        "organization": organization,
        "nav_section": "billing",
        "invoice": invoice,
        "can_manage": authz.can(request.user, "billing.manage", organization),
        "history": selectors.invoice_timeline(request.user, organization, invoice),
        "customer_view_url": reverse("billing_dashboard:invoice", args=[organization.pk, invoice.pk]),
    }
    return render_screen(request, INVOICE_DETAIL, context)


@support_visible("Mark an invoice paid")
@login_required
@require_POST
def invoice_pay(request: HttpRequest, org_id, invoice_id) -> HttpResponse:
    organization, invoice = _invoice(request, org_id, invoice_id, "billing.manage")
    try:
        invoice = services.invoice_mark_paid(actor=request.user, invoice=invoice)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{invoice.display_number} marked paid.")
    return _done(request, reverse("billing:invoice", args=[organization.pk, invoice.pk]))


@support_visible("Void an invoice")
@login_required
@require_http_methods(["GET", "POST"])
def invoice_void(request: HttpRequest, org_id, invoice_id) -> HttpResponse:
    organization, invoice = _invoice(request, org_id, invoice_id, "billing.manage")
    detail_url = reverse("billing:invoice", args=[organization.pk, invoice.pk])
    if request.method == "POST":
        try:
            invoice = services.invoice_void(actor=request.user, invoice=invoice)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{invoice.display_number} voided. It stays on record.")
        return _done(request, detail_url)
    if not invoice.is_open:
        messages.info(request, f"{invoice.display_number} is {invoice.status}; only open invoices can be voided.")
        return redirect(detail_url)
    context = {"organization": organization, "nav_section": "billing", "invoice": invoice, "cancel_url": detail_url}
    return render_screen(request, "billing/invoice_void.html", context)


# ---- the customer-facing dashboard -----------------------------------------------------------------


def _branded(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    response = render(request, template, context)
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _dashboard_context(request: HttpRequest, dashboard: selectors.Dashboard) -> dict[str, Any]:
    issuer = dashboard.issuer
    return {
        "dashboard": dashboard,
        "issuer": issuer,
        "brand": branding.branding_for(issuer),
        "issuer_address": selectors.get_billing_service(issuer).address,
    }


@support_hidden
@login_required
@require_GET
def dashboard(request: HttpRequest, billing_org_id) -> HttpResponse:
    board = selectors.get_dashboard_for(request.user, billing_org_id)
    page = selectors.dashboard_page(board, before=_before(request))
    context = {
        **_dashboard_context(request, board),
        "page": page,
        "first_page": _before(request) is None,
        "show_customer": board.as_issuer or len(board.customers) > 1,
    }
    return _branded(request, "billing/dashboard.html", context)


@support_hidden
@login_required
@require_GET
def dashboard_invoice(request: HttpRequest, billing_org_id, invoice_id) -> HttpResponse:
    board = selectors.get_dashboard_for(request.user, billing_org_id)
    invoice = selectors.get_dashboard_invoice(board, invoice_id)
    return _branded(
        request, "billing/dashboard_invoice.html", {**_dashboard_context(request, board), "invoice": invoice}
    )


def _png(request: HttpRequest, data: bytes, sha256: str, *, immutable: bool) -> HttpResponse:
    etag = quote_etag(sha256)
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(data, content_type="image/png")
        response["Content-Disposition"] = 'inline; filename="logo.png"'
    response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    if immutable:
        response["Cache-Control"] = "private, max-age=31536000, immutable"
    else:
        response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ("Cookie",))
    return response


@support_hidden
@login_required
@require_GET
def dashboard_logo(request: HttpRequest, billing_org_id) -> HttpResponse:
    """The billing organization's current logo, for those who may see its dashboard."""
    board = selectors.get_dashboard_for(request.user, billing_org_id)
    image = branding.logo_image(board.issuer)
    if image is None:
        raise Http404("This organization has no logo.")
    return _png(request, image.data, image.sha256, immutable=False)


@support_hidden
@login_required
@require_GET
def invoice_logo(request: HttpRequest, billing_org_id, invoice_id) -> HttpResponse:
    """The logo as it was when the invoice was issued (content-addressed, so cacheable for good)."""
    board = selectors.get_dashboard_for(request.user, billing_org_id)
    invoice = selectors.get_dashboard_invoice(board, invoice_id)
    data = selectors.invoice_logo_data(invoice)
    if data is None:
        raise Http404("This invoice has no logo.")
    return _png(request, data, invoice.issuer_logo_id, immutable=True)
