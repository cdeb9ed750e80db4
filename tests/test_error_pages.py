"""The portal's own 400/403/404/500 pages, in its look; with DEBUG on too for a view's Http404 (issue 12, item 14)."""

import uuid

import pytest
from django.core.exceptions import BadRequest
from django.test import RequestFactory
from django.urls import reverse
from django.views import defaults

from tests.keys.factories import issue

pytestmark = pytest.mark.django_db

PORTAL_LOOK = ('href="/static/css/portal.css"', 'class="error-page card narrow-card"', "Go to your organizations")


def assert_portal_page(response, status: int, heading: str) -> str:
    content = response.content.decode() if hasattr(response, "content") else response
    assert response.status_code == status
    for marker in PORTAL_LOOK:
        assert marker in content, marker
    assert f"<h1>{heading}</h1>" in content
    assert "URLconf" not in content and "Traceback" not in content  # never Django's debug page
    return content


@pytest.mark.parametrize("debug", [False, True], ids=["DEBUG=0", "DEBUG=1"])
def test_an_old_link_to_a_deleted_key_is_the_portals_404(fleet, client_for, settings, debug, clock):
    settings.DEBUG = debug
    key = issue(fleet.owner, fleet.org, name="gone").key
    from fleetadmin.keys.services import api_key_delete

    api_key_delete(actor=fleet.owner, key=key)
    client = client_for(fleet.owner)
    for path in (
        reverse("keys:detail", args=[fleet.org.pk, key.pk]),
        reverse("keys:detail", args=[fleet.org.pk, uuid.uuid4()]),
        reverse("fleet:organization", args=[uuid.uuid4()]),
    ):
        content = assert_portal_page(client.get(path), 404, "Not found")
        assert "was deleted" in content
        assert 'class="topbar"' in content  # the navigation is there to go on from


def test_beyond_role_is_the_portals_403(fleet, client_for, clock):
    key = issue(fleet.owner, fleet.org, name="kept").key
    response = client_for(fleet.operator).get(reverse("keys:rotate", args=[fleet.org.pk, key.pk]))
    assert_portal_page(response, 403, "You do not have access")


def test_the_400_and_500_pages_render_in_the_portals_look(fleet):
    request = RequestFactory().get("/")
    request.user = fleet.owner
    assert_portal_page(defaults.bad_request(request, BadRequest("bad")), 400, "Bad request")
    assert_portal_page(defaults.server_error(request), 500, "Something went wrong")
