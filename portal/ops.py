"""Operations endpoints and the database-outage answer.

- ``/healthz``: liveness, touches nothing (a load balancer may call it every second).
- ``/readyz``: readiness: the database answers, the cache answers, no migration is unapplied.
- ``/metrics``: Prometheus exposition, only with METRICS_ENABLED, only with the METRICS_TOKEN bearer
  token and/or from an address in METRICS_ALLOWED_NETWORKS.
- A lost database connection (OperationalError / InterfaceError) is answered 503 with the portal's
  page, or the API's JSON error, instead of a 500; the broken connection is closed so the worker's
  next request reconnects.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.defaults import server_error as default_server_error

from fleetadmin.core import metrics

logger = logging.getLogger("portal.ops")

DATABASE_DOWN = (OperationalError, InterfaceError)
UNAVAILABLE_MESSAGE = "The portal lost its database connection for a moment. Try again shortly."
RETRY_AFTER_SECONDS = "5"


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


# ---- readiness ------------------------------------------------------------------------------------


def _check_database() -> str | None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return None


def _check_cache() -> str | None:
    probe = f"readyz:{uuid.uuid4().hex}"
    cache.set(probe, "1", timeout=10)
    found = cache.get(probe)
    cache.delete(probe)
    return None if found == "1" else "the cache did not return the value just written"


def _check_migrations() -> str | None:
    from django.db.migrations.executor import MigrationExecutor

    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
        return f"{len(plan)} unapplied migration(s): {names}"
    return None


READINESS_CHECKS: dict[str, Callable[[], str | None]] = {
    "database": _check_database,
    "cache": _check_cache,
    "migrations": _check_migrations,
}


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """200 {"status": "ok", "checks": {...}} when every check passes, else 503 naming the failed ones.

    A failure is reported by its exception's type only: the message of a connection error can hold the
    host, user or DSN, which this unauthenticated endpoint must not show (the log has the detail).
    """
    checks: dict[str, dict[str, str]] = {}
    for name, check in READINESS_CHECKS.items():
        try:
            problem = check()
        except Exception as error:
            logger.warning("readyz: %s check failed: %s", name, type(error).__name__, exc_info=True)
            problem = f"{name} unreachable ({type(error).__name__})"
            if name == "database":
                _discard_broken_connection()
        checks[name] = {"status": "ok"} if problem is None else {"status": "failed", "error": problem}
    ok = all(c["status"] == "ok" for c in checks.values())
    failed = [name for name, c in checks.items() if c["status"] != "ok"]
    body = {"status": "ok" if ok else "unavailable", "checks": checks}
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=200 if ok else 503)


# ---- metrics --------------------------------------------------------------------------------------

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    """Counts every response by view name, method and status, and times it (when METRICS_ENABLED)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.METRICS_ENABLED:
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # The view's name, never the path: paths hold ids, and hostile paths would grow the label set.
        view = (match.view_name or match._func_path) if match is not None else "<unresolved>"
        method = request.method if request.method in _METHODS else "OTHER"
        metrics.REQUESTS.labels(view=view, method=method, status=str(response.status_code)).inc()
        metrics.LATENCY.labels(view=view).observe(time.perf_counter() - started)
        return response


def _metrics_caller_allowed(request: HttpRequest) -> tuple[bool, int]:
    """(allowed, status if not): 401 without a token, 403 with a wrong one or from a network not listed."""
    networks = settings.METRICS_ALLOWED_NETWORKS
    if networks:
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return False, 403
        if not any(address in ipaddress.ip_network(n, strict=False) for n in networks):
            return False, 403
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented:
            return False, 401
        if not hmac.compare_digest(presented.strip().encode(), token.encode()):
            return False, 403
    elif not networks:
        return False, 403  # enabled but neither a token nor a network: nobody (settings refuse this too)
    return True, 200


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_ENABLED:
        return HttpResponseNotFound("Not found", content_type="text/plain")
    allowed, status = _metrics_caller_allowed(request)
    if not allowed:
        response = HttpResponse(
            "Send 'Authorization: Bearer <METRICS_TOKEN>'." if status == 401 else "Forbidden.",
            status=status,
            content_type="text/plain",
        )
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


# ---- the database gone mid-request ----------------------------------------------------------------


def _discard_broken_connection() -> None:
    """Close a connection that failed, so this worker's next request opens a new one."""
    for connection in connections.all(initialized_only=True):
        try:
            if connection.in_atomic_block:
                connection.needs_rollback = True
            connection.close_if_unusable_or_obsolete()
            if connection.connection is not None and not connection.is_usable():
                connection.close()
        except Exception:  # closing a dead connection may itself fail; the next request reconnects
            connection.connection = None


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    _discard_broken_connection()
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"error": {"code": "database_unavailable", "message": UNAVAILABLE_MESSAGE}}, status=503
        )
    else:
        # Rendered without the request: the context processors would query the database again.
        response = HttpResponse(loader.get_template("503.html").render({"message": UNAVAILABLE_MESSAGE}), status=503)
    response["Retry-After"] = RETRY_AFTER_SECONDS
    return response


class DatabaseUnavailableMiddleware:
    """A view (or an API endpoint) that loses the database answers 503, also with DEBUG on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_DOWN):
            name = type(exception).__name__
            logger.error("database unavailable during %s %s: %s", request.method, request.path, name)
            return database_unavailable_response(request)
        return None


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """handler500: a lost database anywhere (a middleware loading the session, say) is a 503, not a 500."""
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_DOWN):
        return database_unavailable_response(request)
    return default_server_error(request, template_name)
