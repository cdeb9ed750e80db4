"""Ticket-scoped access on the customer's own pages, with no change to those pages' views.

For a request to a page that its view declares ``support_visible`` (``fleetadmin.core.support_pages``)
by a support engineer who is not a member of that organization:

* with an active grant there, ``request.user`` becomes a ``SupportActor`` (read-only
  in ``fleet.authz``, recorded as support), the grant's ticket is bound for every
  audit event of the request, and a successful GET records ``support.access.view``
  under the view's declared label (at most once per grant, page and minute);
* with only an ended or expired grant there, the engineer is sent back to the console;
* with none, nothing changes: the customer's views answer 404 as to any outsider.

On any other page (declared ``support_hidden``, or not declared) support staff are outsiders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, ResolverMatch, resolve, reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

from fleetadmin import clock
from fleetadmin.audit.context import bind_request_context, current_request_context
from fleetadmin.core.support_pages import SupportVisibility, support_visibility
from fleetadmin.fleet import authz
from fleetadmin.support import services
from fleetadmin.support.access import SupportActor, latest_grant
from fleetadmin.support.models import SupportGrant


def _support_visible_page(request: HttpRequest) -> tuple[ResolverMatch, SupportVisibility] | tuple[None, None]:
    """The resolved page and its declaration, when it is an organization's page declared visible to support."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return None, None
    visibility = support_visibility(match.func)
    if not visibility.visible or match.kwargs.get("org_id") is None:
        return None, None
    return match, visibility


def _sent_back(request: HttpRequest, grant: SupportGrant) -> HttpResponse:
    when = timezone.localtime(grant.ended_or_expired_at())
    verb = "ended" if grant.ended_at else "expired"
    messages.warning(
        request,
        f"Your support access to {grant.organization.name} for ticket {grant.ticket} {verb} at "
        f"{when:%H:%M} {when.tzname()}. Open it again with a ticket to continue.",
    )
    console = reverse("support:console")
    if request.headers.get("HX-Request") == "true":
        return HttpResponseClientRedirect(console)
    return redirect(console)


# The support actions a page may offer in the banner (``support_visible(..., actions=...)``), by the
# permission that allows them: (label, the action's URL from the grant and the page's URL kwargs).
SUPPORT_ACTIONS: dict[str, tuple[str, Callable[[SupportGrant, dict], str]]] = {
    "support.delete_key": (
        "Delete this key…",
        lambda grant, kwargs: f"{reverse('support:delete_key', args=[grant.pk])}?key={kwargs['key_id']}",
    ),
    "support.rotate_oauth_secret": (
        "Rotate its secret…",
        lambda grant, kwargs: reverse("support:rotate_oauth_secret", args=[grant.pk, kwargs["client_id"]]),
    ),
    "support.toggle_auth_service": (
        "Enable or disable…",
        lambda grant, kwargs: reverse("support:auth_service", args=[grant.pk]),
    ),
    "support.update_billing_address": (
        "Update the address…",
        lambda grant, kwargs: reverse("support:billing_address", args=[grant.pk]),
    ),
}


def contextual_actions(
    grant: SupportGrant, match: ResolverMatch, visibility: SupportVisibility
) -> list[tuple[str, str]]:
    """Support actions that the page declares, for the banner: (label, url)."""
    actions = []
    for permission in visibility.actions:
        label, url = SUPPORT_ACTIONS[permission]
        actions.append((label, url(grant, match.kwargs)))
    return actions


class SupportAccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match, visibility = _support_visible_page(request)
        if match is None:
            return self.get_response(request)
        org_id = match.kwargs["org_id"]
        user = request.user
        if not authz.is_support_staff(user):
            return self.get_response(request)
        if any(grant.organization_id == org_id for grant in authz.grants_for(user)):
            return self.get_response(request)  # a member there: their own role applies, not support access
        grant = latest_grant(user, org_id)
        if grant is None:
            return self.get_response(request)  # the customer's views answer 404, as to any outsider
        if not grant.is_active(clock.now()):
            return _sent_back(request, grant)
        actor = SupportActor(user, grant)
        request.user = actor
        request.support_grant = grant
        request.support_actions = contextual_actions(grant, match, visibility)
        with bind_request_context(replace(current_request_context(), ticket=grant.ticket)):
            try:
                response = self.get_response(request)
            finally:
                request.user = user  # the actor reads the customer's page only; outer middleware sees the user
            if (
                request.method == "GET"
                and 200 <= response.status_code < 300
                and not response.get("Content-Type", "").startswith("image/")
            ):
                services.support_page_view_record(
                    actor=actor,
                    path=request.path,
                    page=visibility.label,
                    query=request.META.get("QUERY_STRING", ""),
                    object_id=next((str(v) for k, v in match.kwargs.items() if k != "org_id"), ""),
                )
        return response
