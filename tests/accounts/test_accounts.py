import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def sign_in(client, email, password, **extra):
    return client.post(reverse("accounts:login"), {"username": email, "password": password}, **extra)


def test_sign_in_page_has_labelled_inputs(client):
    content = client.get(reverse("accounts:login")).content.decode()
    assert '<label for="id_username">Email</label>' in content
    assert '<label for="id_password">Password</label>' in content


def test_sign_in_and_out(client, fleet):
    response = sign_in(client, fleet.owner.email, TEST_PASSWORD)
    assert response.status_code == 302
    assert client.get(reverse("fleet:organizations")).status_code == 200
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(reverse("fleet:organizations")).status_code == 302


def test_wrong_password_says_so_without_revealing_which_part(client, user):
    response = sign_in(client, user.email, "wrong-password")
    assert response.status_code == 200
    assert "That email and password do not match an account." in response.content.decode()


def test_repeated_failures_lock_the_account_out(client, user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, user.email, "wrong-password", REMOTE_ADDR="198.51.100.1")
    # Even the right password, from a fresh address, is refused while the account is locked.
    response = sign_in(client, user.email, TEST_PASSWORD, REMOTE_ADDR="198.51.100.2")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()


def test_repeated_failures_lock_the_address_out(client, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"nobody{i}@example.com", "wrong", REMOTE_ADDR="198.51.100.7")
    other = UserFactory()
    response = sign_in(client, other.email, TEST_PASSWORD, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 429


def test_password_change(client, user):
    client.force_login(user)
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "a-much-longer-passphrase",
            "new_password2": "a-much-longer-passphrase",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-much-longer-passphrase")


def test_production_hashes_passwords_with_argon2():
    # The test suite swaps in a fast hasher (see conftest); the settings module is what production runs.
    import portal.settings

    assert portal.settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


# ---- security baseline -----------------------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=", re.I)


@pytest.mark.parametrize("screen", ["login", "organizations", "overview", "rename", "delete", "password", "404"])
def test_pages_carry_security_headers_and_no_inline_code(client, fleet, screen):
    if screen != "login":
        client.force_login(fleet.owner)
    paths = {
        "login": reverse("accounts:login"),
        "organizations": reverse("fleet:organizations"),
        "overview": reverse("fleet:organization", args=[fleet.org.pk]),
        "rename": reverse("fleet:machine_rename", args=[fleet.org.pk, fleet.arm.pk]),
        "delete": reverse("fleet:machine_delete", args=[fleet.org.pk, fleet.arm.pk]),
        "password": reverse("accounts:password_change"),
        "404": "/orgs/00000000-0000-0000-0000-000000000000/",
    }
    response = client.get(paths[screen])
    csp = response["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert not INLINE_STYLE.search(html), INLINE_STYLE.search(html)
    assert '"includeIndicatorStyles": false' in html  # htmx must not inject a <style> the CSP would block


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DEBUG": "0",
        "SECRET_KEY": "x" * 20 + "production-secret-key-with-enough-entropy-1234567890",
        "API_KEY_PEPPERS": "1:production-pepper-with-enough-entropy-0987654321",
        "ALLOWED_HOSTS": "fleet.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        "OIDC_SIGNING_KEYS_FILE": str(tmp_path / "oidc-keys.json"),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_debug_off_refuses_the_development_secret_key(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DEBUG": "0", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "Set SECRET_KEY to a long random value when DEBUG=0." in result.stderr
