"""The mail foundation against a real SMTP server: sent after commit, never on rollback, failures reported."""

import pytest
from django.db import transaction

from fleetadmin.core.mail import Mail, send_after_commit, send_now
from tests.mailserver import html_body, text_body

pytestmark = pytest.mark.django_db(transaction=True)

HELLO = Mail(to=["ada@example.com"], template="mail/test/hello", context={"name": "Ada <b>"})


def test_sent_after_commit_in_text_and_html(smtp_server, settings):
    settings.PORTAL_NAME = "Fleet"
    results = []
    with transaction.atomic():
        send_after_commit(HELLO, on_result=results.append)
        assert smtp_server.messages == []  # nothing leaves before the commit
    (message,) = smtp_server.wait_for("ada@example.com")
    assert message["Subject"] == "Hello from Fleet"
    assert text_body(message).strip() == "Hello Ada <b>, this is Fleet."
    assert "Hello Ada &lt;b&gt;, this is Fleet." in html_body(message)
    assert results == [True]


def test_nothing_sent_when_the_transaction_rolls_back(smtp_server):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        send_after_commit(HELLO)
        raise Boom
    assert smtp_server.messages == []


def test_unreachable_server_is_reported_not_raised(unreachable_smtp, monkeypatch, caplog):
    monkeypatch.setattr("fleetadmin.core.mail.RETRY_PAUSE_SECONDS", 0)
    results = []
    with transaction.atomic():
        send_after_commit(HELLO, on_result=results.append)
    assert results == [False]
    assert send_now(HELLO, attempts=1) is False
    assert "not sent (attempt 3 of 3)" in caplog.text
