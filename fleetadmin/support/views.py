"""Screens of the support console, of the actions on a customer's behalf, and the customer's "Support access".

Console screens exist only for support staff (staff in the ``support`` group, and
superusers); to everyone else they are a 404, as if they did not exist. The
customer's own pages are not here: support staff read them through
``SupportAccessMiddleware`` under an active grant.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fleetadmin import clock
from fleetadmin.billing.address import format_address
from fleetadmin.billing.services import clean_address
from fleetadmin.core.links import portal_base_url
from fleetadmin.core.support_pages import support_visible
from fleetadmin.core.web import render_screen
from fleetadmin.fleet import authz
from fleetadmin.fleet.models import Organization
from fleetadmin.fleet.selectors import get_organization_for
from fleetadmin.keys import selectors as key_selectors
from fleetadmin.oauth import selectors as oauth_selectors
from fleetadmin.support import selectors, services
from fleetadmin.support.access import SupportActor
from fleetadmin.support.forms import BillingAddressForm, OpenGrantForm
from fleetadmin.support.models import SupportGrant

CONSOLE = "support/console.html"


def support_staff_only(view: Callable) -> Callable:
    """Signed in and support staff; anyone else gets the 404 a missing page gives."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not authz.is_support_staff(request.user):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapper


def _until(grant: SupportGrant) -> str:
    when = timezone.localtime(grant.ended_or_expired_at())
    return f"{when:%H:%M} {when.tzname()}"


def _back_to_console(request: HttpRequest, grant: SupportGrant) -> HttpResponse:
    verb = "ended" if grant.ended_at else "expired"
    messages.warning(
        request,
        f"Your support access to {grant.organization.name} for ticket {grant.ticket} {verb} at {_until(grant)}. "
        "Open it again with a ticket to continue.",
    )
    return redirect("support:console")


def _safe_next(value: str, organization: Organization) -> str:
    """Where to land after opening: a page of this organization, or its overview."""
    overview = reverse("fleet:organization", args=[organization.pk])
    if (
        value
        and value.startswith(f"/orgs/{organization.pk}/")
        and "\\" not in value
        and url_has_allowed_host_and_scheme(value, allowed_hosts=None)
    ):
        return value
    return overview


# ---- the console -----------------------------------------------------------------------------------


@support_staff_only
@require_http_methods(["GET", "POST"])
def console(request: HttpRequest) -> HttpResponse:
    """The console; a search is a POST, so what a customer pasted (maybe a secret) never lands in a URL or a log."""
    result = selectors.search(request.POST.get("q", "") if request.method == "POST" else "")
    active = list(selectors.active_grants_of(request.user))
    active_by_org = {grant.organization_id: grant for grant in active}
    rows = [{"match": match, "grant": active_by_org.get(match.organization.pk)} for match in result.matches]
    context = {
        "nav_section": "support",
        "result": result,
        "query": result.query,
        "rows": rows,
        "active_grants": active,
        "recent_grants": [
            g for g in selectors.recent_grants_of(request.user) if g.organization_id not in active_by_org
        ],
        "kinds": selectors.searchable_kinds(),
        "now": clock.now(),
    }
    return render_screen(request, CONSOLE, context, partial="results")


@support_staff_only
@require_http_methods(["GET", "POST"])
def open_grant(request: HttpRequest, organization_id) -> HttpResponse:
    organization = selectors.get_organization(organization_id)
    source = request.POST if request.method == "POST" else request.GET
    landing = _safe_next(source.get("next", ""), organization)
    # With access already open, the page still asks which ticket this is for: continue under the
    # current one, or name another (which ends the current grant and opens a new one, on the record).
    current = selectors.active_grant_on(request.user, organization)
    form = OpenGrantForm(request.POST or None, initial={"next": landing})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            ticket, reason = form.cleaned_data["ticket"], form.cleaned_data["reason"]
            base_url = portal_base_url(request)
            if current is not None and ticket == current.ticket:
                return redirect(landing)
            try:
                if current is not None:
                    grant = services.support_grant_switch(
                        actor=request.user, grant=current, ticket=ticket, reason=reason, base_url=base_url
                    )
                else:
                    grant = services.support_grant_open(
                        actor=request.user, organization=organization, ticket=ticket, reason=reason, base_url=base_url
                    )
            except services.GrantAlreadyActive as exists:
                return redirect(_safe_next(landing, exists.grant.organization))
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(
                    request,
                    f"Read-only access to {organization.name} for ticket {grant.ticket} until {_until(grant)}. "
                    "Every page you view is recorded in the customer's audit log.",
                )
                return redirect(landing)
        status = 422
    context = {
        "nav_section": "support",
        "target": organization,
        "current": current,
        "current_until": _until(current) if current else "",
        "landing": landing,
        "form": form,
        "minutes": settings.SUPPORT_GRANT_MINUTES,
        "pattern": settings.SUPPORT_TICKET_PATTERN,
    }
    return render_screen(request, "support/open.html", context, status=status)


