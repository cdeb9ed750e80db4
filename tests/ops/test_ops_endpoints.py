"""/readyz, /metrics, JSON logs with the request id, the 503 page, and the portal with Redis or SMTP down."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys

import pytest
from django.db import OperationalError
from django.db.migrations.recorder import MigrationRecorder
from django.urls import reverse

from fleetadmin.fleet.models import Invitation
from fleetadmin.keys import services as key_services
from fleetadmin.keys.models import ApiKey
from portal.log_format import JsonFormatter, RequestIdFilter
from tests.factories import TEST_PASSWORD
from tests.mailserver import free_port
from tests.ops.conftest import REPO_ROOT

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-for-tests-0123456789"


def closed_port_cache(settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/3",
        }
    }


def owner_key(fleet) -> tuple[ApiKey, str]:
    issued = key_services.api_key_create(
        actor=fleet.owner,
        organization=fleet.org,
        grants=[key_services.Grant(role="organization_owner", resource=fleet.org)],
        name="ops-test",
    )
    return issued.key, issued.value


# ---- /healthz and /readyz ---------------------------------------------------------------------------


def test_healthz_is_cheap(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok"


def test_readyz_reports_each_check(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": {"status": "ok"}, "cache": {"status": "ok"}, "migrations": {"status": "ok"}},
    }
    assert "no-cache" in response["Cache-Control"]


def test_readyz_names_an_unapplied_migration(client):
    latest = MigrationRecorder.Migration.objects.filter(app="fleet").order_by("-name").first()
    MigrationRecorder.Migration.objects.filter(pk=latest.pk).delete()  # rolled back with the test
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["migrations"]
    assert f"fleet.{latest.name}" in body["checks"]["migrations"]["error"]


def test_readyz_with_the_cache_down_is_503_without_the_address(client, settings):
    closed_port_cache(settings)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["cache"] and body["status"] == "unavailable"
    assert body["checks"]["cache"]["error"] == "cache unreachable (ConnectionError)"
    assert "127.0.0.1" not in response.content.decode() and "redis://" not in response.content.decode()


def test_readyz_with_the_database_down_is_503_without_the_dsn(tmp_path):
    # A separate process whose database cannot be opened (SQLite: a directory that does not exist;
    # PostgreSQL: a port where nothing listens) still answers /healthz, and /readyz names the database.
    code = (
        "import json; from django.test import Client; c = Client(); "
        "h = c.get('/healthz'); r = c.get('/readyz'); "
        "print(json.dumps([h.status_code, r.status_code, r.content.decode()]))"
    )
    for url in (f"sqlite:///{tmp_path}/missing/db.sqlite3", f"postgres://fa:pw-secret@127.0.0.1:{free_port()}/fa"):
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-v0", "-c", code],
            cwd=REPO_ROOT,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "DATABASE_URL": url},
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        health, ready, body = json.loads(result.stdout.strip().splitlines()[-1])
        assert (health, ready) == (200, 503), body
        parsed = json.loads(body)
        assert "database" in parsed["failed"]
        assert parsed["checks"]["database"]["error"].startswith("database unreachable (")
        assert "pw-secret" not in body and "missing" not in body and str(tmp_path) not in body


# ---- metrics ------------------------------------------------------------------------------------------


def sample(text: str, name: str, **labels) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.partition("}")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def scrape(client) -> str:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def test_metrics_are_off_by_default(client, settings):
    assert settings.METRICS_ENABLED is False
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


def test_metrics_need_the_token(client, settings):
    settings.METRICS_ENABLED, settings.METRICS_TOKEN = True, TOKEN
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401


def test_metrics_network_restriction(client, settings):
    settings.METRICS_ENABLED, settings.METRICS_TOKEN = True, ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    settings.METRICS_TOKEN = TOKEN  # both: the network and the token
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 401
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_metrics_count_requests_key_authentications_and_sign_in_failures(client, settings, fleet):
    settings.METRICS_ENABLED, settings.METRICS_TOKEN = True, TOKEN
    key, value = owner_key(fleet)
    before = scrape(client)
    for _ in range(3):
        client.get("/healthz")
    whoami = "/api/v1/whoami"
    assert client.get(whoami, HTTP_AUTHORIZATION=f"ApiKey {key.pk}:{value}").status_code == 200
    wrong = value[:-6] + ("A" if value[-6] != "A" else "B") + value[-5:]
    client.get(whoami, HTTP_AUTHORIZATION=f"ApiKey {key.pk}:{wrong}")
    client.post(reverse("accounts:login"), {"username": fleet.owner.email, "password": "wrong-password"})
    after = scrape(client)

    def moved(name, **labels):
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("fleetadmin_http_requests_total", view="healthz", method="GET", status="200") == 3
    assert moved("fleetadmin_http_request_duration_seconds_count", view="healthz") == 3
    assert moved("fleetadmin_api_key_authentications_total", result="ok") == 1
    failures = [
        r for r in ("wrong_value", "malformed_key") if moved("fleetadmin_api_key_authentications_total", result=r)
    ]
    assert len(failures) == 1
    assert moved("fleetadmin_sign_in_failures_total") == 1
    assert value not in after and TOKEN not in after


def test_metrics_setting_refuses_to_start_open(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "METRICS_ENABLED": "1", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "METRICS_ENABLED needs METRICS_TOKEN or METRICS_ALLOWED_NETWORKS" in result.stderr


# ---- JSON logs ----------------------------------------------------------------------------------------


@pytest.fixture
def json_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def test_every_log_line_of_a_request_is_json_with_its_request_id(client, fleet, json_log):
    key, value = owner_key(fleet)
    response = client.get(f"/orgs/{fleet.org.pk}/keys/{value}/nowhere", HTTP_X_REQUEST_ID="req-ops-logging-1")
    assert response.status_code == 404
    api = client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"ApiKey {key.pk}:{value}x", HTTP_X_REQUEST_ID="req-ops-2")
    assert api.status_code == 401
    lines = [line for line in json_log.getvalue().splitlines() if line]
    assert len(lines) >= 2
    entries = [json.loads(line) for line in lines]  # every line parses
    assert {e["request_id"] for e in entries} == {"req-ops-logging-1", "req-ops-2"}
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
    assert any("Not Found" in e["message"] for e in entries)
    assert value not in json_log.getvalue()  # the key value in the path is redacted
    assert "[redacted secret]" in json_log.getvalue()


def test_log_format_setting_selects_json(tmp_path):
    code = "import logging; logging.getLogger('ops').warning('hello %s', 'there')"
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}
    run = lambda **env: subprocess.run(  # noqa: E731
        [sys.executable, "manage.py", "shell", "-v0", "-c", code],
        cwd=REPO_ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    entry = json.loads(run(LOG_FORMAT="json").stderr.strip().splitlines()[-1])
    assert entry["message"] == "hello there" and entry["level"] == "WARNING" and entry["request_id"] == "-"
    assert run().stderr.strip().endswith("WARNING ops [-] hello there")  # text is the default
    check = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO_ROOT,
        env={**base, "LOG_FORMAT": "xml"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode != 0 and "LOG_FORMAT must be text or json; got 'xml'." in check.stderr


# ---- the database lost: the page and the JSON error ------------------------------------------------


def test_lost_database_in_a_view_is_the_portal_503_page(client_for, fleet, monkeypatch):
    def lost(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("fleetadmin.fleet.selectors.get_organization_for", lost)
    client = client_for(fleet.owner)
    response = client.get(reverse("fleet:organization", args=[fleet.org.pk]))
    assert response.status_code == 503
    html = response.content.decode()
    assert "<h1>Temporarily unavailable</h1>" in html and "portal.css" in html
    assert response["Retry-After"] == "5"
    assert "server closed" not in html and "Traceback" not in html


def test_lost_database_in_the_api_is_json_503(client, fleet, monkeypatch):
    key, value = owner_key(fleet)

    def lost(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("fleetadmin.fleet.selectors.get_organization_for", lost)
    response = client.get(f"/api/v1/organizations/{fleet.org.pk}", HTTP_AUTHORIZATION=f"ApiKey {key.pk}:{value}")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"


def test_lost_database_in_a_middleware_is_503_too(client_for, fleet, monkeypatch, settings):
    settings.DEBUG = False
    client = client_for(fleet.owner)
    client.raise_request_exception = False

    def lost(self, *args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr("django.contrib.sessions.backends.db.SessionStore.load", lost)
    response = client.get(reverse("fleet:organizations"))
    assert response.status_code == 503
    assert "<h1>Temporarily unavailable</h1>" in response.content.decode()


# ---- Redis down -----------------------------------------------------------------------------------------


def test_portal_keeps_serving_with_the_cache_down(client_for, client, fleet, settings, caplog):
    key, value = owner_key(fleet)
    closed_port_cache(settings)
    owner = client_for(fleet.owner)
    assert owner.get(reverse("fleet:organization", args=[fleet.org.pk])).status_code == 200
    assert owner.get(reverse("keys:list", args=[fleet.org.pk])).status_code == 200
    # A valid key never needs the cache.
    assert client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"ApiKey {key.pk}:{value}").status_code == 200
    # The key-failure throttle cannot count: it fails closed (429) for failures, and says so in the log.
    with caplog.at_level(logging.WARNING):
        refused = client.get("/api/v1/whoami", HTTP_AUTHORIZATION=f"ApiKey {key.pk}:{value}x")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttle_unavailable"
    assert "API-key failure throttle unavailable" in caplog.text and "failing closed" in caplog.text
    assert value not in caplog.text


def test_sign_in_lockout_keeps_working_with_the_cache_down(client, fleet, settings):
    # django-axes keeps its failure counts in the database (AxesDatabaseHandler), not the cache.
    closed_port_cache(settings)
    login = reverse("accounts:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(login, {"username": fleet.owner.email, "password": "wrong"}, REMOTE_ADDR="198.51.100.9")
    locked = client.post(login, {"username": fleet.owner.email, "password": TEST_PASSWORD}, REMOTE_ADDR="198.51.100.8")
    assert locked.status_code == 429
    fine = client.post(login, {"username": fleet.operator.email, "password": TEST_PASSWORD}, REMOTE_ADDR="198.51.100.7")
    assert fine.status_code == 302


def test_password_reset_fails_closed_with_the_cache_down(client, fleet, settings, mailoutbox, caplog):
    closed_port_cache(settings)
    with caplog.at_level(logging.WARNING):
        response = client.post(reverse("accounts:password_reset"), {"email": fleet.owner.email})
    assert response.status_code == 503
    assert "Password reset is unavailable for a moment" in response.content.decode()
    assert mailoutbox == []
    assert "password-reset throttle unavailable" in caplog.text


# ---- SMTP unreachable -----------------------------------------------------------------------------------


def test_unreachable_smtp_retries_says_not_sent_and_resend_works(
    client_for, fleet, settings, unreachable_smtp, django_capture_on_commit_callbacks, caplog, monkeypatch
):
    monkeypatch.setattr("fleetadmin.core.mail.RETRY_PAUSE_SECONDS", 0)
    owner = client_for(fleet.owner)
    invite = reverse("fleet:member_invite", args=[fleet.org.pk])
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        response = owner.post(invite, {"email": "smtp-down@example.com", "role": "organization_operator"})
    assert response.status_code in (200, 302)
    assert caplog.text.count("not sent (attempt") == 3  # retried, then given up
    invitation = Invitation.objects.get(email="smtp-down@example.com")
    assert invitation.mail_status == Invitation.MailStatus.FAILED
    members = owner.get(reverse("fleet:members", args=[fleet.org.pk])).content.decode()
    assert "Not sent — resend" in members
    # Nothing else failed: the rest of the portal answers.
    assert owner.get(reverse("keys:list", args=[fleet.org.pk])).status_code == 200
    # With the server back, "resend" delivers.
    from tests.mailserver import start_smtp_server

    server, controller = start_smtp_server()
    try:
        settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
        resend = reverse("fleet:invitation_resend", args=[fleet.org.pk, invitation.pk])
        with django_capture_on_commit_callbacks(execute=True):
            owner.post(resend)
        server.wait_for("smtp-down@example.com")
    finally:
        controller.stop()
    invitation = Invitation.objects.filter(email="smtp-down@example.com").order_by("-created_at").first()
    assert invitation.mail_status == Invitation.MailStatus.SENT
