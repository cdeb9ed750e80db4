"""Screens of the auth service: its state, branding, sign-in preview and OAuth applications.

Owners change everything (``oauth.manage``); operators read (``oauth.view``: no
controls, no secrets); anyone outside the organization gets a 404.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotModified
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.http import quote_etag
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from fleetadmin.core.support_pages import support_visible
from fleetadmin.core.web import render_screen, typed_confirmation, wants_partial
from fleetadmin.fleet import authz
from fleetadmin.fleet import selectors as fleet_selectors
from fleetadmin.fleet.models import Organization
from fleetadmin.oauth import selectors, services, validation
from fleetadmin.oauth.forms import (
    GRANT_DESCRIPTIONS,
    RELATED_FIELDS,
    AppCreateForm,
    AppForm,
    LogoForm,
    SupportEmailForm,
)
from fleetadmin.oauth.models import ClientAuthentication, Grant, OAuthApplication, Pkce, UrlValidation
from fleetadmin.oauth.services import IssuedClient

SERVICE = "oauth/service.html"
APP_LIST = "oauth/app_list.html"
APP_FORM = "oauth/app_form.html"
APP_DETAIL = "oauth/app_detail.html"
APP_SECRET = "oauth/app_secret.html"  # noqa: S105 -- a template name
FIELD_FEEDBACK = "oauth/_field_feedback.html"
MESSAGES = "includes/messages.html"
NEW_APP_DEFAULTS = {
    "client_authentication": ClientAuthentication.REQUIRED,
    "pkce": Pkce.REQUIRED,
    "url_validation": UrlValidation.EXACT_MATCH,
    "enabled_grants": [Grant.AUTHORIZATION_CODE, Grant.REFRESH_TOKEN],
}


# ---- helpers ---------------------------------------------------------------------------------------


def _organization(request: HttpRequest, org_id, permission: str = "oauth.view") -> Organization:
    """The organization (404 unless the user sees it), then 403 unless they hold ``permission`` there."""
    organization = fleet_selectors.get_organization_for(request.user, org_id)
    authz.require(request.user, permission, organization)
    return organization


def _app(request: HttpRequest, org_id, client_id, permission: str = "oauth.view"):
    organization = _organization(request, org_id, permission)
    return organization, selectors.get_app_for(request.user, organization, client_id)


def _messages_for(error: ValidationError, field: str) -> list[str]:
    return error.message_dict.get(field, error.messages) if hasattr(error, "error_dict") else error.messages


def _no_store(response: HttpResponse) -> HttpResponse:
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
    return response


# ---- the auth service page -------------------------------------------------------------------------


def _service_context(request: HttpRequest, organization: Organization, **forms: Any) -> dict[str, Any]:
    service = selectors.get_auth_service(organization)
    return {
        "organization": organization,
        "nav_section": "auth",
        "service": service,
        "can_manage": authz.can(request.user, "oauth.manage", organization),
        "app_count": selectors.visible_apps(request.user, organization).count(),
        "logo_form": forms.get("logo_form") or LogoForm(),
        "email_form": forms.get("email_form") or SupportEmailForm(initial={"support_email": service.support_email}),
        "history": selectors.service_timeline(request.user, organization, service),
        "logo_url": request.build_absolute_uri(reverse("oauth:logo", args=[organization.pk])),
    }


def _service_region(
    request: HttpRequest, organization: Organization, partial: str, *, status: int = 200, **forms
) -> HttpResponse:
    """htmx: the changed card, with the flash messages and the history out of band. Otherwise: the page."""
    if status == 200 and not wants_partial(request):
        return redirect("oauth:service", org_id=organization.pk)
    context = _service_context(request, organization, **forms)
    # A refusal clears stale flash messages; a success also refreshes the history.
    oob = (MESSAGES, f"{SERVICE}#history") if status == 200 else (MESSAGES,)
    return render_screen(request, SERVICE, context, partial=partial, oob=oob, status=status)


@support_visible("Auth service", actions=("support.toggle_auth_service",))
@login_required
@require_GET
def service(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id)
    return render_screen(request, SERVICE, _service_context(request, organization))


@support_visible("Enable the auth service")
@login_required
@require_POST
def service_enable(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id, "oauth.manage")
    services.auth_service_enable(actor=request.user, organization=organization)
    messages.success(request, f"Auth service enabled: the end users of {organization.name} can sign in.")
    return _service_region(request, organization, "state")


@support_visible("Disable the auth service")
@login_required
@require_http_methods(["GET", "POST"])
def service_disable(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id, "oauth.manage")
    service = selectors.get_auth_service(organization)
    if not service.enabled:
        messages.info(request, "The auth service is already disabled.")
        return redirect("oauth:service", org_id=organization.pk)

    def disable() -> HttpResponse:
        services.auth_service_disable(actor=request.user, organization=organization)
        messages.success(request, "Auth service disabled. Its configuration is kept; enable it to restore sign-in.")
        return redirect("oauth:service", org_id=organization.pk)

    def context() -> dict:
        return {
            "organization": organization,
            "nav_section": "auth",
            "app_count": selectors.visible_apps(request.user, organization).count(),
            "service": service,
        }

    return typed_confirmation(
        request, word="disable", template="oauth/service_disable.html", context=context, act=disable
    )


@support_visible("Upload the sign-in logo")
@login_required
@require_POST
def logo_upload(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id, "oauth.manage")
    form = LogoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.logo_set(actor=request.user, organization=organization, data=form.cleaned_data["logo"])
        except ValidationError as error:
            form.add_error("logo", _messages_for(error, "logo"))
        else:
            messages.success(request, "Logo uploaded. It appears on the sign-in page.")
            return _service_region(request, organization, "branding")
    return _service_region(request, organization, "branding", status=422, logo_form=form)


@support_visible("Remove the sign-in logo")
@login_required
@require_POST
def logo_remove(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id, "oauth.manage")
    services.logo_remove(actor=request.user, organization=organization)
    messages.success(request, "Logo removed. The sign-in page shows the organization's name instead.")
    return _service_region(request, organization, "branding")


@support_visible("Support email")
@login_required
@require_POST
def support_email(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id, "oauth.manage")
    form = SupportEmailForm(request.POST)
    if form.is_valid():
        try:
            services.support_email_set(
                actor=request.user, organization=organization, email=form.cleaned_data["support_email"]
            )
        except ValidationError as error:
            form.add_error("support_email", _messages_for(error, "support_email"))
        else:
            messages.success(request, "Support email saved.")
            return _service_region(request, organization, "support-email")
    return _service_region(request, organization, "support-email", status=422, email_form=form)


@support_visible("Sign-in logo")
@login_required
@require_GET
def logo(request: HttpRequest, org_id) -> HttpResponse:
    """The logo at a stable URL. Anyone who sees the organization may fetch it (it is shown to end users)."""
    organization = fleet_selectors.get_organization_for(request.user, org_id)
    stored = selectors.get_logo(organization)
    if stored is None:
        response = HttpResponse("This organization has no logo.", status=404, content_type="text/plain")
        response["Cache-Control"] = "private, no-cache"
        return response
    etag = quote_etag(stored.sha256)
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(stored.data, content_type="image/png")
        response["Content-Length"] = str(len(stored.data))
        response["Content-Disposition"] = 'inline; filename="logo.png"'
    response["ETag"] = etag
    # A ?v= matching the content names this exact logo: cache it for good. Without it, revalidate each time.
    version = request.GET.get("v", "")
    versioned = len(version) >= 8 and stored.sha256.startswith(version)
    response["Cache-Control"] = "private, max-age=31536000, immutable" if versioned else "private, no-cache"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@support_visible("Sign-in preview")
@login_required
@require_GET
def signin_preview(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id)
    context = {
        "brand": organization,
        "service": selectors.get_auth_service(organization),
        "back_url": reverse("oauth:service", args=[organization.pk]),
    }
    return render_screen(request, "oauth/signin_preview.html", context)


# ---- OAuth applications ----------------------------------------------------------------------------


@support_visible("OAuth applications")
@login_required
@require_GET
def app_list(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id)
    apps = list(selectors.visible_apps(request.user, organization).order_by("-created_at", "-pk"))
    context = {
        "organization": organization,
        "nav_section": "auth",
        "apps": apps,
        "can_manage": authz.can(request.user, "oauth.manage", organization),
        "service": selectors.get_auth_service(organization),
    }
    return render_screen(request, APP_LIST, context)


def _form_context(organization: Organization, form: AppForm, *, app: OAuthApplication | None = None) -> dict:
    return {
        "organization": organization,
        "nav_section": "auth",
        "form": form,
        "app": app,
        "grant_descriptions": GRANT_DESCRIPTIONS,
        "action_url": (
            reverse("oauth:app_edit", args=[organization.pk, app.pk])
            if app
            else reverse("oauth:app_create", args=[organization.pk])
        ),
        "cancel_url": (
            reverse("oauth:app_detail", args=[organization.pk, app.pk])
            if app
            else reverse("oauth:apps", args=[organization.pk])
        ),
    }


def _validate_url(organization: Organization) -> str:
    return reverse("oauth:app_validate", args=[organization.pk])


def _show_once(
    request: HttpRequest, organization: Organization, issued: IssuedClient, *, rotated: bool
) -> HttpResponse:
    """The one response that ever carries a client secret. Never cached, never stored, never redirected to."""
    context = {
        "organization": organization,
        "nav_section": "auth",
        "issued": issued,
        "rotated": rotated,
        "heading": "Client secret rotated" if rotated else "OAuth application created",
    }
    response = render_screen(request, APP_SECRET, context, partial="secret-panel")
    if wants_partial(request):
        response = reswap(retarget(response, "#app-screen"), "outerHTML show:window:top")
    return _no_store(response)


@support_visible("Create an OAuth application")
@login_required
@require_http_methods(["GET", "POST"])
def app_create(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id, "oauth.manage")
    validate_url = _validate_url(organization)
    if request.method == "POST":
        form = AppCreateForm(request.POST, validate_url=validate_url)
        if form.is_valid():
            try:
                issued = services.oauth_app_create(
                    actor=request.user,
                    organization=organization,
                    **form.config.as_dict(),
                    creation_token=form.cleaned_data["form_token"] or None,
                )
            except services.DuplicateSubmission as duplicate:
                messages.info(
                    request,
                    "This form was already submitted; the application was created then. "
                    "Its client secret is shown only once; rotate it if it was lost.",
                )
                url = reverse("oauth:app_detail", args=[organization.pk, duplicate.created.pk])
                return HttpResponseClientRedirect(url) if wants_partial(request) else redirect(url)
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                return _show_once(request, organization, issued, rotated=False)
        status = 422
    else:
        form = AppCreateForm(
            initial={**NEW_APP_DEFAULTS, "form_token": secrets.token_urlsafe(24)}, validate_url=validate_url
        )
        status = 200
    return render_screen(request, APP_FORM, _form_context(organization, form), partial="app-form", status=status)


@support_visible("Check an OAuth application")
@login_required
@require_POST
def app_validate(request: HttpRequest, org_id) -> HttpResponse:
    """Inline validation as the admin leaves a field: the feedback of that field (and of fields it affects).

    Answers htmx only; each region is swapped out of band, so the field being typed in is never replaced.
    """
    _organization(request, org_id, "oauth.manage")
    if not wants_partial(request):
        return HttpResponseBadRequest("This endpoint answers htmx requests from the application form.")
    form = AppForm(request.POST)
    form.is_valid()
    name = request.htmx.trigger_name or ""
    if name in form.fields:
        names = [name, *(other for other in RELATED_FIELDS.get(name, ()) if request.POST.get(other, "").strip())]
    else:  # no field named: report on every field that has a value
        names = [other for other in form.fields if request.POST.getlist(other)]
    html = "".join(render_to_string(FIELD_FEEDBACK, {**form.feedback(n), "oob": True}, request) for n in names)
    response = HttpResponse(html)
    patch_vary_headers(response, ("HX-Request",))
    response["Cache-Control"] = "no-store"
    return response


@support_visible("OAuth application", actions=("support.rotate_oauth_secret",))
@login_required
@require_GET
def app_detail(request: HttpRequest, org_id, client_id) -> HttpResponse:
    organization, app = _app(request, org_id, client_id)
    context = {
        "organization": organization,
        "nav_section": "auth",
        "app": app,
        "warnings": validation.grant_warnings(app.enabled_grants),
        "history": selectors.app_timeline(request.user, organization, app),
        "can_manage": authz.can(request.user, "oauth.manage", organization),
    }
    return render_screen(request, APP_DETAIL, context)


@support_visible("Edit an OAuth application")
@login_required
@require_http_methods(["GET", "POST"])
def app_edit(request: HttpRequest, org_id, client_id) -> HttpResponse:
    organization, app = _app(request, org_id, client_id, "oauth.manage")
    validate_url = _validate_url(organization)
    if request.method == "POST":
        form = AppForm(request.POST, initial=AppForm.initial_for(app), validate_url=validate_url)
        if form.is_valid():
            changed = set(form.changed_data)
            last_saved = app.updated_at
            try:
                app = services.oauth_app_update(
                    actor=request.user,
                    app=app,
                    # Only what the admin changed: a field left as it was stays exactly as stored.
                    **{name: value for name, value in form.config.as_dict().items() if name in changed},
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                saved = app.updated_at != last_saved
                messages.success(
                    request, f"Saved “{app.display_name}”." if saved else "Nothing changed; nothing was saved."
                )
                url = reverse("oauth:app_detail", args=[organization.pk, app.pk])
                return HttpResponseClientRedirect(url) if wants_partial(request) else redirect(url)
        status = 422
    else:
        form = AppForm(initial=AppForm.initial_for(app), validate_url=validate_url)
        status = 200
    context = _form_context(organization, form, app=app)
    return render_screen(request, APP_FORM, context, partial="app-form", status=status)


@support_visible("Rotate an OAuth client secret")
@login_required
@require_http_methods(["GET", "POST"])
def app_rotate(request: HttpRequest, org_id, client_id) -> HttpResponse:
    organization, app = _app(request, org_id, client_id, "oauth.manage")
    if request.method == "POST":
        issued = services.oauth_app_rotate_secret(actor=request.user, app=app)
        return _show_once(request, organization, issued, rotated=True)
    context = {"organization": organization, "nav_section": "auth", "app": app}
    return render_screen(request, "oauth/app_rotate.html", context)


@support_visible("Delete an OAuth application")
@login_required
@require_http_methods(["GET", "POST"])
def app_delete(request: HttpRequest, org_id, client_id) -> HttpResponse:
    organization, app = _app(request, org_id, client_id, "oauth.manage")

    def delete() -> HttpResponse:
        name = app.display_name
        services.oauth_app_delete(actor=request.user, app=app)
        messages.success(request, f"Deleted OAuth application “{name}”. Its client ID and secret no longer work.")
        return redirect("oauth:apps", org_id=organization.pk)

    def context() -> dict:
        return {"organization": organization, "nav_section": "auth", "app": app}

    return typed_confirmation(request, word="delete", template="oauth/app_delete.html", context=context, act=delete)
