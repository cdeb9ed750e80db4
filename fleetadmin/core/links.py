"""Absolute links for mail and command output: PORTAL_BASE_URL when set, else the address of the request."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.conf import settings
from django.urls import reverse

LOCAL_BASE_URL = "http://127.0.0.1:8000"


def portal_base_url(request=None) -> str:
    if settings.PORTAL_BASE_URL:
        return settings.PORTAL_BASE_URL
    if request is not None:
        return request.build_absolute_uri("/").rstrip("/")
    return LOCAL_BASE_URL


def absolute_url(base_url: str, path: str) -> str:
    return f"{base_url.rstrip('/')}/{path.lstrip('/')}"


# Stand-ins that no real id equals, one per position, for reversing a URL once and filling it in per row.
_PLACEHOLDER_UUIDS = [uuid.UUID(f"00000000-0000-4000-8000-00000000f0{i:02x}") for i in range(4)]
_PLACEHOLDER_INTS = [987654321980 + i for i in range(4)]


def url_maker(name: str, *fixed, ids: tuple[type, ...] = (uuid.UUID,)) -> Callable[..., str]:
    """A function of ``len(ids)`` ids (each a UUID or an int, as ``ids`` says) that answers
    ``reverse(name, args=[*fixed, *those ids])``: the URL is reversed once, here, and each call only
    puts the ids in. For lists, where a reverse per row was a good part of a page's time."""
    placeholders = [
        str((_PLACEHOLDER_UUIDS if kind is uuid.UUID else _PLACEHOLDER_INTS)[position])
        for position, kind in enumerate(ids)
    ]
    pattern = reverse(name, args=[*fixed, *placeholders])
    if len(placeholders) == 1:
        prefix, _, suffix = pattern.partition(placeholders[0])
        return lambda value: f"{prefix}{value}{suffix}"

    def url(*values) -> str:
        text = pattern
        for placeholder, value in zip(placeholders, values, strict=True):
            text = text.replace(placeholder, str(value))
        return text

    return url
