"""The End users page: disable and delete ask for the typed word first (a page of its own, no JavaScript
needed; the same answer to an htmx request); the other actions act at once; operators and outsiders cannot."""

from __future__ import annotations

import html

import pytest

from fleetadmin.audit.models import AuditEvent
from fleetadmin.core.actors import SYSTEM
from fleetadmin.idp import services
from fleetadmin.idp.models import EndUser

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def ana(fleet) -> EndUser:
    return services.end_user_create(
        actor=SYSTEM, organization=fleet.org, email="ana@example.com", password="long-password-1"
    )


def url(fleet, user, action: str) -> str:
    return f"/orgs/{fleet.org.pk}/auth/end-users/{user.pk}/{action}/"


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_the_list_links_to_the_confirmation_pages(fleet, client_for, ana):
    page = client_for(fleet.owner).get(f"/orgs/{fleet.org.pk}/auth/end-users/").content.decode()
    assert f'href="{url(fleet, ana, "disable")}"' in page and f'href="{url(fleet, ana, "delete")}"' in page
    assert f'action="{url(fleet, ana, "sign-out")}"' in page  # acts at once, a POST form


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
@pytest.mark.parametrize("word", ["disable", "delete"])
def test_confirmation_page_then_the_typed_word(fleet, client_for, ana, word, headers):
    owner = client_for(fleet.owner)
    shown = owner.get(url(fleet, ana, word), **headers)
    assert shown.status_code == 200
    assert f"Type “{word}” to confirm" in text(shown) and "ana@example.com" in text(shown)
    assert f'action="{url(fleet, ana, word)}"' in shown.content.decode()
    for typed in ("", "nope", "Disable " if word == "delete" else "delete"):
        refused = owner.post(url(fleet, ana, word), {"confirm": typed}, **headers)
        assert refused.status_code == 422
        assert f"Type {word} to confirm" in text(refused) and "Nothing was changed." in text(refused)
    ana.refresh_from_db()
    assert not ana.is_disabled
    assert not AuditEvent.objects.filter(action=f"idp.end_user.{word}").exists()
    done = owner.post(url(fleet, ana, word), {"confirm": f"  {word.upper()} "}, **headers)
    assert done.status_code == 302 and done["Location"].startswith(f"/orgs/{fleet.org.pk}/auth/end-users/?q=ana")
    if word == "delete":
        assert not EndUser.objects.filter(pk=ana.pk).exists()
    else:
        ana.refresh_from_db()
        assert ana.is_disabled
    assert AuditEvent.objects.filter(action=f"idp.end_user.{word}", target_id=str(ana.pk)).count() == 1
    follow = owner.get(done["Location"])
    expected = "ana@example.com is deleted." if word == "delete" else "ana@example.com is disabled"
    assert expected in text(follow)


def test_enable_and_sign_out_act_at_once_and_only_on_post(fleet, client_for, ana):
    owner = client_for(fleet.owner)
    services.end_user_disable(actor=SYSTEM, user=ana)
    assert owner.get(url(fleet, ana, "enable")).status_code == 405
    assert owner.post(url(fleet, ana, "enable")).status_code == 302
    ana.refresh_from_db()
    assert not ana.is_disabled
    assert owner.post(url(fleet, ana, "sign-out")).status_code == 302
    assert AuditEvent.objects.filter(action="idp.end_user.sign_out_everywhere").count() == 1
    assert owner.post(url(fleet, ana, "no-such-action")).status_code == 404


@pytest.mark.parametrize("word", ["disable", "delete"])
def test_operators_and_outsiders_get_no_confirmation_page(fleet, client_for, ana, word):
    assert client_for(fleet.operator).get(url(fleet, ana, word)).status_code == 403
    assert client_for(fleet.operator).post(url(fleet, ana, word), {"confirm": word}).status_code == 403
    assert client_for(fleet.outsider).post(url(fleet, ana, word), {"confirm": word}).status_code == 404
    ana.refresh_from_db()
    assert not ana.is_disabled


def test_the_invite_form_shows_the_rules_words(fleet, client_for):
    response = client_for(fleet.owner).post(f"/orgs/{fleet.org.pk}/auth/end-users/", {"email": "not-an-email"})
    assert response.status_code == 422
    assert services.not_an_email("not-an-email") in text(response)
    assert "email: " not in text(response)
    assert not EndUser.objects.filter(organization=fleet.org).exists()
