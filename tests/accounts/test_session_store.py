"""The session engine: Django's database sessions, read by one written-out statement, on both databases."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fleetadmin.accounts.session_store import SessionStore

pytestmark = pytest.mark.django_db


def test_the_portal_uses_it():
    assert settings.SESSION_ENGINE == "fleetadmin.accounts.session_store"


def test_it_reads_what_django_s_store_wrote_and_django_s_reads_what_it_wrote():
    theirs = DjangoStore()
    theirs.update({"colour": "blue", "n": 3})
    theirs.create()
    ours = SessionStore(theirs.session_key)
    with CaptureQueriesContext(connection) as queries:
        assert dict(ours.items()) == {"colour": "blue", "n": 3}
    assert len(queries) == 1
    ours["n"] = 4
    ours.save()
    assert DjangoStore(theirs.session_key)["n"] == 4


def test_an_expired_or_unknown_session_loads_empty_and_is_not_reused():
    store = SessionStore()
    store["secret"] = "x"
    store.create()
    key = store.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = SessionStore(key)
    assert dict(expired.items()) == {}
    assert expired.session_key is None  # saving starts a new session rather than reviving the expired one
    unknown = SessionStore("x" * 32)
    assert dict(unknown.items()) == {}
    assert unknown.session_key is None


def test_hostile_keys_load_empty_as_a_parameter_and_short_ones_are_not_looked_up():
    stored = SessionStore()
    stored["secret"] = "x"
    stored.create()
    for key in ["a' OR '1'='1", stored.session_key + "' --", "%s%s%s%s", "k" * 5000, "ключ-сессии-1"]:
        store = SessionStore(key)
        assert dict(store.items()) == {}, key
        assert store.session_key is None
    with CaptureQueriesContext(connection) as queries:
        assert dict(SessionStore("short").items()) == {}
    assert len(queries) == 0  # Django's rule: a key under 8 characters is no key
