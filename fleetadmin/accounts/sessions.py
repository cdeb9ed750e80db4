"""The "Your sessions" bookkeeping: which browsers an account is signed in on, and signing them out."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import transaction

from fleetadmin import audit, clock
from fleetadmin.accounts.models import UserSession

SEEN_EVERY = timedelta(seconds=60)  # last-seen is written at most once a minute per session
TRACKED_KEY = "_fa_session"  # in the session: [its key when tracked, last-seen timestamp]


def _store(session_key: str | None = None):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def touch(request) -> None:
    """Record (at most once a minute) that this signed-in session was seen, from where, with what browser."""
    session = request.session
    key = session.session_key
    user_id = session.get(SESSION_KEY)  # the signed-in account, whatever wraps request.user (support access)
    if not key or user_id is None:
        return
    now = clock.now()
    tracked = session.get(TRACKED_KEY)
    if tracked and not isinstance(tracked, list):
        tracked = None
    if tracked and tracked[0] == key and now.timestamp() - tracked[1] < SEEN_EVERY.total_seconds():
        return
    context = {
        "user_id": int(user_id),
        "user_agent": request.headers.get("User-Agent", "")[:400],
        "ip": getattr(request, "client_ip", None) or _client_ip(request),
        "last_seen": now,
    }
    UserSession.objects.update_or_create(
        session_key=key, defaults=context, create_defaults={**context, "created_at": now}
    )
    session[TRACKED_KEY] = [key, now.timestamp()]


def on_sign_in(sender, request, user, **kwargs) -> None:
    """user_logged_in: start tracking the new session at once, so the first page after sign-in costs nothing."""
    if request is not None and hasattr(request, "session"):
        touch(request)


def _client_ip(request):
    from fleetadmin.core.web import client_ip  # the one notion of client address (throttling, audit)

    return client_ip(request)


def active_sessions(user) -> list[UserSession]:
    """The account's sessions that still exist in the session store, newest first (dead rows are dropped)."""
    rows = list(UserSession.objects.filter(user=user).order_by("-last_seen"))
    alive = []
    for row in rows:
        if _store().exists(row.session_key):
            alive.append(row)
        else:
            row.delete()
    return alive


def forget(session_key: str | None) -> None:
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


@transaction.atomic
def sessions_sign_out_others(*, actor, keep: str | None, reason: str = "sign_out_others") -> int:
    """End every session of the account but ``keep`` (None: all of them). Returns how many ended."""
    rows = list(UserSession.objects.filter(user=actor).exclude(session_key=keep or ""))
    for row in rows:
        _store(row.session_key).delete()
    UserSession.objects.filter(pk__in=[row.pk for row in rows]).delete()
    audit.record(
        actor=actor,
        action="accounts.session.sign_out_others",
        organization=None,
        target=actor,
        changes={"after": {"sessions_ended": len(rows), "reason": reason}},
    )
    return len(rows)


@transaction.atomic
def session_sign_out(*, actor, session_id: int) -> bool:
    row = UserSession.objects.filter(user=actor, pk=session_id).first()
    if row is None:
        return False
    _store(row.session_key).delete()
    row.delete()
    audit.record(actor=actor, action="accounts.session.sign_out", organization=None, target=actor)
    return True
