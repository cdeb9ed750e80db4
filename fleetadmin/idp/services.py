"""The only writers of end users. Each change is one audit event in the same transaction.

Sign-ins and token grants are counted (``idp.auth``), not audited. Mail (invitations,
password resets) leaves only after the transaction commits.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from fleetadmin import audit, clock
from fleetadmin.audit.services import REDACTED, SYSTEM
from fleetadmin.core.mail import Mail, send_after_commit
from fleetadmin.core.text import shown
from fleetadmin.fleet import authz
from fleetadmin.fleet.models import Organization
from fleetadmin.idp.auth import normalize_email
from fleetadmin.idp.models import AccessToken, DeviceGrant, EndUser, EndUserSession, EndUserToken, RefreshToken
from fleetadmin.oauth.models import OAuthApplication

INVITATION_DAYS = 7
RESET_MINUTES = 30
NAME_MAX = 150


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _state(user: EndUser) -> dict:
    return {
        "email": user.email,
        "name": user.name,
        "email_verified": user.email_verified,
        "disabled": user.is_disabled,
        "invited": user.is_invited,
    }


def not_an_email(value: str) -> str:
    """The rule's words, the same on the End users page, in the JSON API and in the CLI."""
    return f"'{shown(value)}' is not an email address, such as ana@example.com"


def name_too_long(length: int) -> str:
    return f"at most {NAME_MAX} characters are accepted; got {length}"


def already_has_an_account(email: str) -> str:
    return f"{email} already has an account in this organization"


def clean_email(email: str) -> str:
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": not_an_email(email)}) from None
    return email


def clean_name(name: str) -> str:
    name = (name or "").strip()
    if len(name) > NAME_MAX:
        raise ValidationError({"name": name_too_long(len(name))})
    return name


def _check_password(password: str) -> None:
    try:
        validate_password(password)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from None


def _insert(user: EndUser) -> None:
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError:
        raise ValidationError({"email": already_has_an_account(user.email)}) from None


def _record(actor, action: str, user: EndUser, changes: dict) -> None:
    audit.record(actor=actor, action=action, organization=user.organization, target=user, changes=changes)


@transaction.atomic
def end_user_create(
    *, actor, organization: Organization, email: str, password: str, name: str = "", email_verified: bool = True
) -> EndUser:
    """An end user who can sign in at once (operators and tests; ``manage.py create_end_user``)."""
    authz.require(actor, "oauth.manage", organization)
    user = EndUser(
        organization=organization,
        email=clean_email(email),
        name=clean_name(name),
        email_verified=email_verified,
        created_at=clock.now(),
    )
    _check_password(password)
    user.password = make_password(password)
    _insert(user)
    _record(actor, "idp.end_user.create", user, {"after": {**_state(user), "password": REDACTED}})
    return user


def _send_invitation(user: EndUser, token: str, base_url: str, on_result=None) -> None:
    link = f"{base_url}/oidc/{user.organization_id}/invitation/{token}"
    send_after_commit(
        Mail(
            to=[user.email],
            template="idp/mail/invitation",
            context={"organization": user.organization, "link": link, "days": INVITATION_DAYS},
        ),
        on_result=on_result,
    )


def _new_invitation(user: EndUser) -> str:
    token = secrets.token_urlsafe(32)
    user.invitation_hash = _hash(token)
    user.invited_at = clock.now()
    return token


@transaction.atomic
def end_user_invite(
    *,
    actor,
    organization: Organization,
    email: str,
    base_url: str,
    name: str = "",
    client: OAuthApplication | None = None,
    on_result=None,
) -> EndUser:
    """Create the account without a password and mail a link to set one (valid for seven days)."""
    authz.require(actor, "oauth.manage", organization)
    user = EndUser(organization=organization, email=clean_email(email), name=clean_name(name), created_at=clock.now())
    if client is not None and client.organization_id == organization.pk:
        user.invited_client = client
    token = _new_invitation(user)
    _insert(user)
    _record(actor, "idp.end_user.invite", user, {"after": _state(user)})
    _send_invitation(user, token, base_url, on_result)
    return user


@transaction.atomic
def end_user_resend_invitation(*, actor, user: EndUser, base_url: str, on_result=None) -> EndUser:
    authz.require(actor, "oauth.manage", user.organization)
    user = EndUser.objects.select_for_update().select_related("organization").get(pk=user.pk)
    if not user.is_invited:
        raise ValidationError(f"{user.email} has no open invitation; they have already set a password.")
    token = _new_invitation(user)
    user.save(update_fields=["invitation_hash", "invited_at"])
    _record(actor, "idp.end_user.resend_invitation", user, {"after": {"invited_at": user.invited_at.isoformat()}})
    _send_invitation(user, token, base_url, on_result)
    return user


@transaction.atomic
def end_user_revoke_invitation(*, actor, user: EndUser) -> None:
    """Withdraw an open invitation: the account, which never had a password, is removed."""
    authz.require(actor, "oauth.manage", user.organization)
    if not user.is_invited or user.has_password:
        raise ValidationError(f"{user.email} has no open invitation to revoke.")
    _record(actor, "idp.end_user.revoke_invitation", user, {"before": _state(user)})
    user.delete()


def invitation_user(organization: Organization, token: str) -> EndUser | None:
    user = EndUser.objects.filter(organization=organization, invitation_hash=_hash(token)).first()
    if user is None or user.invited_at < clock.now() - timedelta(days=INVITATION_DAYS):
        return None
    return user


