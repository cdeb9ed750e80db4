"""The portal's End users page, under Auth service: search, keyset pages, invite, and per-user actions.

Owners act (``oauth.manage``); operators read; anyone outside the organization gets a 404.
Each action calls one service in ``fleetadmin.idp.services``, which audits it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from fleetadmin.core.support_pages import support_visible
from fleetadmin.core.web import render_screen, typed_confirmation
from fleetadmin.fleet import authz
from fleetadmin.fleet import selectors as fleet_selectors
from fleetadmin.idp import selectors, services

ACTIONS = {
    "disable": (services.end_user_disable, "{email} is disabled; their sessions and tokens are revoked."),
    "enable": (services.end_user_enable, "{email} can sign in again."),
    "delete": (services.end_user_delete, "{email} is deleted."),
    "sign-out": (services.end_user_sign_out_everywhere, "{email} is signed out everywhere; their tokens are revoked."),
    "revoke-invitation": (services.end_user_revoke_invitation, "The invitation of {email} is revoked."),
}


def _organization(request, org_id, permission="oauth.view"):
    organization = fleet_selectors.get_organization_for(request.user, org_id)
    authz.require(request.user, permission, organization)
    return organization


def _base_url(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


@support_visible("End users")
@login_required
@require_http_methods(["GET", "POST"])
def end_users(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id)
    can_manage = authz.can(request.user, "oauth.manage", organization)
    invite_errors: list[str] = []
    status = 200
    if request.method == "POST":
        organization = _organization(request, org_id, "oauth.manage")
        email = request.POST.get("email", "")
        try:
            services.end_user_invite(
                actor=request.user,
                organization=organization,
                email=email,
                name=request.POST.get("name", ""),
                base_url=_base_url(request),
            )
        except ValidationError as error:
            invite_errors = [m for ms in error.message_dict.values() for m in ms]
            status = 422
        else:
            messages.success(request, f"Invitation sent to {email.strip().lower()}.")
            return redirect("idp_admin:end_users", org_id=organization.pk)
    query = request.GET.get("q", "")
    page = selectors.end_user_page(request.user, organization, query=query, after=request.GET.get("after", ""))
    context = {
        "organization": organization,
        "nav_section": "auth",
        "page": page,
        "query": query,
        "can_manage": can_manage,
        "invite_errors": invite_errors,
        "invite_email": request.POST.get("email", "") if invite_errors else "",
    }
    response = render_screen(request, "idp/end_users.html", context)
    response.status_code = status
    return response


# Actions that ask for the typed word first (a confirmation page, no JavaScript needed): word, consequence.
CONFIRMED = {
    "disable": (
        "disable",
        "They are signed out everywhere, every token issued to them stops working, and sign-in is refused "
        "until you enable them again.",
    ),
    "delete": (
        "delete",
        "Their account, sessions and tokens are removed; they can no longer sign in to any application of "
        "the organization. This cannot be undone; the audit log keeps a record.",
    ),
}


@support_visible("Change an end user")
@login_required
@require_http_methods(["GET", "POST"])
def end_user_action(request: HttpRequest, org_id, end_user_id, action: str) -> HttpResponse:
    """Every per-end-user action: one audited service each; disable and delete after a typed confirmation."""
    if action not in ACTIONS and action != "resend-invitation":
        return HttpResponse(status=404)
    if request.method == "GET" and action not in CONFIRMED:
        return HttpResponse(status=405, headers={"Allow": "POST"})
    organization = _organization(request, org_id, "oauth.manage")
    user = selectors.get_end_user_for(request.user, organization, end_user_id)
    back = reverse("idp_admin:end_users", args=[organization.pk]) + "?" + urlencode({"q": user.email})

    def act() -> HttpResponse:
        try:
            if action == "resend-invitation":
                services.end_user_resend_invitation(actor=request.user, user=user, base_url=_base_url(request))
                messages.success(request, f"Invitation sent again to {user.email}.")
            else:
                service, message = ACTIONS[action]
                service(actor=request.user, user=user)
                messages.success(request, message.format(email=user.email))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect(back)

    if action not in CONFIRMED:
        return act()
    word, consequence = CONFIRMED[action]

    def context() -> dict:
        return {
            "organization": organization,
            "nav_section": "auth",
            "end_user": user,
            "action": action,
            "word": word,
            "consequence": consequence,
            "back": back,
        }

    return typed_confirmation(request, word=word, template="idp/end_user_confirm.html", context=context, act=act)
