"""A key's value is shown once and kept nowhere: not in the database, the session, the audit log,
the logs, or any later page. And the management command that bootstraps a key prints it once."""

import json
import logging
import re
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.db import connection, models
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fleetadmin.audit.models import AuditEvent
from fleetadmin.keys import tokens
from fleetadmin.keys.models import ApiKey
from tests.keys.factories import KEY_VALUE_RE

pytestmark = pytest.mark.django_db

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def text_values():
    """(table.column, value as text) for every text-like column of every table the project knows."""
    for model in apps.get_models(include_auto_created=True):
        fields = [f for f in model._meta.concrete_fields if isinstance(f, TEXT_FIELDS)]
        if not fields:
            continue
        for row in model._base_manager.values_list(*(f.attname for f in fields)):
            for field, value in zip(fields, row, strict=True):
                if value is None:
                    continue
                text = value if isinstance(value, str) else json.dumps(value)
                yield f"{model._meta.db_table}.{field.column}", text


def places_holding(needle: str) -> list[str]:
    places = [column for column, text in text_values() if needle in text]
    for session in Session.objects.all():
        if needle in repr(SessionStore().decode(session.session_data)):
            places.append("django_session (decoded)")
    return places


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("django.request", "django.db.backends", "django.security", "fleetadmin", "axes"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def assert_not_logged(caplog, value):
    for record in caplog.records:
        assert value not in record.getMessage(), record.name
        assert value not in repr(record.__dict__), record.name
    assert value not in caplog.text


def test_the_value_is_shown_once_and_stored_nowhere(fleet, client_for, debug_logs):
    client = client_for(fleet.owner)
    org = fleet.org.pk
    with CaptureQueriesContext(connection) as queries:  # also makes django.db.backends log every query
        created = client.post(
            reverse("keys:create", args=[org]),
            {"scope_type": "organization", "access": "owner", "name": "ci", "expiry": "never", "form_token": "f-1"},
        )
        assert created.status_code == 200
        (value,) = set(KEY_VALUE_RE.findall(created.content.decode()))
        key = ApiKey.objects.get()

        # Use it: a success, and a failure with the right value under the wrong id.
        assert Client().get("/api/v1/whoami", HTTP_AUTHORIZATION=f"ApiKey {key.pk}:{value}").status_code == 200
        wrong_id = "00000000-0000-4000-8000-000000000000"
        assert Client().get("/api/v1/whoami", HTTP_AUTHORIZATION=f"ApiKey {wrong_id}:{value}").status_code == 401

        later_pages = {
            "list": client.get(reverse("keys:list", args=[org])),
            "list (htmx)": client.get(reverse("keys:list", args=[org]), HTTP_HX_REQUEST="true"),
            "detail": client.get(reverse("keys:detail", args=[org, key.pk])),
            "rotate confirmation": client.get(reverse("keys:rotate", args=[org, key.pk])),
            "delete confirmation": client.get(reverse("keys:delete", args=[org, key.pk])),
            "overview": client.get(reverse("fleet:organization", args=[org])),
            "audit log": client.get(reverse("audit:log", args=[org])),
            "create again": client.get(reverse("keys:create", args=[org])),
            "resubmitted form": client.post(
                reverse("keys:create", args=[org]),
                {"scope_type": "organization", "access": "owner", "name": "ci", "expiry": "never", "form_token": "f-1"},
                follow=True,
            ),
        }

    for name, page in later_pages.items():
        assert page.status_code == 200, name
        assert value not in page.content.decode(), name
        assert value not in str(page.headers), name
    assert str(key.pk) in later_pages["detail"].content.decode()  # the pages do show the key, just not its value

    # The database: no text column of any table, and no session, holds the value.
    assert places_holding(value) == []
    # The scan reads real rows and real sessions: it finds what is there.
    assert "keys_apikey.secret_hash" in places_holding(key.secret_hash)
    assert "audit_auditevent.changes" in places_holding('"name": "ci"')
    sessions = [SessionStore().decode(s.session_data) for s in Session.objects.all()]
    assert any(data.get("_auth_user_id") == str(fleet.owner.pk) for data in sessions)
    assert key.secret_hash == tokens.hash_secret(value).hash
    # ...and no statement ever sent it there.
    assert len(queries) > 10
    assert not [q["sql"] for q in queries if value in q["sql"]]
    assert any(r.name == "django.db.backends" for r in debug_logs.records)  # the log check saw real traffic
    assert any(r.name == "django.request" for r in debug_logs.records)  # (the 401 above is logged)

    # The audit log has the creation, without the value.
    (event,) = AuditEvent.objects.filter(action="keys.api_key.create")
    assert value not in json.dumps(event.changes)
    assert event.changes["after"]["name"] == "ci"

    assert_not_logged(debug_logs, value)


def test_the_value_of_a_rotated_key_is_stored_nowhere(fleet, client_for, debug_logs):
    client = client_for(fleet.owner)
    org = fleet.org.pk
    client.post(
        reverse("keys:create", args=[org]),
        {
            "scope_type": "location",
            "location": str(fleet.hq.pk),
            "access": "owner",
            "expiry": "never",
            "form_token": "a",
        },
    )
    key = ApiKey.objects.get()
    rotated = client.post(reverse("keys:rotate", args=[org, key.pk]), {"grace": "24h"})
    (value,) = set(KEY_VALUE_RE.findall(rotated.content.decode()))
    duplicated = client.post(reverse("keys:duplicate", args=[org, key.pk]))
    (copy_value,) = set(KEY_VALUE_RE.findall(duplicated.content.decode()))
    new = ApiKey.objects.get(pk=key.pk).replaced_by
    for secret in (value, copy_value):
        assert places_holding(secret) == []
        for path in (reverse("keys:list", args=[org]), reverse("keys:detail", args=[org, new.pk])):
            assert secret not in client.get(path).content.decode()
        assert_not_logged(debug_logs, secret)


# ---- the management command ------------------------------------------------------------------------


def run(**options) -> list[str]:
    out = StringIO()
    call_command("create_api_key", stdout=out, **options)
    return out.getvalue().splitlines()


def test_create_api_key_prints_the_key_once(fleet, debug_logs):
    with CaptureQueriesContext(connection) as queries:
        lines = run(org_id=str(fleet.org.pk))
    key = ApiKey.objects.get()
    value = lines[2].removeprefix("Key Value: ")
    assert [line for line in lines if line] == [
        "Successfully created key:",
        f"Key ID: {key.pk}",
        f"Key Value: {value}",
        "Keep this key somewhere safe; it has full write access to your organization.",
    ]
    assert re.fullmatch(r"fak_[0-9A-Za-z]{46}", value)
    assert tokens.verify(value, tokens.StoredSecret(key.secret_hash, key.pepper_id))
    (authorization,) = key.authorizations.all()
    assert (authorization.role, authorization.resource_id) == ("organization_owner", fleet.org.pk)
    assert key.name.startswith("Acme-Robotics-")
    assert key.created_by is None
    (event,) = AuditEvent.objects.all()
    assert (event.action, event.actor_type, event.actor_name) == ("keys.api_key.create", "system", "system")
    assert places_holding(value) == []
    assert not [q["sql"] for q in queries if value in q["sql"]]
    assert_not_logged(debug_logs, value)


@pytest.mark.parametrize(
    ("option", "resource", "role", "expected_role", "warning"),
    [
        ("location_id", "hq", None, "location_owner", "full write access to your location."),
        ("location_id", "line_a", "location_operator", "location_operator", "read access to your location."),
        ("machine_id", "arm", None, "robot_owner", "full write access to your machine."),
        ("machine_id", "forklift", "robot_operator", "robot_operator", "read access to your machine."),
        ("org_id", "org", "organization_operator", "organization_operator", "read access to your organization."),
    ],
)
def test_create_api_key_for_each_scope(fleet, option, resource, role, expected_role, warning):
    target = getattr(fleet, resource)
    options = {option: str(target.pk), "name": "bootstrap"}
    if role:
        options["role"] = role
    lines = run(**options)
    key = ApiKey.objects.get()
    assert lines[:2] == ["Successfully created key:", f"Key ID: {key.pk}"]
    assert lines[-1] == f"Keep this key somewhere safe; it has {warning}"
    assert key.name == "bootstrap"
    assert key.organization_id == fleet.org.pk
    (authorization,) = key.authorizations.all()
    assert (authorization.role, authorization.resource_id) == (expected_role, target.pk)
    assert AuditEvent.objects.get().actor_type == "system"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"org_id": "00000000-0000-4000-8000-000000000000"},
            "No organization with id 00000000-0000-4000-8000-000000000000.",
        ),
        ({"org_id": "not-a-uuid"}, "No organization with id not-a-uuid."),
        (
            {"location_id": "00000000-0000-4000-8000-000000000000"},
            "No location with id 00000000-0000-4000-8000-000000000000.",
        ),
        ({"machine_id": "nope"}, "No machine with id nope."),
    ],
)
def test_create_api_key_refuses_unknown_ids(fleet, options, message):
    with pytest.raises(CommandError) as excinfo:
        run(**options)
    assert str(excinfo.value) == message
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(
    ("scope", "role", "message"),
    [
        (
            "location_id",
            "organization_owner",
            "--role must be one of location_owner, location_operator for a location key; got 'organization_owner'.",
        ),
        (
            "machine_id",
            "location_owner",
            "--role must be one of robot_owner, robot_operator for a robot key; got 'location_owner'.",
        ),
        (
            "org_id",
            "admin",
            "--role must be one of organization_owner, organization_operator for an organization key; got 'admin'.",
        ),
    ],
)
def test_create_api_key_refuses_a_role_that_does_not_fit(fleet, scope, role, message):
    target = {"location_id": fleet.hq, "machine_id": fleet.arm, "org_id": fleet.org}[scope]
    with pytest.raises(CommandError) as excinfo:
        run(**{scope: str(target.pk), "role": role})
    assert str(excinfo.value) == message
    assert not ApiKey.objects.exists()
    assert not AuditEvent.objects.exists()


def test_create_api_key_needs_exactly_one_scope(fleet):
    with pytest.raises(CommandError) as excinfo:
        call_command("create_api_key", stdout=StringIO())
    assert "one of the arguments --org-id --location-id --machine-id is required" in str(excinfo.value)
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "create_api_key", "--org-id", str(fleet.org.pk), "--location-id", str(fleet.hq.pk), stdout=StringIO()
        )
    assert "not allowed with argument" in str(excinfo.value)
    assert not ApiKey.objects.exists()


def test_create_api_key_refuses_a_bad_name(fleet):
    with pytest.raises(CommandError) as excinfo:
        run(org_id=str(fleet.org.pk), name="x" * 101)
    assert str(excinfo.value) == "A key name has at most 100 characters; this one has 101."
    assert not ApiKey.objects.exists()
