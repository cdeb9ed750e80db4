"""Password reset, the sessions page, and two-factor sign-in (set-up, the code step, policies)."""

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from fleetadmin.accounts.models import UserSession
from fleetadmin.audit.models import AuditEvent
from tests.factories import TEST_PASSWORD, UserFactory
from tests.mailserver import html_body, text_body

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
NEW_PASSWORD = "a-brand-new-passphrase"


def sign_in(client, email, password=TEST_PASSWORD, **extra):
    return client.post(reverse("accounts:login"), {"username": email, "password": password}, **extra)


def code_for(device, drift=0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + drift * device.step
    return f"{totp.token():0{device.digits}d}"


# ---- password reset ---------------------------------------------------------------------------------


def test_sign_in_page_offers_forgot_password(client):
    assert b"Forgot your password?" in client.get(reverse("accounts:login")).content


def test_reset_through_the_received_email_signs_out_other_sessions(
    client, user, smtp_server, django_capture_on_commit_callbacks
):
    other = Client()
    sign_in(other, user.email)
    assert other.get(reverse("fleet:organizations")).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:password_reset"), {"email": user.email.upper()})
    assert response["Location"] == reverse("accounts:password_reset_done")
    (message,) = smtp_server.wait_for(user.email)
    assert message["Subject"] == "Choose a new password for fleetadmin"
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", text_body(message)).group(1)
    assert link in html_body(message)

    form = client.get(link)
    assert form.status_code == 302 and "set-password" in form["Location"]  # the token leaves the URL
    response = client.post(form["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response["Location"] == reverse("accounts:password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert other.get(reverse("fleet:organizations")).status_code == 302  # signed out
    assert AuditEvent.objects.filter(action="accounts.password.reset", actor_name=user.email).count() == 1
    assert b"This link does not work" in Client().get(link, follow=True).content


def without_csrf(response) -> str:
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", response.content.decode())


def test_same_answer_for_unknown_addresses(client, user, smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post(reverse("accounts:password_reset"), {"email": user.email}, follow=True)
        unknown = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"}, follow=True)
    assert without_csrf(known) == without_csrf(unknown)
    assert known.redirect_chain == unknown.redirect_chain
    smtp_server.wait_for(user.email)
    assert [m["To"] for m in smtp_server.messages] == [user.email]


def test_reset_requests_are_throttled_per_address_and_per_account(
    client, user, smtp_server, settings, django_capture_on_commit_callbacks
):
    settings.PASSWORD_RESET_ACCOUNT_LIMIT = 2
    settings.PASSWORD_RESET_ADDRESS_LIMIT = 4
    for _ in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(reverse("accounts:password_reset"), {"email": user.email}).status_code == 302
    smtp_server.wait_for(user.email, count=2)
    assert len(smtp_server.messages) == 2  # the account limit: the page still says the same
    response = client.post(reverse("accounts:password_reset"), {"email": user.email})
    assert response.status_code == 429
    assert "Too many reset requests from your network." in response.content.decode()


def test_bad_reset_email_names_the_field(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "not an email"})
    assert response.status_code == 422 and "Enter a valid email address." in response.content.decode()


# ---- sessions ---------------------------------------------------------------------------------------


def test_sessions_page_lists_browsers_and_signs_out_the_others(user):
    phone, laptop = (
        Client(HTTP_USER_AGENT="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1"),
        Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36"),
    )
    sign_in(phone, user.email, REMOTE_ADDR="203.0.113.9")
    sign_in(laptop, user.email, REMOTE_ADDR="198.51.100.4")
    phone.get(reverse("fleet:organizations"), REMOTE_ADDR="203.0.113.9")
    page = laptop.get(reverse("accounts:sessions")).content.decode()
    assert "Safari on iPhone" in page and "203.0.113.9" in page
    assert "Chrome on Linux" in page and "this browser" in page
    assert UserSession.objects.filter(user=user).count() == 2
    laptop.post(reverse("accounts:sessions_sign_out_others"))
    assert phone.get(reverse("fleet:organizations")).status_code == 302
    assert laptop.get(reverse("fleet:organizations")).status_code == 200
    assert UserSession.objects.filter(user=user).count() == 1


def test_password_change_signs_out_other_sessions(user):
    first, second = Client(), Client()
    sign_in(first, user.email)
    sign_in(second, user.email)
    second.get(reverse("fleet:organizations"))
    response = first.post(
        reverse("accounts:password_change"),
        {"old_password": TEST_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert first.get(reverse("fleet:organizations")).status_code == 200
    assert second.get(reverse("fleet:organizations")).status_code == 302


def test_sessions_page_needs_sign_in(client):
    assert client.get(reverse("accounts:sessions")).status_code == 302


# ---- two-factor -------------------------------------------------------------------------------------


def set_up_totp(client) -> TOTPDevice:
    page = client.get(reverse("accounts:two_factor"))
    assert page.status_code == 200
    content = page.content.decode()
    assert 'src="data:image/svg+xml' in content  # the QR code is rendered here, no CDN
    device = TOTPDevice.objects.get(confirmed=False)
    response = client.post(reverse("accounts:two_factor"), {"code": code_for(device)})
    assert response.status_code == 200
    assert "Save these recovery codes now" in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed
    return device


def test_set_up_totp_then_sign_in_with_a_code(user, client_for):
    device = set_up_totp(client_for(user))
    assert AuditEvent.objects.filter(action="accounts.two_factor.enable").count() == 1

    client = Client()
    response = sign_in(client, user.email)
    assert response["Location"] == reverse("accounts:two_factor_verify")
    assert client.get(reverse("fleet:organizations")).status_code == 302  # not signed in yet
    wrong = client.post(reverse("accounts:two_factor_verify"), {"code": "000000"})
    assert wrong.status_code == 422 and "That code is not right" in wrong.content.decode()
    device.refresh_from_db()
    device.throttling_failure_count = 0  # the wrong code above slowed this device down; wait it out
    device.save()
    response = client.post(reverse("accounts:two_factor_verify"), {"code": code_for(device, drift=1)})
    assert response.status_code == 302
    assert client.get(reverse("fleet:organizations")).status_code == 200


def test_recovery_code_works_once(user, client_for):
    setup = client_for(user)
    page = client_for(user)
    device = set_up_totp(setup)
    codes = page.post(reverse("accounts:two_factor_recovery_codes")).content.decode()
    code = re.findall(r"<li>([0-9a-f]{6}-[0-9a-f]{6})</li>", codes)[0]
    client = Client()
    sign_in(client, user.email)
    assert client.post(reverse("accounts:two_factor_verify"), {"code": code}).status_code == 302
    again = Client()
    sign_in(again, user.email)
    assert again.post(reverse("accounts:two_factor_verify"), {"code": code}).status_code == 422
    assert device.user == user


def test_too_many_wrong_codes_start_over(user, client_for):
    set_up_totp(client_for(user))
    client = Client()
    sign_in(client, user.email)
    for _ in range(4):
        assert client.post(reverse("accounts:two_factor_verify"), {"code": "123456"}).status_code == 422
    response = client.post(reverse("accounts:two_factor_verify"), {"code": "123456"})
    assert response["Location"] == reverse("accounts:login")


def test_wrong_setup_code_is_refused(user, client_for):
    client = client_for(user)
    client.get(reverse("accounts:two_factor"))
    response = client.post(reverse("accounts:two_factor"), {"code": "12"})
    assert response.status_code == 422
    assert not TOTPDevice.objects.filter(confirmed=True).exists()


def test_organization_requiring_two_factor_sends_members_to_set_it_up(fleet, client_for):
    fleet.org.require_two_factor = True
    fleet.org.save()
    client = client_for(fleet.operator)
    overview = reverse("fleet:organization", args=[fleet.org.pk])
    response = client.get(overview)
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("accounts:two_factor")
    page = client.get(response["Location"]).content.decode()
    assert "Acme Robotics requires two-factor sign-in. Set it up to open the organization." in page
    htmx = client.get(overview, **HTMX)
    assert htmx.status_code == 200 and htmx["HX-Redirect"].startswith(reverse("accounts:two_factor"))
    set_up_totp(client)
    assert client.get(overview).status_code == 200
    # Another organization, without the policy, was never in the way; an outsider still gets 404.
    assert client_for(fleet.outsider).get(overview).status_code == 404


def test_members_page_shows_two_factor_status(fleet, client_for):
    TOTPDevice.objects.create(user=fleet.operator, name="Authenticator app", confirmed=True)
    content = client_for(fleet.owner).get(reverse("fleet:members", args=[fleet.org.pk])).content.decode()
    row = content[content.index(fleet.operator.email) :]
    assert row.index("status-enabled") < row.index("</tr>")


def test_support_console_needs_two_factor(db, client_for):
    staff = UserFactory(support=True)
    TOTPDevice.objects.filter(user=staff).delete()
    response = client_for(staff).get(reverse("support:console"))
    assert response.status_code == 302 and urlsplit(response["Location"]).path == reverse("accounts:two_factor")
    set_up_totp(client := client_for(staff))
    assert client.get(reverse("support:console")).status_code == 200


def test_disable_needs_a_current_code(user, client_for):
    client = client_for(user)
    device = set_up_totp(client)
    response = client.post(reverse("accounts:two_factor_disable"), {"disable-code": "999999"})
    assert response.status_code == 422
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.save()
    response = client.post(reverse("accounts:two_factor_disable"), {"disable-code": code_for(device, drift=1)})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
