"""Two-factor sign-in on django-otp: one TOTP authenticator app per account, plus single-use recovery codes.

The password step (``accounts.views.SignInView``) never logs a person with a second factor in;
it hands over to the code step, which logs in and marks the session verified
(``django_otp.login``), so ``request.user.is_verified()`` holds for the rest of the session.
"""

from __future__ import annotations

import secrets

import segno
from django.db import transaction
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from fleetadmin import audit

AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
RECOVERY_CODE_COUNT = 10


def has_two_factor(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def users_with_two_factor(user_ids) -> set:
    return set(TOTPDevice.objects.filter(user_id__in=list(user_ids), confirmed=True).values_list("user_id", flat=True))


def pending_authenticator(user) -> TOTPDevice:
    """The unconfirmed authenticator being set up (made on first visit, reused after)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    return device or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


def qr_svg_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// URI as a QR code, an SVG data URI rendered here (no CDN, no script)."""
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2, dark="#111827")


def secret_for_display(device: TOTPDevice) -> str:
    """The base32 secret in groups of four, for typing into an app by hand."""
    import base64

    text = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def _new_recovery_codes(user) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def two_factor_enable(*, actor, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the authenticator with a code from it; returns the recovery codes (shown once), or None if wrong."""
    if device.user_id != actor.pk or device.confirmed:
        raise ValueError("not this account's pending authenticator")
    if not device.verify_is_allowed()[0] or not device.verify_token(_digits(code)):
        return None
    TOTPDevice.objects.filter(user=actor, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(actor)
    audit.record(actor=actor, action="accounts.two_factor.enable", organization=None, target=actor)
    return codes


@transaction.atomic
def recovery_codes_regenerate(*, actor) -> list[str]:
    codes = _new_recovery_codes(actor)
    audit.record(actor=actor, action="accounts.two_factor.recovery_codes", organization=None, target=actor)
    return codes


@transaction.atomic
def two_factor_disable(*, actor, code: str) -> bool:
    """Turn two-factor off; needs a current code (or a recovery code). False when the code is wrong."""
    if match_code(actor, code) is None:
        return False
    TOTPDevice.objects.filter(user=actor).delete()
    StaticDevice.objects.filter(user=actor).delete()
    audit.record(actor=actor, action="accounts.two_factor.disable", organization=None, target=actor)
    return True


def _digits(code: str) -> str:
    return "".join((code or "").split())


def match_code(user, code: str):
    """The device that accepts ``code`` (a 6-digit TOTP code, or a recovery code, used up), else None.

    django-otp throttles each device: after a wrong code, the next try waits, doubling each time.
    """
    code = _digits(code).lower()
    if not code:
        return None
    kind = TOTPDevice if code.isdigit() else StaticDevice  # a wrong kind would count as a failed try
    for device in devices_for_user(user, confirmed=True):
        if not isinstance(device, kind):
            continue
        allowed, _ = device.verify_is_allowed()
        if allowed and device.verify_token(code):
            return device
    return None


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__name=RECOVERY_NAME).count()