@support_staff_only
@require_POST
def end_grant(request: HttpRequest, grant_id) -> HttpResponse:
    grant = selectors.get_own_grant(request.user, grant_id)
    was_active = grant.is_active(clock.now())
    services.support_grant_end(actor=request.user, grant=grant)
    if was_active:
        messages.success(request, f"Access to {grant.organization.name} for ticket {grant.ticket} ended.")
    return redirect("support:console")


# ---- actions on a customer's behalf ----------------------------------------------------------------


def active_grant(view: Callable) -> Callable:
    """Support staff only, under their own grant (``grant_id`` in the URL) while it is active.

    The view is called as ``view(request, grant, actor, **other_url_kwargs)``, with the actor
    that reads under the grant; an ended or expired grant sends the engineer back to the console.
    """

    @support_staff_only
    @wraps(view)
    def wrapper(request: HttpRequest, grant_id, **kwargs) -> HttpResponse:
        grant = selectors.get_own_grant(request.user, grant_id)
        if not grant.is_active(clock.now()):
            return _back_to_console(request, grant)
        request.support_grant = grant  # the banner
        return view(request, grant, SupportActor(request.user, grant), **kwargs)

    return wrapper


def _record_view(request: HttpRequest, actor: SupportActor, page: str, object_id: str = "") -> None:
    services.support_page_view_record(actor=actor, path=request.path, page=page, object_id=object_id)


def _action_context(grant: SupportGrant, **extra: Any) -> dict[str, Any]:
    return {"organization": grant.organization, "grant": grant, "nav_section": "support", **extra}


@active_grant
@require_GET
def grant_detail(request: HttpRequest, grant: SupportGrant, actor: SupportActor) -> HttpResponse:
    organization = grant.organization
    context = _action_context(
        grant,
        oauth={
            "service": oauth_selectors.get_auth_service(organization),
            "apps": list(oauth_selectors.visible_apps(actor, organization).order_by("-created_at")[:50]),
        },
        billing={"service": _billing_service(organization)},
        owner_emails=selectors.owner_emails(organization),
    )
    _record_view(request, actor, "Support actions")
    return render_screen(request, "support/grant.html", context)


def _key_for(actor: SupportActor, organization: Organization, raw: str):
    """(key, error, status): the organization's live key with this id, or why not."""
    raw = (raw or "").strip()
    if not raw:
        return None, "", 200
    try:
        key_id = uuid.UUID(raw)
    except ValueError:
        shown = raw if len(raw) <= 40 else raw[:39] + "…"
        return None, f"An API key ID is a UUID such as 2f1c6a8e-4b7d-4f0e-9a51-0c3b5d7e9f12; got {shown!r}.", 400
    try:
        return key_selectors.get_key_for(actor, organization, key_id), "", 200
    except Http404:
        return None, f"{organization.name} has no live API key with ID {key_id}.", 404


@active_grant
@require_http_methods(["GET", "POST"])
def delete_key(request: HttpRequest, grant: SupportGrant, actor: SupportActor) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    key, error, status = _key_for(actor, grant.organization, source.get("key", ""))
    if key is not None and request.method == "POST":
        name = key.name
        services.support_api_key_delete(actor=actor, key=key)
        messages.success(
            request,
            f"Deleted API key “{name}” of {grant.organization.name} (ticket {grant.ticket}). "
            "It no longer authenticates.",
        )
        return redirect("support:grant", grant_id=grant.pk)
    if request.method == "GET" and key is not None:
        _record_view(request, actor, "Delete API key (confirmation)", str(key.pk))
    context = _action_context(
        grant,
        key=key,
        key_input=source.get("key", ""),
        error=error,
        authorizations=list(key.authorizations.all()) if key else [],
        status=key.status(clock.now()) if key else "",
    )
    return render_screen(request, "support/delete_key.html", context, status=status)


@active_grant
@require_http_methods(["GET", "POST"])
def rotate_oauth_secret(request: HttpRequest, grant: SupportGrant, actor: SupportActor, client_id) -> HttpResponse:
    app = oauth_selectors.get_app_for(actor, grant.organization, client_id)
    if request.method == "POST":
        services.support_oauth_app_rotate_secret(actor=actor, app=app)
        messages.success(
            request,
            f"Rotated the client secret of “{app}” (ticket {grant.ticket}). The old secret no longer works and "
            "nobody has seen the new one: the customer rotates it again in the portal to get a value.",
        )
        return redirect("support:grant", grant_id=grant.pk)
    _record_view(request, actor, "Rotate client secret (confirmation)", str(app.pk))
    return render_screen(request, "support/rotate_secret.html", _action_context(grant, app=app))


