"""Per-request account rules: session bookkeeping and where a second factor is required."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from fleetadmin.accounts import sessions

SUPPORT_NEEDS_2FA = "Support staff need two-factor sign-in to open the support console. Set it up to continue."
ORG_NEEDS_2FA = "{org} requires two-factor sign-in. Set it up to open the organization."


def _unverified(user) -> bool:
    is_verified = getattr(user, "is_verified", None)
    return not (is_verified and is_verified())


class AccountSecurityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            sessions.touch(request)
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not _unverified(user):
            return None
        if request.path.startswith("/support/") and settings.SUPPORT_REQUIRE_TWO_FACTOR and user.is_support:
            return self._to_setup(request, SUPPORT_NEEDS_2FA)
        org_id = view_kwargs.get("org_id")
        if org_id is None:
            return None
        from fleetadmin.fleet.authz import grants_for
        from fleetadmin.fleet.models import Organization

        # The grants are loaded once per request and reused by the view's own authorization.
        if not any(str(g.organization_id) == str(org_id) and g.requires_two_factor for g in grants_for(user)):
            return None
        name = Organization.objects.filter(pk=org_id).values_list("name", flat=True).first()
        message = ORG_NEEDS_2FA.format(org=name)
        if request.path.startswith("/api/"):
            body = {"error": {"code": "two_factor_required", "message": message}}
            return JsonResponse(body, status=403)
        return self._to_setup(request, message)

    def _to_setup(self, request: HttpRequest, message: str) -> HttpResponse:
        messages.warning(request, message)
        target = f"{reverse('accounts:two_factor')}?{urlencode({'next': request.get_full_path()})}"
        if getattr(request, "htmx", None):
            return HttpResponseClientRedirect(target)
        return redirect(target)
