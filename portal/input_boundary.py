"""The one boundary every piece of client text crosses before anything can reach the database.

PostgreSQL cannot store a NUL character (U+0000) in a text column, and SQLite silently can, so a
NUL that slips through is a 500 on one database and a stored oddity on the other. Rather than
teach every form, schema, filter and log line about it, this middleware decides once per request:

- **Headers**: NUL is removed from every header; the ``User-Agent`` (stored in the audit log and
  in django-axes' access log) also loses every other control character. Headers are not the
  client's data, so they are cleaned, not refused.
- **Path, query string, form fields, JSON bodies**: a NUL is refused with ``400``, naming the
  parameter or field (JSON for ``/api/``, plain text elsewhere). Silently dropping a character from
  a name or a search would store or find something other than what the client sent.
- Other control, bidirectional and zero-width characters are *not* refused here: PostgreSQL and
  SQLite both store them, the templates escape them, and the rules that own a field (URIs, names)
  refuse them where they matter.
- **Bodies over** ``DATA_UPLOAD_MAX_MEMORY_SIZE`` answer ``413`` (the API's JSON error shape under
  ``/api/``), and more than ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` fields answer ``400``; the body is read
  here, inside this middleware's error handling, so no later reader meets the limit as a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError

from fleetadmin.api.errors import error_body

NUL = "\x00"
# Every C0 control character and DEL; tab is harmless in a header but has no business in a user agent.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A JSON string escape for U+0000 that is not itself an escaped backslash followed by "u0000".
_JSON_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
API_PREFIX = "/api/"


def clean_header_text(value: str) -> str:
    """A header value fit for a log line or a text column: no control characters."""
    return _CONTROL.sub("", value)


def _nul_path(value, path: str = "") -> str | None:
    """The JSON path (``a.b[2]``) of the first string or key holding a NUL, or None."""
    if isinstance(value, str):
        return path or "body" if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                return here
            found = _nul_path(item, here)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found:
                return found
    return None


class InputBoundaryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self._clean_headers(request)
        is_api = request.path_info.startswith(API_PREFIX)
        try:
            refusal = self._refusal(request, is_api=is_api)
        except RequestDataTooBig:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return _error(
                is_api, 413, "too_large", f"The request body is larger than the {limit}-byte limit; send less."
            )
        except TooManyFieldsSent:
            limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
            return _error(is_api, 400, "invalid", f"The request has more than {limit} fields; send fewer.")
        except MultiPartParserError:
            return _error(is_api, 400, "invalid", "The multipart form body is malformed.")
        if refusal:
            where, name = refusal
            fields = {name: ["contains a NUL character (U+0000), which is not accepted; remove it"]}
            return _error(
                is_api,
                400,
                "invalid",
                f"{where} '{name}' contains a NUL character (U+0000), which is not accepted; remove it.",
                fields if where != "path" else None,
            )
        return self.get_response(request)

    @staticmethod
    def _clean_headers(request: HttpRequest) -> None:
        meta = request.META
        for key, value in list(meta.items()):
            if key.startswith("HTTP_") and isinstance(value, str) and NUL in value:
                meta[key] = value.replace(NUL, "")
        agent = meta.get("HTTP_USER_AGENT")
        if agent:
            meta["HTTP_USER_AGENT"] = clean_header_text(agent)
        # request.headers is a cached view of META: an earlier middleware (the request id) may have built it.
        request.__dict__.pop("headers", None)

    @staticmethod
    def _refusal(request: HttpRequest, *, is_api: bool) -> tuple[str, str] | None:
        if NUL in request.path_info:
            return ("path", request.path_info.replace(NUL, "\\0")[:200])
        for name, values in request.GET.lists():
            if NUL in name or any(NUL in value for value in values):
                return ("query parameter", name.replace(NUL, "\\0")[:100])
        if request.method in {"GET", "HEAD", "OPTIONS"}:
            return None
        content_type = request.content_type or ""
        if content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            for name, values in request.POST.lists():
                if NUL in name or any(NUL in value for value in values):
                    return ("field", name.replace(NUL, "\\0")[:100])
            return None
        body = request.body  # reads and caches it; raises RequestDataTooBig past the limit
        if b"\x00" in body:
            return ("field", "body")
        if _JSON_NUL_ESCAPE.search(body):
            try:
                parsed = json.loads(body)
            except ValueError:
                return None  # invalid JSON: the API says so in its own words
            found = _nul_path(parsed)
            if found:
                return ("field", found)
        return None


def _error(is_api: bool, status: int, code: str, message: str, fields: dict | None = None) -> HttpResponse:
    if is_api:
        return JsonResponse(error_body(code, message, fields), status=status)
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")
