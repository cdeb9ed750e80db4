"""End users in a real browser on the organization's branded pages: sign in, reset a password through a real
email, accept an invitation, approve a device code. No console errors, no CSP violations."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from tests.e2e.oidc_helpers import REDIRECT, app_config, create_end_user, make_apps
from tests.mailserver import text_body


@pytest.fixture(scope="module")
def branded(portal_server, demo_ids):
    org = demo_ids["org"]
    apps = make_apps(
        portal_server,
        org,
        {
            "web": app_config(enabled_grants=["authorization_code", "refresh_token", "device_code"]),
            "invite": app_config(invite_redirect_uri="http://127.0.0.1:9/welcome"),
        },
    )
    portal_server.query(
        "import io; from PIL import Image; from fleetadmin.core.actors import SYSTEM; "
        "from fleetadmin.fleet.models import Organization; from fleetadmin.oauth import services as s; "
        f"b = io.BytesIO(); Image.new('RGB', (120, 40), (31, 79, 209)).save(b, format='PNG'); "
        f"s.logo_set(actor=SYSTEM, organization=Organization.objects.get(pk='{org}'), data=b.getvalue()); print(1)"
    )
    return {"org": org, "apps": apps, "issuer": f"{portal_server.base_url}/oidc/{org}"}


def _answer_callbacks(page) -> None:
    """The applications' own hosts (127.0.0.1:9) are not running; answer for them inside the browser."""
    page.route("http://127.0.0.1:9/**", lambda route: route.fulfill(status=200, body="app", content_type="text/plain"))


def _authorize_url(branded, app) -> str:
    return (
        f"{branded['issuer']}/authorize?response_type=code&client_id={app.client_id}&redirect_uri={REDIRECT}"
        "&scope=openid&state=browser-state&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        "&code_challenge_method=S256"
    )


def _sign_in(page, email: str, password: str) -> None:
    page.locator("#wl-email").fill(email)
    page.locator("#wl-password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_end_user_signs_in_on_the_branded_page(page, portal_server, branded, console_errors):
    email = f"web-{uuid.uuid4().hex[:6]}@example.com"
    create_end_user(portal_server, branded["org"], email)
    _answer_callbacks(page)
    page.goto(_authorize_url(branded, branded["apps"]["web"]))
    assert page.get_by_role("heading", name="Sign in to Acme Robotics").is_visible()
    logo = page.locator(".wl-logo img")
    assert logo.evaluate("img => img.complete && img.naturalWidth") == 120
    assert page.locator("a.wl-email").inner_text() == "help@acme.example"
    assert page.locator(".sidebar, .topbar").count() == 0
    _sign_in(page, email, "wrong-password-1")
    assert "do not match" in page.locator("[data-testid=sign-in-error]").inner_text()
    _sign_in(page, email, "end-user-password-1")
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:9/callback\?code=.+&state=browser-state"))
    assert console_errors == []


def test_forgotten_password_is_reset_through_the_email(page, portal_server, branded, console_errors):
    email = f"reset-{uuid.uuid4().hex[:6]}@example.com"
    create_end_user(portal_server, branded["org"], email)
    page.goto(f"{branded['issuer']}/sign-in")
    page.get_by_role("link", name="Forgot your password?").click()
    page.locator("#wl-email").fill(email)
    page.get_by_role("button", name="Send reset link").click()
    assert "If an account with that email exists" in page.locator("[data-testid=reset-sent]").inner_text()
    link = re.search(r"http://\S+/reset/\S+", text_body(portal_server.smtp.wait_for(email)[0])).group(0)
    page.goto(link)
    page.locator("#wl-password").fill("a-new-password-2")
    page.locator("#wl-password2").fill("a-new-password-2")
    page.get_by_role("button", name="Change password").click()
    assert "Your password was changed" in page.locator(".wl-note").inner_text()
    _sign_in(page, email, "a-new-password-2")
    assert page.locator("[data-testid=end-user-email]").inner_text() == email
    assert console_errors == []


def test_invited_end_user_sets_a_password_and_continues_to_the_app(page, portal_server, branded, console_errors):
    email = f"invite-{uuid.uuid4().hex[:6]}@example.com"
    portal_server.query(
        "from fleetadmin.core.actors import SYSTEM; from fleetadmin.fleet.models import Organization; "
        "from fleetadmin.idp import services; from fleetadmin.oauth.models import OAuthApplication as A; "
        f"o = Organization.objects.get(pk='{branded['org']}'); "
        f"services.end_user_invite(actor=SYSTEM, organization=o, email='{email}', "
        f"base_url='{portal_server.base_url}', "
        f"client=A.objects.get(pk='{branded['apps']['invite'].client_id}')); print(1)"
    )
    link = re.search(r"http://\S+/invitation/\S+", text_body(portal_server.smtp.wait_for(email)[0])).group(0)
    _answer_callbacks(page)
    page.goto(link)
    assert page.get_by_role("heading", name="Welcome to Acme Robotics").is_visible()
    page.locator("#wl-password").fill("invited-password-3")
    page.locator("#wl-password2").fill("invited-password-3")
    page.get_by_role("button", name="Accept and continue").click()
    page.wait_for_url("http://127.0.0.1:9/welcome")
    assert console_errors == []


def test_end_user_approves_a_device_code(page, portal_server, branded, console_errors):
    email = f"device-{uuid.uuid4().hex[:6]}@example.com"
    create_end_user(portal_server, branded["org"], email)
    app = branded["apps"]["web"]
    device = requests.post(
        f"{branded['issuer']}/device_authorization",
        data={"client_id": app.client_id, "scope": "openid"},
        auth=(app.client_id, app.secret),
        timeout=10,
    ).json()
    page.goto(device["verification_uri"])
    _sign_in(page, email, "end-user-password-1")
    page.locator("#wl-user-code").fill(device["user_code"])
    page.get_by_role("button", name="Continue").click()
    assert page.locator("[data-testid=device-code]").inner_text() == device["user_code"]
    page.get_by_role("button", name="Approve").click()
    assert "Device connected" in page.get_by_role("heading").inner_text()
    issued = requests.post(
        f"{branded['issuer']}/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": device["device_code"]},
        auth=(app.client_id, app.secret),
        timeout=10,
    )
    assert issued.status_code == 200 and issued.json()["access_token"]
    assert console_errors == []
