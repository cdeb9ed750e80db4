"""The writers of a portal account's password. Each records one audit event in its transaction."""

from __future__ import annotations

from django.contrib.auth import update_session_auth_hash
from django.db import transaction

from fleetadmin import audit
from fleetadmin.accounts import sessions


@transaction.atomic
def password_change(*, actor, password: str, request) -> None:
    """Set the signed-in account's new password; ``request``'s browser stays signed in, every other one is ended."""
    actor.set_password(password)
    actor.save()
    audit.record(actor=actor, action="accounts.password.change", organization=None, target=actor)
    update_session_auth_hash(request, actor)  # cycles this session's key: keep the new one
    sessions.sessions_sign_out_others(actor=actor, keep=request.session.session_key, reason="password_change")


@transaction.atomic
def password_reset(*, actor, password: str) -> None:
    """Set the password of an account that proved it holds its mailbox; every session of it is ended."""
    actor.set_password(password)
    actor.save()
    audit.record(actor=actor, action="accounts.password.reset", organization=None, target=actor)
    sessions.sessions_sign_out_others(actor=actor, keep=None, reason="password_reset")
