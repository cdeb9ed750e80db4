"""End users, the toolkit mirror of OAuth applications, redirect matching and signing keys (in-process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client

from fleetadmin.audit.models import AuditEvent
from fleetadmin.core.actors import SYSTEM
from fleetadmin.idp import auth, services
from fleetadmin.idp.models import EndUser
from fleetadmin.oauth import services as oauth_services
from fleetadmin.oauth import signing
from fleetadmin.oauth.dot import uri_allowed
from fleetadmin.oauth.models import DotApplication
from tests.oauth.conftest import VALID_APP

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("presented", "registered", "policy", "allowed"),
    [
        ("https://app.example.com/cb", ["https://app.example.com/cb"], "exact_match", True),
        ("https://APP.example.com/cb", ["https://app.example.com/cb"], "exact_match", True),
        ("https://app.example.com/cb/", ["https://app.example.com/cb"], "exact_match", False),
        ("https://app.example.com/cb?x=1", ["https://app.example.com/cb"], "exact_match", False),
        ("https://eu.example.com/cb", ["https://*.example.com/cb"], "allow_wildcards", True),
        ("https://eu.example.com/cb", ["https://*.example.com/cb"], "exact_match", False),
        ("https://a.eu.example.com/cb", ["https://*.example.com/cb"], "allow_wildcards", False),
        ("https://example.com/cb", ["https://*.example.com/cb"], "allow_wildcards", False),
        ("https://*.example.com/cb", ["https://*.example.com/cb"], "allow_wildcards", False),
        ("https://eu.example.com:8443/cb", ["https://*.example.com/cb"], "allow_wildcards", False),
        ("http://eu.example.com/cb", ["https://*.example.com/cb"], "allow_wildcards", False),
        ("https://app.example.com/cb#x", ["https://app.example.com/cb"], "unspecified", False),
    ],
)
def test_redirect_uri_matching_follows_the_apps_url_validation(presented, registered, policy, allowed):
    assert uri_allowed(presented, registered, policy) is allowed


def test_the_toolkit_row_follows_the_audited_application(fleet):
    issued = oauth_services.oauth_app_create(actor=fleet.owner, organization=fleet.org, **VALID_APP)
    dot = DotApplication.objects.get(source=issued.app)
    assert dot.client_id == issued.app.client_id and dot.client_type == "confidential"
    assert dot.redirect_uris == "https://dashboard.example.com/callback"
    oauth_services.oauth_app_update(
        actor=fleet.owner, app=issued.app, enabled_grants=["authorization_code", "device_code"]
    )
    dot = DotApplication.objects.select_related("source").get(source=issued.app)
    assert dot.allows_grant_type(DotApplication.GRANT_DEVICE_CODE)
    assert not dot.allows_refresh()
    assert not dot.allows_grant_type(DotApplication.GRANT_IMPLICIT, DotApplication.GRANT_PASSWORD)
    oauth_services.oauth_app_delete(actor=fleet.owner, app=issued.app)
    assert not DotApplication.objects.filter(client_id=issued.app.client_id).exists()


def test_create_end_user_command_is_audited_as_system(fleet):
    call_command(
        "create_end_user", "--org-id", str(fleet.org.pk), "--email", "Ana@Example.com", "--password", "long-password-1"
    )
    user = EndUser.objects.get(organization=fleet.org)
    assert user.email == "ana@example.com" and user.password and user.email_verified
    event = AuditEvent.objects.get(action="idp.end_user.create")
    assert event.actor_type == "system" and "long-password-1" not in json.dumps(event.changes)
    with pytest.raises(ValidationError, match="already has an account"):
        services.end_user_create(
            actor=SYSTEM, organization=fleet.org, email="ANA@example.com", password="long-password-2"
        )


def test_email_is_unique_per_organization_only(fleet):
    from tests.factories import OrganizationFactory

    other = OrganizationFactory(name="Other")
    services.end_user_create(actor=SYSTEM, organization=fleet.org, email="bo@example.com", password="long-password-1")
    services.end_user_create(actor=SYSTEM, organization=other, email="bo@example.com", password="long-password-1")
    assert EndUser.objects.filter(email="bo@example.com").count() == 2


def test_operators_cannot_change_end_users(fleet):
    from django.core.exceptions import PermissionDenied

    user = services.end_user_create(
        actor=SYSTEM, organization=fleet.org, email="c@example.com", password="long-password-1"
    )
    with pytest.raises((PermissionDenied, Exception)) as error:
        services.end_user_disable(actor=fleet.operator, user=user)
    assert not isinstance(error.value, AssertionError)
    user.refresh_from_db()
    assert not user.is_disabled


def test_disable_refuses_sign_in_and_enable_restores_it(fleet):
    user = services.end_user_create(
        actor=SYSTEM, organization=fleet.org, email="d@example.com", password="long-password-1"
    )
    services.end_user_disable(actor=fleet.owner, user=user)
    kwargs = {"organization": fleet.org, "email": "d@example.com", "password": "long-password-1", "address": "10.0.0.1"}
    result = auth.authenticate(**kwargs)
    assert result.end_user is None and result.message == auth.WRONG_CREDENTIALS
    services.end_user_enable(actor=fleet.owner, user=user)
    assert auth.authenticate(**kwargs).end_user == user
    actions = list(AuditEvent.objects.filter(target_id=str(user.pk)).values_list("action", flat=True).order_by("id"))
    assert actions == ["idp.end_user.create", "idp.end_user.disable", "idp.end_user.enable"]


def test_invitation_sets_a_password_once_and_mails_after_commit(fleet, smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.end_user_invite(
            actor=fleet.owner, organization=fleet.org, email="e@example.com", base_url="https://id.example"
        )
    body = smtp_server.wait_for("e@example.com")[0].get_body(preferencelist=("plain",)).get_content()
    token = body.split("/invitation/")[1].split()[0]
    user = services.end_user_accept_invitation(organization=fleet.org, token=token, password="long-password-1")
    assert user.has_password and not user.is_invited
    with pytest.raises(ValidationError, match="expired or was already used"):
        services.end_user_accept_invitation(organization=fleet.org, token=token, password="long-password-2")


def test_the_preview_is_the_real_sign_in_page(fleet, client_for):
    response = client_for(fleet.owner).get(f"/orgs/{fleet.org.pk}/auth/sign-in-preview/")
    real = Client().get(f"/oidc/{fleet.org.pk}/sign-in")
    assert response.status_code == real.status_code == 200
    for text in ("Sign in to Acme Robotics", 'id="wl-email"', 'id="wl-password"', "Forgot your password?"):
        assert text in response.content.decode() and text in real.content.decode()
    assert "disabled" in response.content.decode()


def test_key_rotation_keeps_the_previous_key_until_its_tokens_expired(settings, tmp_path, clock):
    settings.OIDC_RSA_PRIVATE_KEY = ""
    settings.OIDC_SIGNING_KEYS_FILE = str(tmp_path / "keys.json")
    first, _ = signing.rotate(Path(settings.OIDC_SIGNING_KEYS_FILE))
    assert signing.current_key().kid == first
    second, still = signing.rotate(Path(settings.OIDC_SIGNING_KEYS_FILE))
    assert still == [first] and signing.current_key().kid == second
    assert {key["kid"] for key in signing.jwks()["keys"]} == {first, second}
    clock.advance(seconds=signing.token_lifetime().total_seconds() + 1)
    assert {key["kid"] for key in signing.jwks()["keys"]} == {second}
    _, still = signing.rotate(Path(settings.OIDC_SIGNING_KEYS_FILE))
    assert still == [second]
    assert all("d" not in key for key in signing.jwks()["keys"])
    assert oct(os.stat(settings.OIDC_SIGNING_KEYS_FILE).st_mode)[-3:] == "600"


def test_production_refuses_to_start_without_a_signing_key():
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OIDC_")},
        "DEBUG": "0",
        "SECRET_KEY": "x" * 50,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Set OIDC_RSA_PRIVATE_KEY or OIDC_SIGNING_KEYS_FILE" in result.stderr


def test_reset_request_answers_the_same_for_unknown_addresses(fleet, smtp_server, django_capture_on_commit_callbacks):
    oauth_services.auth_service_enable(actor=SYSTEM, organization=fleet.org)
    services.end_user_create(actor=SYSTEM, organization=fleet.org, email="f@example.com", password="long-password-1")
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post(f"/oidc/{fleet.org.pk}/forgot", {"email": "f@example.com"})
        unknown = client.post(f"/oidc/{fleet.org.pk}/forgot", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    for response in (known, unknown):
        assert "If an account with that email exists, we sent it a link" in response.content.decode()
    assert len(smtp_server.wait_for("f@example.com")) == 1
    assert not [m for m in smtp_server.messages if "nobody" in m["To"]]


def test_end_users_page_search_keyset_and_actions(fleet, client_for, django_assert_max_num_queries):
    from fleetadmin.idp import selectors

    for i in range(selectors.PAGE_SIZE + 3):
        EndUser.objects.create(organization=fleet.org, email=f"u{i:03}@example.com", created_at=fleet.org.created_at)
    owner = client_for(fleet.owner)
    url = f"/orgs/{fleet.org.pk}/auth/end-users/"
    with django_assert_max_num_queries(20):
        first = owner.get(url)
    assert first.status_code == 200 and "u000@example.com" in first.content.decode()
    assert f"after=u{selectors.PAGE_SIZE - 1:03}%40example.com" in first.content.decode()
    second = owner.get(url, {"after": f"u{selectors.PAGE_SIZE - 1:03}@example.com"})
    assert "u052@example.com" in second.content.decode() and "u000@example.com" not in second.content.decode()
    assert "u007@" in owner.get(url, {"q": "u007"}).content.decode()
    target = EndUser.objects.get(email="u001@example.com")
    assert owner.post(f"{url}{target.pk}/disable/", {"confirm": "disable"}).status_code == 302
    target.refresh_from_db()
    assert target.is_disabled
    assert client_for(fleet.operator).post(f"{url}{target.pk}/enable/").status_code == 403
    assert client_for(fleet.outsider).get(url).status_code == 404
    service_page = owner.get(f"/orgs/{fleet.org.pk}/auth/").content.decode()
    assert f"/oidc/{fleet.org.pk}" in service_page and "<svg" in service_page
