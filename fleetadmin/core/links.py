"""Absolute links for mail and command output: PORTAL_BASE_URL when set, else the address of the request."""

from __future__ import annotations

from django.conf import settings

LOCAL_BASE_URL = "http://127.0.0.1:8000"


def portal_base_url(request=None) -> str:
    if settings.PORTAL_BASE_URL:
        return settings.PORTAL_BASE_URL
    if request is not None:
        return request.build_absolute_uri("/").rstrip("/")
    return LOCAL_BASE_URL


def absolute_url(base_url: str, path: str) -> str:
    return f"{base_url.rstrip('/')}/{path.lstrip('/')}"
