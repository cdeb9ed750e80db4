"""Web helpers every screen shares: full page or partial, and the typed-confirmation flow."""

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers

from fleetadmin.core.forms import ConfirmForm


def client_ip(request: HttpRequest) -> str | None:
    """The peer address, or the Nth-from-last X-Forwarded-For entry behind N trusted proxies (TRUSTED_PROXY_COUNT)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def wants_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_screen(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partial: str | None = None,
    oob: Iterable[str] = (),
    status: int = 200,
) -> HttpResponse:
    """Render the whole screen, or for htmx requests the named partial of the same template.

    ``oob`` names further partials ("template.html#name") appended for an
    out-of-band swap; they render with ``oob=True`` so they carry ``hx-swap-oob``.
    """
    if partial and wants_partial(request):
        html = render_to_string(f"{template}#{partial}", context, request)
        for name in oob:
            html += render_to_string(name, {**context, "oob": True}, request)
        response = HttpResponse(html, status=status)
    else:
        response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def typed_confirmation(
    request: HttpRequest,
    *,
    word: str,
    template: str,
    context: Callable[[], dict[str, Any]],
    act: Callable[[], HttpResponse],
) -> HttpResponse:
    """The screen that asks the user to type ``word`` before a dangerous action (disable, delete).

    On a POST whose confirmation matches, ``act()`` makes the change and answers; otherwise the
    screen is shown (422 after a refused POST) with the form's message saying what to type.
    """
    form = ConfirmForm(request.POST if request.method == "POST" else None, word=word)
    if request.method == "POST" and form.is_valid():
        return act()
    status = 422 if request.method == "POST" else 200
    return render_screen(request, template, {**context(), "form": form}, status=status)
