"""A real SMTP server for tests (aiosmtpd), on a free loopback port.

Use the ``smtp_server`` fixture: it starts the server, points Django's mail
settings at it for the test, and collects every message it accepts. For a
server process (gunicorn in the e2e harness), pass ``smtp_server.url`` as
``EMAIL_URL``.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class _Handler:
    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls this hook by name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: _Handler

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            return list(self.handler.messages)

    def clear(self) -> None:
        with self.handler.lock:
            self.handler.messages.clear()

    def wait_for(self, to: str, *, timeout: float = 10.0, count: int = 1) -> list[EmailMessage]:
        """Messages to ``to``, waiting until ``count`` have arrived; AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.messages if to.lower() in m["X-Envelope-To"].lower()]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail to {to} within {timeout} s; got {[m['To'] for m in self.messages]}")
            time.sleep(0.05)


def text_body(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_body(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def start_smtp_server() -> tuple[SmtpServer, Controller]:
    handler = _Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    return SmtpServer(host="127.0.0.1", port=controller.port, handler=handler), controller


@pytest.fixture
def smtp_server(settings) -> Iterator[SmtpServer]:
    """A running SMTP server that Django's mail settings point at for this test."""
    server, controller = start_smtp_server()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def unreachable_smtp(settings) -> None:
    """Mail settings pointing at a loopback port where nothing listens."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    settings.EMAIL_TIMEOUT = 2


@pytest.fixture(scope="session")
def smtp_session_server() -> Iterator[SmtpServer]:
    """One SMTP server for a whole session (the e2e portal process sends to it via ``EMAIL_URL=.url``).

    It does not touch Django's settings; tests find their messages with ``wait_for(to)``, so use
    addresses no other test uses.
    """
    server, controller = start_smtp_server()
    try:
        yield server
    finally:
        controller.stop()


def link_in(message: EmailMessage, pattern: str = r"https?://\S+") -> str:
    """The first link in a message's plain-text body that matches ``pattern``."""
    import re

    match = re.search(pattern, text_body(message))
    if match is None:
        raise AssertionError(f"no link matching {pattern!r} in:\n{text_body(message)}")
    return match.group(0)
