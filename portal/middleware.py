"""Request-wide middleware: request ids and security headers."""

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from fleetadmin.audit.context import RequestContext, bind_request_context
from fleetadmin.core.web import client_ip
from portal.input_boundary import clean_header_text

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Gives every request an id, returns it as X-Request-ID and exposes it to audit.record().

    A well-formed incoming X-Request-ID (from a load balancer) is kept so that
    one id follows a request across systems; anything else is replaced.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        context = RequestContext(
            request_id=request_id,
            ip=client_ip(request),
            user_agent=clean_header_text(request.headers.get("User-Agent", ""))[:400],
        )
        with bind_request_context(context):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class ContentSecurityPolicyMiddleware:
    """Adds the Content-Security-Policy header (Django 5.2 has no built-in CSP)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


class PortalNotFoundMiddleware:
    """With DEBUG on, an in-app miss (a view raising Http404: a deleted key, an old link) still gets the
    portal's own 404 page, not Django's debug page with the URL list. Unrouted URLs keep the debug page,
    which is what a developer wants; with DEBUG off Django renders templates/404.html itself.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.http import Http404
        from django.shortcuts import render

        if settings.DEBUG and isinstance(exception, Http404):
            return render(request, "404.html", status=404)
        return None
