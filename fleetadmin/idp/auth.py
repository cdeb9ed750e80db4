"""End-user sign-in: password check, throttle, and counters. Used by the sign-in page and the password grant.

Throttled per account (organization + email, whether or not it exists, so the lock
says nothing about who has an account) and per client address. The same message
answers a wrong password and an unknown email. Sign-ins are counted (per end user
and per organization and day), not written to the hash-chained audit log.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.db import transaction
from django.db.models import F

from fleetadmin import clock
from fleetadmin.fleet.models import Organization
from fleetadmin.idp.models import EndUser, SignInDay

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
    return [f"idp:fail:acct:{organization.pk}:{email}", f"idp:fail:addr:{address}"]


def _minutes() -> int:
    return max(1, settings.END_USER_SIGN_IN_WINDOW_SECONDS // 60)


def is_locked(organization: Organization, email: str, address: str) -> bool:
    limit = settings.END_USER_SIGN_IN_FAILURE_LIMIT
    return any((cache.get(key) or 0) >= limit for key in _keys(organization, email, address))


def _fail(organization: Organization, email: str, address: str) -> int:
    counts = []
    for key in _keys(organization, email, address):
        cache.add(key, 0, timeout=settings.END_USER_SIGN_IN_WINDOW_SECONDS)
        try:
            counts.append(cache.incr(key))
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=settings.END_USER_SIGN_IN_WINDOW_SECONDS)
            counts.append(1)
    return max(counts)


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def authenticate(*, organization: Organization, email: str, password: str, address: str) -> Result:
    email = normalize_email(email)
    limit = settings.END_USER_SIGN_IN_FAILURE_LIMIT
    if is_locked(organization, email, address):
        return Result(None, LOCKED.format(minutes=_minutes()), locked=True)
    user = EndUser.objects.filter(organization=organization, email=email).first()
    if user is None or not user.password:
        check_password(password or "", _dummy_hash())  # the same work whether or not the account exists
        ok = False
    else:
        ok = check_password(password or "", user.password) and not user.is_disabled
    if ok:
        for key in _keys(organization, email, address)[:1]:
            cache.delete(key)
        record_sign_in(user)
        return Result(user)
    if user is not None:
        EndUser.objects.filter(pk=user.pk).update(
            failed_sign_in_count=F("failed_sign_in_count") + 1, last_failed_sign_in_at=clock.now()
        )
    count = _fail(organization, email, address)
    if count >= limit:
        return Result(None, LOCKED.format(minutes=_minutes()), locked=True)
    left = limit - count
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
