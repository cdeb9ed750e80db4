"""End-user browser sessions: their own cookie, scoped to one issuer's path, never the portal's session.

The cookie ``fa_enduser`` is set with ``Path=/oidc/<org-id>/``, so a browser holds at most
one end-user session per organization and sends it only to that organization's pages.
The portal's session cookie and ``request.user`` are never read or written here.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from fleetadmin import clock
from fleetadmin.fleet.models import Organization
from fleetadmin.idp.models import EndUser, EndUserSession


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def cookie_path(organization: Organization) -> str:
    return f"/oidc/{organization.pk}/"


def current_end_user(request: HttpRequest, organization: Organization) -> EndUser | None:
    key = request.COOKIES.get(settings.END_USER_SESSION_COOKIE)
    if not key or len(key) > 100:
        return None
    session = (
        EndUserSession.objects.select_related("end_user")
        .filter(
            key_hash=_hash(key),
            end_user__organization=organization,
            end_user__is_disabled=False,
            expires_at__gt=clock.now(),
        )
        .first()
    )
    return session.end_user if session else None


def sign_in(response: HttpResponse, end_user: EndUser) -> None:
    key = secrets.token_urlsafe(32)
    now = clock.now()
    lifetime = timedelta(days=settings.END_USER_SESSION_DAYS)
    EndUserSession.objects.create(key_hash=_hash(key), end_user=end_user, created_at=now, expires_at=now + lifetime)
    response.set_cookie(
        settings.END_USER_SESSION_COOKIE,
        key,
        max_age=int(lifetime.total_seconds()),
        path=cookie_path(end_user.organization),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def sign_out(request: HttpRequest, response: HttpResponse, organization: Organization) -> None:
    key = request.COOKIES.get(settings.END_USER_SESSION_COOKIE)
    if key:
        EndUserSession.objects.filter(key_hash=_hash(key)).delete()
    response.delete_cookie(settings.END_USER_SESSION_COOKIE, path=cookie_path(organization), samesite="Lax")
