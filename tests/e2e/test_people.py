"""Organizations and people in a real browser, with mail through a real SMTP server:
bootstrap an organization from the command line, invite a colleague, require two-factor, sign in with TOTP;
reset a forgotten password from the received email; the members CLI."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django_otp.oath import TOTP

from fleetadmin.fleet.rules import unknown_role
from tests.mailserver import html_body, link_in, text_body

PASSWORD = "e2e-people-passphrase-1"


def totp_code(secret_text: str, steps_ahead: int = 1) -> str:
    """The code an authenticator app shows for this secret, ``steps_ahead`` 30-second windows from now.

    django-otp accepts one window of drift and never the same window twice, so a code for the
    next window signs in right after the set-up used the current one.
    """
    key = base64.b32decode(secret_text.replace(" ", "") + "=" * (-len(secret_text.replace(" ", "")) % 8))
    totp = TOTP(key, step=30, t0=0, digits=6)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/sign-in/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.locator("form").get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def set_up_totp(page) -> str:
    """On the two-factor page: read the key by hand (as from the QR code), confirm with a code; returns the key."""
    qr = page.get_by_test_id("totp-qr")
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    secret = page.get_by_test_id("totp-secret").inner_text()
    page.get_by_label("Code").fill(totp_code(secret, steps_ahead=0))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    codes = page.get_by_test_id("recovery-codes")
    codes.wait_for()
    assert len(codes.locator("li").all()) == 10
    return secret


def test_bootstrap_invite_accept_require_two_factor_and_sign_in_with_totp(
    browser, portal_server, smtp_session_server, console_errors
):
    tag = uuid.uuid4().hex[:6]
    owner_email, colleague_email = f"founder-{tag}@example.com", f"colleague-{tag}@example.com"
    org_name = f"Bootstrap {tag}"

    # 1. The first organization of an install, from the command line; the owner sets a password from the link.
    out = portal_server.manage("create_organization", "--name", org_name, "--owner-email", owner_email).stdout
    link = re.search(r"^(http://\S+/accounts/password/reset/\S+/)$", out, re.M).group(1)
    owner = browser.new_context(base_url=portal_server.base_url, viewport={"width": 1280, "height": 900})
    page = owner.new_page()
    console_errors.attach(page)
    page.goto(link)
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Set password").click()
    page.get_by_role("heading", name="Password set").wait_for()

    sign_in(page, owner_email)
    page.wait_for_url("**/orgs/*/")
    assert org_name in page.locator("main").inner_text()
    org_id = page.url.rstrip("/").rsplit("/", 1)[-1]

    # 2. Invite an operator by email.
    page.get_by_role("navigation", name=org_name).get_by_role("link", name="Members").click()
    page.get_by_label("Email", exact=True).fill(colleague_email)
    page.get_by_label("Role", exact=True).select_option("organization_operator")
    page.evaluate("window.__marker = 1")
    page.get_by_role("button", name="Send invitation").click()
    page.locator(".invitations-table").get_by_text(colleague_email).wait_for()
    assert page.evaluate("window.__marker") == 1  # swapped in by htmx
    (message,) = smtp_session_server.wait_for(colleague_email)
    assert org_name in message["Subject"]
    invite_link = link_in(message, r"http://\S+/invitations/\S+/")
    assert invite_link in html_body(message)
    assert invite_link.split("/invitations/")[1].strip("/") not in portal_server.query(
        "import json; from fleetadmin.audit.models import AuditEvent; "
        "print(json.dumps(str(list(AuditEvent.objects.values_list('changes', 'target_name')))))"
    )

    # 3. The colleague follows the link, sets a name and password, and lands in the organization as operator.
    colleague = browser.new_context(base_url=portal_server.base_url)
    their = colleague.new_page()
    console_errors.attach(their)
    their.goto(invite_link)
    assert "/invitations/accept/" in their.url  # the token is off the URL at once
    their.get_by_label("Your name").fill("Col League")
    their.get_by_label("Password", exact=True).fill(PASSWORD)
    their.get_by_label("Password again").fill(PASSWORD)
    their.get_by_role("button", name="Create account and join").click()
    their.get_by_text(f"Welcome to {org_name}. You are organization operator.").wait_for()
    their.get_by_role("navigation", name=org_name).get_by_role("link", name="Members").click()
    row = their.locator("tr", has=their.locator("td:first-child", has_text=colleague_email))
    assert "organization_operator" in row.inner_text()
    assert their.get_by_role("button", name="Send invitation").count() == 0  # read-only below owner

    # 4. The owner turns on two-factor for their own account (the portal insists), then requires it of everyone.
    page.get_by_role("navigation", name=org_name).get_by_role("link", name="Settings").click()
    page.get_by_label("Require two-factor sign-in for every member").check()
    page.get_by_role("button", name="Save policy").click()
    page.get_by_text("Turn on two-factor sign-in for your own account first").wait_for()
    page.get_by_label("Account menu").click()
    page.get_by_role("link", name="Two-factor sign-in").click()
    owner_secret = set_up_totp(page)
    page.get_by_role("link", name="I saved them — continue").click()
    page.goto(f"/orgs/{org_id}/settings/")
    page.get_by_label("Require two-factor sign-in for every member").check()
    page.get_by_role("button", name="Save policy").click()
    page.get_by_text("Members now need two-factor sign-in").wait_for()

    # 5. The colleague without a second factor is stopped, sets one up, and gets in.
    their.reload()
    their.wait_for_url("**/accounts/two-factor/**")
    colleague_secret = set_up_totp(their)
    their.get_by_role("link", name="I saved them — continue").click()
    their.get_by_role("heading", name="Members").wait_for()

    # 6. Both sign in again with a code.
    for context, email, secret in ((owner, owner_email, owner_secret), (colleague, colleague_email, colleague_secret)):
        context.clear_cookies()
        fresh = context.new_page()
        sign_in(fresh, email)
        fresh.wait_for_url("**/accounts/sign-in/code/")
        fresh.get_by_label("Code").fill(totp_code(secret))
        fresh.get_by_role("button", name="Verify").click()
        fresh.wait_for_url("**/orgs/**")
        fresh.goto("/orgs/")
        fresh.locator("main").get_by_role("link", name=org_name).click()
        fresh.get_by_role("navigation", name=org_name).get_by_role("link", name="Members").click()
        members = fresh.locator("tr", has=fresh.locator("td:first-child", has_text=email)).inner_text()
        assert "On" in members  # their two-factor status
    owner.close()
    colleague.close()
    assert not console_errors


def test_forgotten_password_reset_through_the_received_email(page, portal_server, smtp_session_server, console_errors):
    email = f"forgetful-{uuid.uuid4().hex[:6]}@example.com"
    portal_server.manage("create_organization", "--name", f"Reset {email[:16]}", "--owner-email", email)
    page.goto("/accounts/sign-in/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send reset link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    (message,) = smtp_session_server.wait_for(email)
    assert "Someone asked to reset the password of your fleetadmin account." in text_body(message)
    page.goto(link_in(message, r"http://\S+/accounts/password/reset/\S+/"))
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Set password").click()
    page.get_by_role("heading", name="Password set").wait_for()
    sign_in(page, email)
    page.wait_for_url("**/orgs/**")
    assert not console_errors


FLEETADMIN = str(Path(sys.executable).parent / "fleetadmin")


def cli_for(portal_server, tmp_path, org_id: str):
    """`fleetadmin` as a user runs it, logged in with an owner key of ``org_id``."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [FLEETADMIN, *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
        )

    created = portal_server.manage("create_api_key", "--org-id", org_id, "--name", "members-cli").stdout
    key_id = re.search(r"Key ID: (\S+)", created).group(1)
    value = re.search(r"Key Value: (\S+)", created).group(1)
    login = run("login", "api-key", f"--key-id={key_id}", f"--key={value}", f"--base-url={portal_server.base_url}")
    assert login.returncode == 0, login.stderr
    return run


