"""End-user sign-in: password check, throttle, and counters. Used by the sign-in page and the password grant.

Throttled per account (organization + email, whether or not it exists, so the lock
says nothing about who has an account) and per client address. The same message
answers a wrong password and an unknown email. Sign-ins are counted (per end user
and per organization and day), not written to the hash-chained audit log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.db.models import F

from fleetadmin import clock
from fleetadmin.fleet.models import Organization
from fleetadmin.idp.models import EndUser, SignInDay, SignInFailures

WRONG_CREDENTIALS = "That email and password do not match an account. Check both and try again."
LOCKED = "Too many failed sign-ins. Sign-in is locked for {minutes} minutes; try again later or reset your password."
LAST_TRIES = "{left} more failed attempt{s} will lock sign-in for {minutes} minutes."
DISABLED = WRONG_CREDENTIALS  # a disabled account is not announced either

_DUMMY_HASH = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = make_password("an unguessable password nobody has")
    return _DUMMY_HASH


@dataclass(frozen=True)
class Result:
    end_user: EndUser | None
    message: str = ""
    locked: bool = False


def _keys(organization: Organization, email: str, address: str) -> list[str]:
    # The email is hashed: the key column holds 200 characters and the form accepts whatever is typed.
    account = hashlib.sha256(email.encode()).hexdigest()
    return [f"idp:fail:acct:{organization.pk}:{account}", f"idp:fail:addr:{address}"]


def _minutes() -> int:
    return max(1, settings.END_USER_SIGN_IN_WINDOW_SECONDS // 60)


def _limits() -> list[int]:
    return [settings.END_USER_SIGN_IN_FAILURE_LIMIT, settings.END_USER_SIGN_IN_ADDRESS_LIMIT]


def _counts(keys: list[str]) -> dict[str, int]:
    rows = SignInFailures.objects.filter(key__in=keys, expires_at__gt=clock.now()).values_list("key", "count")
    return dict(rows)


def is_locked(organization: Organization, email: str, address: str) -> bool:
    keys = _keys(organization, email, address)
    counts = _counts(keys)
    return any(counts.get(key, 0) >= limit for key, limit in zip(keys, _limits(), strict=True))


def _fail(organization: Organization, email: str, address: str) -> int:
    """Count one failure on both keys; return how many tries are left before the first lock."""
    keys = _keys(organization, email, address)
    now = clock.now()
    window = timedelta(seconds=settings.END_USER_SIGN_IN_WINDOW_SECONDS)
    with transaction.atomic():
        SignInFailures.objects.filter(key__in=keys, expires_at__lte=now).delete()
        for key in keys:
            _row, created = SignInFailures.objects.select_for_update().get_or_create(
                key=key, defaults={"count": 1, "expires_at": now + window}
            )
            if not created:
                SignInFailures.objects.filter(pk=key).update(count=F("count") + 1)
    counts = _counts(keys)
    return min(limit - counts.get(key, 0) for key, limit in zip(keys, _limits(), strict=True))


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def authenticate(*, organization: Organization, email: str, password: str, address: str) -> Result:
    email = normalize_email(email)
    if is_locked(organization, email, address):
        return Result(None, LOCKED.format(minutes=_minutes()), locked=True)
    user = EndUser.objects.filter(organization=organization, email=email).first()
    if user is None or not user.password:
        check_password(password or "", _dummy_hash())  # the same work whether or not the account exists
        ok = False
    else:
        ok = check_password(password or "", user.password) and not user.is_disabled
    if ok:
        SignInFailures.objects.filter(key=_keys(organization, email, address)[0]).delete()
        record_sign_in(user)
        return Result(user)
    if user is not None:
        EndUser.objects.filter(pk=user.pk).update(
            failed_sign_in_count=F("failed_sign_in_count") + 1, last_failed_sign_in_at=clock.now()
        )
    left = _fail(organization, email, address)
    if left <= 0:
        return Result(None, LOCKED.format(minutes=_minutes()), locked=True)
    message = WRONG_CREDENTIALS
    if left <= 2:
        message += " " + LAST_TRIES.format(left=left, s="" if left == 1 else "s", minutes=_minutes())
    return Result(None, message)


def record_sign_in(user: EndUser) -> None:
    now = clock.now()
    with transaction.atomic():
        EndUser.objects.filter(pk=user.pk).update(last_sign_in_at=now, sign_in_count=F("sign_in_count") + 1)
        day, _ = SignInDay.objects.get_or_create(organization_id=user.organization_id, day=now.date())
        SignInDay.objects.filter(pk=day.pk).update(count=F("count") + 1)
    user.last_sign_in_at = now
