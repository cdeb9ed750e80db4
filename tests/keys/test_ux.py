"""What the key screens tell a person (issue 12): rotated keys told apart, the real end time, read-only viewers."""

import html
import re

import pytest
from django.urls import reverse

from fleetadmin.audit.links import log_url
from fleetadmin.audit.models import AuditEvent
from fleetadmin.keys import services
from fleetadmin.keys.services import GRACE_PERIODS
from tests.keys.factories import issue

pytestmark = pytest.mark.django_db


def url(name, org, *args):
    return reverse(f"keys:{name}", args=[org.pk, *args])


def text_of(response) -> str:
    """The page's text with tags removed and whitespace collapsed, as a person reads it."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


@pytest.fixture
def rotated(fleet, clock):
    old = issue(fleet.owner, fleet.org, name="metrics-exporter").key
    new = services.api_key_rotate(actor=fleet.owner, key=old, grace=GRACE_PERIODS["24h"]).key
    old.refresh_from_db()
    return old, new


def test_the_list_tells_a_rotated_key_from_its_replacement(fleet, rotated, client_for):
    old, new = rotated
    response = client_for(fleet.owner).get(url("list", fleet.org))
    content = response.content.decode()
    rows = {
        key_id: row
        for row in content.split("<tr>")[1:]
        for key_id in (str(old.pk), str(new.pk))
        if f'name="key" value="{key_id}"' in row
    }
    old_row, new_row = text_of_row(rows[str(old.pk)]), text_of_row(rows[str(new.pk)])
    assert "In grace" in old_row and "Active" not in old_row
    assert "Mar 5, 2025 05:06" in old_row and "end of rotation grace" in old_row  # the real end, not "never"
    assert f"Replaced by {str(new.pk)[:8]}…" in old_row
    assert url("detail", fleet.org, new.pk) in rows[str(old.pk)]
    assert f"Replaces {str(old.pk)[:8]}…" in new_row and "Active" in new_row
    assert url("detail", fleet.org, old.pk) in rows[str(new.pk)]


def text_of_row(row_html: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", row_html)))


def test_the_old_keys_page_names_its_replacement_and_when_it_stops(fleet, rotated, client_for):
    old, new = rotated
    response = client_for(fleet.owner).get(url("detail", fleet.org, old.pk))
    text = text_of(response)
    assert "Works until 2025-03-05 05:06 UTC, the end of its rotation grace period" in text
    assert "Expires never" not in text
    assert "Rotate the key to get a new value" not in text  # there is no Rotate button here
    assert "Its replacement has the new value." in text
    assert f'href="{url("detail", fleet.org, new.pk)}"' in response.content.decode()
    assert "In grace" in text


def test_the_replacement_names_the_key_it_replaces_and_has_its_own_creation(fleet, rotated, client_for):
    old, new = rotated
    response = client_for(fleet.owner).get(url("detail", fleet.org, new.pk))
    assert f'href="{url("detail", fleet.org, old.pk)}"' in response.content.decode()
    assert "Replaces metrics-exporter" in text_of(response)
    assert "keys.api_key.create" in response.content.decode()  # its history starts with its creation


def test_the_rotation_event_links_the_replacement(fleet, rotated, client_for):
    old, new = rotated
    event = AuditEvent.objects.get(action="keys.api_key.rotate", target_id=str(old.pk))
    response = client_for(fleet.owner).get(reverse("audit:event", args=[fleet.org.pk, event.pk]))
    assert f'<a href="{url("detail", fleet.org, new.pk)}">{new.pk}</a>' in response.content.decode()
    created = AuditEvent.objects.get(action="keys.api_key.create", target_id=str(new.pk))
    response = client_for(fleet.owner).get(reverse("audit:event", args=[fleet.org.pk, created.pk]))
    assert f'<a href="{url("detail", fleet.org, old.pk)}">{old.pk}</a>' in response.content.decode()


def test_an_operator_is_told_once_the_key_page_is_read_only(fleet, rotated, client_for):
    _, new = rotated
    response = client_for(fleet.operator).get(url("detail", fleet.org, new.pk))
    text = text_of(response)
    assert text.count("Read-only") == 1
    assert "As an organization operator you can view this key but not rename, rotate or delete it." in text
    assert "Rotate the key" not in text
    owner_text = text_of(client_for(fleet.owner).get(url("detail", fleet.org, new.pk)))
    assert "Read-only" not in owner_text and "Rotate the key to get a new value." in owner_text


# ---- 6. "Never" and a date: refused with a message, never silently dropped


@pytest.mark.parametrize("expiry", ["never", "30d"])
def test_an_expiry_choice_and_a_date_together_are_refused(fleet, client_for, clock, expiry):
    data = {"scope_type": "organization", "access": "owner", "name": "both", "form_token": "t-6"}
    response = client_for(fleet.owner).post(
        url("create", fleet.org), {**data, "expiry": expiry, "expires_on": "2025-06-01"}
    )
    assert response.status_code == 422
    label = {"never": "Never", "30d": "In 30 days"}[expiry]
    assert (
        f"Expires is “{label}” but a date is filled in too (2025-06-01). Choose “On a date” to use the date, "
        "or clear the date." in html.unescape(response.content.decode())
    )
    from fleetadmin.keys.models import ApiKey

    assert not ApiKey.objects.filter(name="both").exists()


def test_an_operator_is_told_once_the_keys_list_is_read_only(fleet, rotated, client_for):
    text = text_of(client_for(fleet.operator).get(url("list", fleet.org)))
    assert text.count("Read-only") == 1
    assert "As an organization operator you can see these keys. An organization owner can make changes." in text
    assert "Read-only" not in text_of(client_for(fleet.owner).get(url("list", fleet.org)))


# ---- 19. the created panel: id:value, a ready curl and `fleetadmin login`, shown once


def test_the_created_panel_offers_ready_lines_once(fleet, client_for, clock):
    data = {"scope_type": "organization", "access": "owner", "name": "ready", "expiry": "never", "form_token": "t-19"}
    response = client_for(fleet.owner).post(url("create", fleet.org), data)
    content = html.unescape(response.content.decode())
    (value,) = set(re.findall(r"fak_[0-9A-Za-z]{46}", content))
    from fleetadmin.keys.models import ApiKey

    key_id = ApiKey.objects.get(name="ready").pk
    assert f'curl -H "Authorization: ApiKey {key_id}:{value}" http://testserver/api/v1/whoami' in content
    assert f"fleetadmin login api-key --key-id {key_id} --key {value} --base-url http://testserver" in content
    assert f'data-copy="{key_id}:{value}"' in content
    assert response["Cache-Control"].startswith("no-store")
    assert value not in client_for(fleet.owner).get(url("detail", fleet.org, key_id)).content.decode()


# ---- 20. deleted keys on request, and the last address that used a key


def test_the_list_shows_deleted_keys_when_asked(fleet, client_for, clock):
    gone = issue(fleet.owner, fleet.org, name="retired-bot").key
    services.api_key_delete(actor=fleet.owner, key=gone)
    client = client_for(fleet.owner)
    assert str(gone.pk) not in client.get(url("list", fleet.org)).content.decode()
    response = client.get(url("list", fleet.org), {"status": "deleted"})
    content = response.content.decode()
    assert str(gone.pk) in content and "Deleted" in text_of(response)
    history = log_url(fleet.org, target_type="keys.apikey", target_id=gone.pk)
    assert f'href="{history}"' in content and f"target%3A{gone.pk}" in history  # its history, not a 404
    assert f'value="{gone.pk}"' not in content  # nothing to select for deletion
    assert '<option value="deleted" selected>Deleted</option>' in content


def test_the_last_address_that_used_a_key_is_shown(fleet, client_for, clock):
    issued = issue(fleet.owner, fleet.org, name="edge-bot")
    from django.test import Client

    caller = Client(REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION=f"ApiKey {issued.key.pk}:{issued.value}")
    assert caller.get("/api/v1/whoami").status_code == 200
    assert "from 203.0.113.9" in text_of(client_for(fleet.owner).get(url("list", fleet.org)))
    assert "from 203.0.113.9" in text_of(client_for(fleet.owner).get(url("detail", fleet.org, issued.key.pk)))
