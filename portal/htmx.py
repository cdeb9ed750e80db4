"""Full page or partial: the one decision every screen makes the same way."""

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers


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
