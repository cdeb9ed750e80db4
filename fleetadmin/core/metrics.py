"""Prometheus metrics the apps count (prometheus-client); portal/ops.py serves them at /metrics.

The counters live here, in core, so that an app can count an event without importing the portal.
With several gunicorn workers, set PROMETHEUS_MULTIPROC_DIR to an empty directory shared by the
workers: prometheus-client then keeps each worker's values in files there and /metrics adds them up.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_login_failed
from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "fleetadmin_http_requests",
    "HTTP requests answered, by view, method and status code.",
    ["view", "method", "status"],
)
LATENCY = Histogram(
    "fleetadmin_http_request_duration_seconds",
    "Time to answer an HTTP request, by view.",
    ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
KEY_AUTHENTICATIONS = Counter(
    "fleetadmin_api_key_authentications",
    "API-key authentications, by result (ok, or the refusal's code: wrong_value, unknown_key, ...).",
    ["result"],
)
SIGN_IN_FAILURES = Counter("fleetadmin_sign_in_failures", "Failed portal sign-ins (wrong password, locked out).")


def key_authentication(result: str) -> None:
    KEY_AUTHENTICATIONS.labels(result=result).inc()


def _sign_in_failed(sender, **kwargs) -> None:
    SIGN_IN_FAILURES.inc()


user_login_failed.connect(_sign_in_failed, dispatch_uid="fleetadmin.core.metrics.sign_in_failed")
