"""Issue 12 item 13: a read-only viewer is told so once, where the controls would be, in words for their role."""

import html
import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

OWNER_ONLY = ("Rotate it", "Rotate the key", "Create the first one", "enable billing to charge again", "Edit")


def text_of(response) -> str:
    assert response.status_code == 200
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def pages(fleet, app):
    org = fleet.org.pk
    return {
        "overview": (reverse("fleet:organization", args=[org]), "see its locations, machines and activity"),
        "location": (reverse("fleet:location", args=[org, fleet.hq.pk]), "see this location"),
        "members": (reverse("fleet:members", args=[org]), "see the members but not invite, change or remove them"),
        "billing": (reverse("billing:service", args=[org]), "see the billing configuration"),
        "auth service": (reverse("oauth:service", args=[org]), "see the auth service, its branding and applications"),
        "apps": (reverse("oauth:apps", args=[org]), "see these applications but not create or change them"),
        "app": (reverse("oauth:app_detail", args=[org, app.pk]), "view this application but not edit it"),
        "keys": (reverse("keys:list", args=[org]), "see these keys"),
    }


@pytest.fixture
def app(make_app):
    return make_app().app


@pytest.mark.parametrize("page", ["overview", "location", "members", "billing", "auth service", "apps", "app", "keys"])
def test_an_operator_is_told_once_the_page_is_read_only(fleet, app, client_for, page):
    address, what = pages(fleet, app)[page]
    text = text_of(client_for(fleet.operator).get(address))
    assert text.count("Read-only") == 1, page
    assert f"Read-only As an organization operator you can {what}" in text
    assert "An organization owner can make changes." in text
    for phrase in OWNER_ONLY:
        assert phrase not in text.replace("Read-only", ""), (page, phrase)


@pytest.mark.parametrize("page", ["overview", "location", "members", "billing", "auth service", "apps", "app", "keys"])
def test_an_owner_sees_no_read_only_note(fleet, app, client_for, page):
    address, _ = pages(fleet, app)[page]
    text = text_of(client_for(fleet.owner).get(address))
    assert "Read-only" not in text
    assert "An organization owner can make changes." not in text


def test_a_location_owner_is_not_read_only_on_the_overview(fleet, app, client_for):
    """They may add machines under their location: the page has controls for them, so no note."""
    text = text_of(client_for(fleet.location_owner).get(reverse("fleet:organization", args=[fleet.org.pk])))
    assert "Read-only" not in text