def test_members_cli(portal_server, smtp_session_server, tmp_path):
    tag = uuid.uuid4().hex[:6]
    founder = f"cli-founder-{tag}@example.com"
    out = portal_server.manage("create_organization", "--name", f"CLI {tag}", "--owner-email", founder).stdout
    org_id = re.search(r"\(id: ([0-9a-f-]{36})\)", out).group(1)
    run = cli_for(portal_server, tmp_path, org_id)

    email = f"cli-invitee-{tag}@example.com"
    invited = run(
        "organizations", "members", "invite", "--org-id", org_id, "--email", email, "--role", "organization_operator"
    )
    assert invited.returncode == 0, invited.stderr
    assert invited.stdout.startswith(f"Invited {email} as organization_operator (invitation id: ")
    assert "/invitations/" not in invited.stdout  # the link goes only to the mailbox
    smtp_session_server.wait_for(email)

    listed = run("organizations", "members", "list", "--org-id", org_id, "--invitations")
    assert listed.returncode == 0, listed.stderr
    assert (
        f"{founder} (membership id: " in listed.stdout
        and ": organization_owner on organization, 2FA off" in listed.stdout
    )
    assert f"invited: {email}" in listed.stdout
    (founder_row,) = json.loads(run("organizations", "members", "list", "--org-id", org_id, "--json").stdout)

    demoted = run(
        "organizations",
        "members",
        "set-role",
        "--org-id",
        org_id,
        "--membership-id",
        str(founder_row["id"]),
        "--role",
        "organization_operator",
    )
    assert demoted.returncode == 1
    assert "is the last owner of CLI " in demoted.stderr
    removed = run(
        "organizations", "members", "remove", "--org-id", org_id, "--membership-id", str(founder_row["id"]), "--yes"
    )
    assert removed.returncode == 1 and "is the last owner" in removed.stderr
    bad = run("organizations", "members", "invite", "--org-id", org_id, "--email", email, "--role", "boss")
    assert bad.returncode == 2 and f"Invalid value for '--role': {unknown_role('boss')}" in bad.stderr
