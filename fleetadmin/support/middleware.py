"""Ticket-scoped access on the customer's own pages, with no change to those pages' views.

For a request to a customer page (any portal URL with an ``org_id``) by a support
engineer who is not a member of that organization:

* with an active grant there, ``request.user`` becomes a ``SupportActor`` (read-only
  in ``fleet.authz``, recorded as support), the grant's ticket is bound for every
  audit event of the request, and a successful GET records ``support.access.view``
  (at most once per grant, page and minute);
* with only an ended or expired grant there, the engineer is sent back to the console;
* with none, nothing changes: the customer's views answer 404 as to any outsider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

from fleetadmin import clock
from fleetadmin.audit.context import bind_request_context, current_request_context
from fleetadmin.fleet import authz
from fleetadmin.support import services
from fleetadmin.support.access import SupportActor, latest_grant
from fleetadmin.support.models import SupportGrant
from fleetadmin.support.selectors import page_label

# URL namespaces that are not customer pages: the console itself, and the JSON API (support works in the browser).
EXCLUDED_NAMESPACES = frozenset({"support", "api"})


def _customer_org_id(request: HttpRequest):
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return None, None
    org_id = match.kwargs.get("org_id")
    if org_id is None or EXCLUDED_NAMESPACES.intersection(match.namespaces):
        return None, None
    return org_id, match


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


def contextual_actions(grant: SupportGrant, match) -> list[tuple[str, str]]:
    """Support actions that fit the page being viewed, for the banner: (label, url)."""
    kwargs = match.kwargs
    try:
        if match.view_name == "keys:detail":
            url = reverse("support:delete_key", args=[grant.pk])
            return [("Delete this key…", f"{url}?key={kwargs['key_id']}")]
        if match.view_name == "oauth:app_detail":
            url = reverse("support:rotate_oauth_secret", args=[grant.pk, kwargs["client_id"]])
            return [("Rotate its secret…", url)]
        if match.view_name == "oauth:service":
            return [("Enable or disable…", reverse("support:auth_service", args=[grant.pk]))]
        if match.view_name == "billing:service":
            return [("Update the address…", reverse("support:billing_address", args=[grant.pk]))]
    except NoReverseMatch:
        return []
    return []


class SupportAccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        org_id, match = _customer_org_id(request)
        if org_id is None:
            return self.get_response(request)
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
        request.support_actions = contextual_actions(grant, match)
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
                    page=page_label(match.view_name),
                    query=request.META.get("QUERY_STRING", ""),
                    object_id=next((str(v) for k, v in match.kwargs.items() if k != "org_id"), ""),
                )
        return response
