"""Every API error is JSON: {"error": {"code": ..., "message": ..., "fields": {...}}}. Never a 500 for bad input."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from fleetadmin.core.errors import field_messages, validation_message
from fleetadmin.keys.auth import HEADER_HELP, AuthenticationFailed


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _field_name(loc) -> str:
    parts = [str(p) for p in loc if p not in {"body", "query", "path", "payload", "data"}]
    return ".".join(parts) or "body"


def install(api: NinjaAPI) -> None:
    @api.exception_handler(AuthenticationFailed)
    def key_failed(request: HttpRequest, exc: AuthenticationFailed):
        response = api.create_response(request, error_body(exc.code, exc.message), status=exc.status)
        if exc.status == 401:
            response["WWW-Authenticate"] = 'ApiKey realm="fleetadmin"'
        return response

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError):
        response = api.create_response(
            request, error_body("missing_credentials", f"Missing credentials: {HEADER_HELP}."), status=401
        )
        response["WWW-Authenticate"] = 'ApiKey realm="fleetadmin"'
        return response

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404):
        return api.create_response(request, error_body("not_found", str(exc) or "Not found."), status=404)

    @api.exception_handler(PermissionDenied)
    def forbidden(request: HttpRequest, exc: PermissionDenied):
        message = str(exc) or "You do not have permission to do this."
        return api.create_response(request, error_body("forbidden", message), status=403)

    @api.exception_handler(ValidationError)
    def invalid(request: HttpRequest, exc: ValidationError):
        return api.create_response(
            request, error_body("invalid", validation_message(exc), field_messages(exc)), status=400
        )

    @api.exception_handler(NinjaValidationError)
    def malformed(request: HttpRequest, exc: NinjaValidationError):
        fields: dict[str, list[str]] = {}
        for error in exc.errors:
            name = _field_name(error.get("loc", ()))
            text = error.get("msg", "invalid value")
            if "input" in error and error.get("type") not in {"missing"}:
                text = f"{text}; got {error['input']!r}"[:300]
            fields.setdefault(name, []).append(text)
        message = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in fields.items())
        return api.create_response(request, error_body("invalid", message, fields), status=400)

    @api.exception_handler(OperationalError)
    @api.exception_handler(InterfaceError)
    def database_unavailable(request: HttpRequest, exc: Exception):
        # Re-raised: the portal's DatabaseUnavailableMiddleware answers 503 (JSON here) and closes the connection.
        raise exc

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError):
        code = {403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return api.create_response(request, error_body(code, str(exc)), status=exc.status_code)
