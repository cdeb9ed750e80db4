"""Outgoing mail: rendered from templates, sent only after the transaction commits.

A service that mails someone (an invitation, a password reset) calls
``send_after_commit`` inside its ``transaction.atomic`` block. Nothing is sent if
the transaction rolls back, and a failed send never undoes the change: the
caller's ``on_result`` learns whether the message left, so it can show
"not sent — resend" instead of pretending.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template import Context
from django.template.loader import get_template, render_to_string

logger = logging.getLogger(__name__)

# Attempts per message and the pause between them; SMTP servers refuse transiently
# (greylisting, a restart) more often than they refuse for good.
SEND_ATTEMPTS = 3
RETRY_PAUSE_SECONDS = 0.5


@dataclass(frozen=True)
class Mail:
    """One message: ``template`` names ``<template>.subject.txt``, ``<template>.txt`` and ``<template>.html``."""

    to: Sequence[str]
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    reply_to: Sequence[str] = ()

    def render(self) -> EmailMultiAlternatives:
        context = {"site_name": settings.PORTAL_NAME, **self.context}
        subject = " ".join(_render_plain(f"{self.template}.subject.txt", context).split())
        text = _render_plain(f"{self.template}.txt", context)
        html = render_to_string(f"{self.template}.html", context)
        message = EmailMultiAlternatives(
            subject=subject,
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=list(self.to),
            reply_to=list(self.reply_to) or None,
        )
        message.attach_alternative(html, "text/html")
        return message


def _render_plain(name: str, context: dict[str, Any]) -> str:
    """Render a plain-text template without HTML escaping (a name like "O'Brien & Co" stays as typed)."""
    return get_template(name).template.render(Context(context, autoescape=False))


def send_now(mail: Mail, *, attempts: int = SEND_ATTEMPTS) -> bool:
    """Send ``mail``, retrying transient failures; True when the server accepted it. Never raises."""
    message = mail.render()
    for attempt in range(1, attempts + 1):
        try:
            message.send(fail_silently=False)
        except Exception as error:  # any transport failure means "not sent", never a 500
            # The exception text names the server and the reason, never the message body (which may hold a link).
            logger.warning(
                "mail %s not sent (attempt %d of %d): %s", mail.template, attempt, attempts, type(error).__name__
            )
            if attempt < attempts:
                time.sleep(RETRY_PAUSE_SECONDS)
        else:
            return True
    return False


def send_after_commit(mail: Mail, *, on_result: Callable[[bool], None] | None = None) -> None:
    """Send ``mail`` once the current transaction commits; ``on_result(sent)`` runs after the attempt."""

    def deliver() -> None:
        sent = send_now(mail)
        if on_result is not None:
            on_result(sent)

    transaction.on_commit(deliver)
