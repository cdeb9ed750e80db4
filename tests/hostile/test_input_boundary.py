"""The input boundary (portal/input_boundary.py): NUL never reaches the database, over-limit bodies are 413.

These run on both databases; on PostgreSQL each of them was a 500 before the boundary existed.
"""

import json

import pytest
from django.test import Client

from fleetadmin.audit.models import AuditEvent
from fleetadmin.keys.models import ApiKey
from fleetadmin.oauth.validation import MAX_URI_LENGTH, clean_uri
from tests.keys.factories import issue

pytestmark = pytest.mark.django_db

NUL_MESSAGE = "contains a NUL character (U+0000), which is not accepted; remove it"


@pytest.fixture
def owner_key(fleet):
    issued = issue(fleet.owner, fleet.org, name="automation")
    return Client(HTTP_AUTHORIZATION=f"ApiKey {issued.key.pk}:{issued.value}")


def test_a_nul_in_the_user_agent_is_dropped_and_the_audited_write_succeeds(fleet, client_for):
    client = client_for(fleet.owner)
    response = client.post(
        f"/orgs/{fleet.org.pk}/locations/new/",
        {"name": "Dock 7"},
        HTTP_USER_AGENT="Mozilla/5.0\x00 evil\x1b[31m",
    )
    assert response.status_code in {200, 302}
    event = AuditEvent.objects.filter(action="fleet.location.create").latest("pk")
    assert event.user_agent == "Mozilla/5.0 evil[31m"


def test_a_nul_in_the_user_agent_does_not_break_a_sign_in(fleet):
    client = Client(HTTP_USER_AGENT="curl\x00/8")
    response = client.post("/accounts/sign-in/", {"username": fleet.owner.email, "password": "correct-horse-battery"})
    assert response.status_code == 302


@pytest.mark.parametrize(
    "path",
    [
        "/orgs/?q=a%00b",
        "/orgs/{org}/keys/?q=%00",
        "/orgs/{org}/audit/?q=actor:%00",
        "/orgs/{org}/audit/?actor=x%00",
        "/support/?q=%00",
    ],
)
def test_a_nul_in_a_query_string_is_a_400_naming_the_parameter(fleet, client_for, path):
    response = client_for(fleet.owner).get(path.format(org=fleet.org.pk))
    assert response.status_code == 400
    assert NUL_MESSAGE in response.content.decode()
    assert "query parameter '" in response.content.decode()


def test_a_nul_in_an_api_query_string_is_a_json_400(fleet, owner_key):
    response = owner_key.get(f"/api/v1/organizations/{fleet.org.pk}/api-keys?q=%00")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert response.json()["error"]["fields"] == {"q": [NUL_MESSAGE]}


def test_a_nul_in_a_form_field_is_refused_and_nothing_is_written(fleet, client_for):
    before = ApiKey.objects.count()
    response = client_for(fleet.owner).post(
        f"/orgs/{fleet.org.pk}/keys/new/", {"name": "bad\x00name", "scope_type": "organization", "access": "owner"}
    )
    assert response.status_code == 400
    assert "field 'name' " + NUL_MESSAGE in response.content.decode()
    assert ApiKey.objects.count() == before


def test_a_nul_escape_in_a_json_body_names_the_field(fleet, owner_key):
    before = ApiKey.objects.count()
    response = owner_key.post(
        f"/api/v1/organizations/{fleet.org.pk}/api-keys",
        '{"name": "bot\\u0000", "role": "organization_owner"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"name": [NUL_MESSAGE]}
    assert ApiKey.objects.count() == before


def test_an_escaped_backslash_before_u0000_is_not_a_nul(fleet, owner_key):
    response = owner_key.post(
        f"/api/v1/organizations/{fleet.org.pk}/api-keys",
        json.dumps({"name": "literal \\u0000 text"}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert ApiKey.objects.filter(name="literal \\u0000 text").exists()


def test_over_long_form_token_is_a_form_error_not_a_500(fleet, client_for):
    before = ApiKey.objects.count()
    response = client_for(fleet.owner).post(
        f"/orgs/{fleet.org.pk}/keys/new/",
        {"name": "k", "scope_type": "organization", "access": "owner", "form_token": "t" * 10_000},
    )
    assert response.status_code == 422
    assert ApiKey.objects.count() == before


def test_uri_length_is_checked_after_idna_encoding():
    host = "é" * 50 + ".example.com"  # grows from 62 to 68 characters as xn--
    value = f"https://{host}/" + "a" * (MAX_URI_LENGTH - len(f"https://{host}/"))
    assert len(value) == MAX_URI_LENGTH
    with pytest.raises(Exception, match="once its host is written in ASCII"):
        clean_uri(value, field="redirect_uris")


def test_an_idna_uri_over_the_column_through_the_api_is_a_400(fleet, owner_key):
    host = "é" * 50 + ".example.com"
    uri = f"https://{host}/" + "a" * (MAX_URI_LENGTH - len(f"https://{host}/"))
    owner_key.post(f"/api/v1/organizations/{fleet.org.pk}/auth-service/enable")
    response = owner_key.post(
        f"/api/v1/organizations/{fleet.org.pk}/oauth-apps",
        {
            "client_name": "x",
            "client_authentication": "required",
            "pkce": "required",
            "url_validation": "exact_match",
            "enabled_grants": ["authorization_code"],
            "logout_uri": "https://example.com/logout",
            "redirect_uris": [uri],
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "IDNA" in response.json()["error"]["message"]


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/organizations/{org}/api-keys"),
        ("patch", "/api/v1/organizations/{org}/billing-service"),
        ("post", "/api/v1/organizations/{org}/oauth-apps"),
        ("put", "/api/v1/organizations/{org}/support-email"),
    ],
)
def test_an_api_body_over_the_limit_is_a_json_413(fleet, owner_key, settings, debug, method, path):
    settings.DEBUG = debug
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = getattr(owner_key, method)(
        path.format(org=fleet.org.pk), json.dumps({"name": "x" * 2000}), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": {"code": "too_large", "message": "The request body is larger than the 1000-byte limit; send less."}
    }