@transaction.atomic
def end_user_accept_invitation(*, organization: Organization, token: str, password: str) -> EndUser:
    user = invitation_user(organization, token)
    if user is None:
        raise ValidationError("This invitation link has expired or was already used. Ask for a new invitation.")
    _check_password(password)
    user.password = make_password(password)
    user.invitation_hash = ""
    user.email_verified = True  # they received the mail
    user.save(update_fields=["password", "invitation_hash", "email_verified"])
    _record(SYSTEM, "idp.end_user.accept_invitation", user, {"after": {"password": REDACTED, "by": "end user"}})
    return user


def _revoke_everything(user: EndUser) -> int:
    EndUserSession.objects.filter(end_user=user).delete()
    RefreshToken.objects.filter(user=user, revoked__isnull=True).update(revoked=clock.now())
    deleted, _ = AccessToken.objects.filter(user=user).delete()
    return deleted


@transaction.atomic
def end_user_disable(*, actor, user: EndUser) -> EndUser:
    """Refuse sign-in and revoke the end user's sessions and tokens; enabling again lets them sign in."""
    authz.require(actor, "oauth.manage", user.organization)
    if user.is_disabled:
        return user
    user.is_disabled = True
    user.save(update_fields=["is_disabled"])
    _revoke_everything(user)
    _record(actor, "idp.end_user.disable", user, {"before": {"disabled": False}, "after": {"disabled": True}})
    return user


@transaction.atomic
def end_user_enable(*, actor, user: EndUser) -> EndUser:
    authz.require(actor, "oauth.manage", user.organization)
    if not user.is_disabled:
        return user
    user.is_disabled = False
    user.save(update_fields=["is_disabled"])
    _record(actor, "idp.end_user.enable", user, {"before": {"disabled": True}, "after": {"disabled": False}})
    return user


@transaction.atomic
def end_user_delete(*, actor, user: EndUser) -> None:
    authz.require(actor, "oauth.manage", user.organization)
    _record(actor, "idp.end_user.delete", user, {"before": _state(user)})
    user.delete()


@transaction.atomic
def end_user_sign_out_everywhere(*, actor, user: EndUser) -> int:
    """End every browser session and revoke every token of the end user."""
    authz.require(actor, "oauth.manage", user.organization)
    count = _revoke_everything(user)
    _record(actor, "idp.end_user.sign_out_everywhere", user, {"after": {"tokens_revoked": count}})
    return count


def request_password_reset(*, organization: Organization, email: str, base_url: str) -> None:
    """Mail a reset link if the account exists; the caller answers the same either way (no enumeration)."""
    user = EndUser.objects.filter(organization=organization, email=normalize_email(email), is_disabled=False).first()
    if user is None or not user.has_password:
        return
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        EndUserToken.objects.create(
            key_hash=_hash(token),
            end_user=user,
            purpose=EndUserToken.Purpose.RESET,
            expires_at=clock.now() + timedelta(minutes=RESET_MINUTES),
        )
        link = f"{base_url}/oidc/{organization.pk}/reset/{token}"
        send_after_commit(
            Mail(
                to=[user.email],
                template="idp/mail/reset",
                context={"organization": organization, "link": link, "minutes": RESET_MINUTES},
            )
        )


def reset_user(organization: Organization, token: str) -> EndUser | None:
    row = (
        EndUserToken.objects.select_related("end_user")
        .filter(key_hash=_hash(token), purpose=EndUserToken.Purpose.RESET, expires_at__gt=clock.now())
        .first()
    )
    if row is None or row.end_user.organization_id != organization.pk:
        return None
    return row.end_user


@transaction.atomic
def end_user_reset_password(*, organization: Organization, token: str, password: str) -> EndUser:
    user = reset_user(organization, token)
    if user is None:
        raise ValidationError("This reset link has expired or was already used. Ask for a new one.")
    _check_password(password)
    user.password = make_password(password)
    user.save(update_fields=["password"])
    EndUserToken.objects.filter(end_user=user, purpose=EndUserToken.Purpose.RESET).delete()
    _revoke_everything(user)  # a reset signs every other browser out
    _record(SYSTEM, "idp.end_user.reset_password", user, {"after": {"password": REDACTED, "by": "end user"}})
    return user


# ---- the device flow (RFC 8628) ------------------------------------------------------------------


def device_grant_start(
    *,
    organization: Organization,
    client_id: str,
    device_code: str,
    user_code: str,
    scope: str,
    interval: int,
    expires_in: int,
) -> DeviceGrant:
    """Keep a device's pending authorization until its end user decides. Counted like token grants, not audited:
    a client asks for it without anyone signed in, so an audit event here would let any client fill the log."""
    return DeviceGrant.objects.create(
        organization=organization,
        client_id=client_id,
        device_code=device_code,
        user_code=user_code,
        scope=scope,
        interval=interval,
        expires=clock.now() + timedelta(seconds=expires_in),
    )


@transaction.atomic
def device_grant_decide(*, end_user: EndUser, grant: DeviceGrant, approve: bool, client_name: str = "") -> DeviceGrant:
    """The signed-in end user approves or denies a device's request; the device's next poll gets its token or not."""
    grant.status = DeviceGrant.AUTHORIZED if approve else DeviceGrant.DENIED
    grant.user = end_user
    grant.save(update_fields=["status", "user"])
    verb = "approve" if approve else "deny"
    _record(SYSTEM, f"idp.device_grant.{verb}", end_user, {"after": {"client": client_name, "by": "end user"}})
    return grant