@active_grant
@require_http_methods(["GET", "POST"])
def auth_service(request: HttpRequest, grant: SupportGrant, actor: SupportActor) -> HttpResponse:
    organization = grant.organization
    service = oauth_selectors.get_auth_service(organization)
    if request.method == "POST":
        wanted = request.POST.get("enabled")
        if wanted not in {"true", "false"}:
            messages.error(request, f"enabled must be one of true, false; got {wanted!r}. Nothing was changed.")
            return redirect("support:auth_service", grant_id=grant.pk)
        enable = wanted == "true"
        if service.enabled == enable:
            messages.info(request, f"The auth service is already {'enabled' if enable else 'disabled'}.")
        else:
            services.support_auth_service_set_enabled(actor=actor, organization=organization, enabled=enable)
            messages.success(
                request,
                f"Auth service of {organization.name} {'enabled' if enable else 'disabled'} (ticket {grant.ticket}).",
            )
        return redirect("support:grant", grant_id=grant.pk)
    _record_view(request, actor, "Auth service (confirmation)")
    app_count = oauth_selectors.visible_apps(actor, organization).count()
    return render_screen(
        request, "support/auth_service.html", _action_context(grant, service=service, app_count=app_count)
    )


def _billing_service(organization: Organization):
    return selectors.billing_service_of(organization)


def _one_line(address) -> str:
    return format_address(address) if address else ""


@active_grant
@require_http_methods(["GET", "POST"])
def billing_address(request: HttpRequest, grant: SupportGrant, actor: SupportActor) -> HttpResponse:
    organization = grant.organization
    service = _billing_service(organization)
    current = service.address if service else None
    enabled = bool(service and service.enabled)
    form = BillingAddressForm(request.POST or None, initial={"address": _one_line(current)})
    proposed = None
    status = 200
    if request.method == "POST" and enabled and form.is_valid():
        try:
            proposed = clean_address(form.cleaned_data["address"])
        except ValidationError as error:
            form.add_error("address", error.message_dict.get("address", error.messages))
            status = 422
        else:
            if proposed == current:
                messages.info(request, "That is already the billing address; nothing was changed.")
                return redirect("support:grant", grant_id=grant.pk)
            if request.POST.get("confirm") == "yes":
                services.support_billing_address_update(
                    actor=actor, organization=organization, address=form.cleaned_data["address"]
                )
                messages.success(request, f"Billing address of {organization.name} updated (ticket {grant.ticket}).")
                return redirect("support:grant", grant_id=grant.pk)
    elif request.method == "POST":
        status = 422
    else:
        _record_view(request, actor, "Billing address (form)")
    context = _action_context(
        grant,
        form=form,
        current=current,
        proposed=proposed,
        enabled=enabled,
        has_service=service is not None,
        owner_emails=[] if enabled else selectors.owner_emails(organization),
    )
    return render_screen(request, "support/billing_address.html", context, status=status)


# ---- the customer's side: who from support looked, and what they did -------------------------------


def _customer_organization(request: HttpRequest, org_id) -> Organization:
    organization = get_organization_for(request.user, org_id)
    authz.require(request.user, "support.view_access", organization)
    return organization


@support_visible("Support access")
@login_required
@require_GET
def access_log(request: HttpRequest, org_id) -> HttpResponse:
    organization = _customer_organization(request, org_id)
    try:
        before = int(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before = None
    page = selectors.access_sessions(organization, before=before)
    context = {
        "organization": organization,
        "nav_section": "support_access",
        "page": page,
        "active": selectors.active_grants_on(organization) if before is None else [],
        "can_end": authz.can(request.user, "support.end_access", organization),
        "first_page": before is None,
    }
    return render_screen(request, "support/access_log.html", context)


@support_visible("End support access")
@login_required
@require_POST
def access_end(request: HttpRequest, org_id, grant_id) -> HttpResponse:
    organization = _customer_organization(request, org_id)
    authz.require(request.user, "support.end_access", organization)
    grant = selectors.get_grant_on(organization, grant_id)
    was_active = grant.is_active(clock.now())
    services.support_grant_end(actor=request.user, grant=grant)
    if was_active:
        messages.success(request, f"Ended {grant.staff.email}'s support access for ticket {grant.ticket}.")
    return redirect("support_access:list", org_id=organization.pk)
