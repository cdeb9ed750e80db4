"""Log records with the request id, as plain text (``make run``) or one JSON object a line (LOG_FORMAT=json).

The request id comes from the RequestContext the request-id middleware binds (fleetadmin.audit.context),
so every line a request causes, from any logger, carries the id its X-Request-ID header returns.
Anything that looks like an API key value or an OAuth client secret is replaced before a line is written.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from fleetadmin.audit.context import current_request_context
from fleetadmin.keys.rules import KEY_PREFIX, secret_pattern
from fleetadmin.oauth.rules import CLIENT_SECRET_PREFIX

SECRET_RE = secret_pattern(KEY_PREFIX, CLIENT_SECRET_PREFIX)
REDACTED = "[redacted secret]"


def redact(text: str) -> str:
    return SECRET_RE.sub(REDACTED, text)


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id`` ("-" outside a request) on every record a handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        # django.request logs a response after the middleware has unbound the context; it passes the request.
        from_request = getattr(getattr(record, "request", None), "request_id", None)
        record.request_id = from_request or current_request_context().request_id or "-"
        return True


class PlainFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_context().request_id or "-"
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id (and the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or current_request_context().request_id or "-",
        }
        status = getattr(record, "status_code", None)
        if status is not None:
            entry["status"] = status
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)
