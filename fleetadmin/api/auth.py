"""Who is calling the JSON API: an API key (Authorization header) or a signed-in browser session."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import APIKeyCookie, APIKeyHeader

from fleetadmin.keys.auth import SCHEME, authenticate_request


class ApiKeyAuth(APIKeyHeader):
    """``Authorization: ApiKey <key-id>:<key-value>``. A bad key is a 401 that says why (never a fallthrough)."""

    param_name = "Authorization"
    openapi_description = f"Send `Authorization: {SCHEME} <key-id>:<key-value>`."

    def authenticate(self, request: HttpRequest, key: str | None):
        if not key:
            return None  # no header: let the session be tried
        actor = authenticate_request(request)  # raises AuthenticationFailed with the reason
        request.actor = actor
        return actor


class SessionAuth(APIKeyCookie):
    """The portal's own session cookie; unsafe methods need the CSRF token (X-CSRFToken)."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            request.actor = user
            return user
        return None


API_AUTH = [ApiKeyAuth(), SessionAuth()]
