"""The JSON API: every endpoint × every kind of caller, errors as JSON, writes audited with the key as actor."""

import json

import pytest
from django.test import Client

from fleetadmin.audit.models import AuditEvent
from fleetadmin.keys.models import ApiKey
from tests.api.conftest import body, issue, key_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def callers(callers, fleet):
    """The shared callers, and keys scoped below the organization: one machine's, one location's."""
    return {
        **callers,
        "machine_key": key_client(issue(fleet, "robot_owner", fleet.arm)),
        "location_key": key_client(issue(fleet, "location_owner", fleet.hq)),
    }


READS = {
    # path template -> expected status per caller
    "/api/v1/organizations/{org}": {
        "anonymous": 401,
        "other_org_key": 404,
        "machine_key": 200,
        "location_key": 200,
        "operator_key": 200,
        "owner_key": 200,
        "operator": 200,
        "owner": 200,
    },
    "/api/v1/organizations/{org}/machines": {
        "anonymous": 401,
        "other_org_key": 404,
        "machine_key": 200,
        "location_key": 200,
        "operator_key": 200,
        "owner_key": 200,
        "operator": 200,
        "owner": 200,
    },
    "/api/v1/machines/{forklift}": {
        "anonymous": 401,
        "other_org_key": 404,
        "machine_key": 404,
        "location_key": 404,
        "operator_key": 200,
        "owner_key": 200,
        "operator": 200,
        "owner": 200,
    },
    "/api/v1/locations/{line_a}": {
        "anonymous": 401,
        "other_org_key": 404,
        "machine_key": 404,
        "location_key": 200,
        "operator_key": 200,
        "owner_key": 200,
        "operator": 200,
        "owner": 200,
    },
    "/api/v1/organizations/{org}/api-keys": {
        "anonymous": 401,
        "other_org_key": 404,
        "machine_key": 200,
        "location_key": 200,
        "operator_key": 200,
        "owner_key": 200,
        "operator": 200,
        "owner": 200,
    },
    "/api/v1/organizations/{org}/audit-events": {
        "anonymous": 401,
        "other_org_key": 404,
        "machine_key": 403,
        "location_key": 403,
        "operator_key": 200,
        "owner_key": 200,
        "operator": 200,
        "owner": 200,
    },
}


@pytest.mark.parametrize("path", list(READS))
def test_read_matrix(fleet, callers, path):
    url = path.format(org=fleet.org.pk, forklift=fleet.forklift.pk, line_a=fleet.line_a.pk)
    for caller, expected in READS[path].items():
        response = callers[caller].get(url)
        assert response.status_code == expected, (caller, response.content)
        if expected >= 400:
            error = body(response)["error"]
            assert error["code"] and error["message"]


def test_machines_listing_is_scoped_to_the_callers_reach(fleet, callers):
    url = f"/api/v1/organizations/{fleet.org.pk}/machines"
    assert {m["name"] for m in body(callers["owner_key"].get(url))} == {"arm-01", "forklift-01"}
    assert {m["name"] for m in body(callers["location_key"].get(url))} == {"arm-01"}
    assert {m["name"] for m in body(callers["machine_key"].get(url))} == {"arm-01"}


def test_key_listing_shows_only_keys_inside_the_callers_reach(fleet, callers):
    url = f"/api/v1/organizations/{fleet.org.pk}/api-keys"
    everything = body(callers["owner_key"].get(url))["items"]
    for_location = body(callers["location_key"].get(url))["items"]
    assert len(everything) == 4  # the machine, location, operator and owner keys; not Globex's
    assert {k["authorizations"][0]["role"] for k in for_location} <= {"location_owner", "robot_owner"}
    assert all("key" not in k and "secret_hash" not in k for k in everything)


def test_create_keys_at_each_scope_as_the_owner_key(fleet, callers):
    client = callers["owner_key"]
    for path, role in [
        (f"/api/v1/organizations/{fleet.org.pk}/api-keys", "organization_owner"),
        (f"/api/v1/locations/{fleet.hq.pk}/api-keys", "location_owner"),
        (f"/api/v1/machines/{fleet.arm.pk}/api-keys", "robot_owner"),
    ]:
        before = AuditEvent.objects.count()
        response = client.post(path, {"name": f"k-{role}"}, content_type="application/json")
        assert response.status_code == 201, response.content
        created = body(response)
        assert created["key"].startswith("fak_")
        assert created["authorizations"][0]["role"] == role
        assert AuditEvent.objects.count() == before + 1
        event = AuditEvent.objects.latest("id")
        assert event.actor_type == "api_key"
        assert event.action == "keys.api_key.create"
        assert created["key"] not in json.dumps(event.changes)


def test_a_key_never_creates_a_key_with_more_power_than_itself(fleet, callers):
    location_key = callers["location_key"]
    response = location_key.post(f"/api/v1/organizations/{fleet.org.pk}/api-keys", {}, content_type="application/json")
    assert response.status_code == 403
    response = location_key.post(f"/api/v1/machines/{fleet.forklift.pk}/api-keys", {}, content_type="application/json")
    assert response.status_code == 404  # outside its reach: invisible
    operator = callers["operator_key"]
    response = operator.post(f"/api/v1/locations/{fleet.hq.pk}/api-keys", {}, content_type="application/json")
    assert response.status_code == 403
    assert body(response)["error"]["code"] == "forbidden"


def test_bad_input_is_a_400_naming_the_field_and_the_accepted_values(fleet, callers):
    client = callers["owner_key"]
    keys_before = ApiKey.objects.count()
    url = f"/api/v1/organizations/{fleet.org.pk}/api-keys"
    response = client.post(url, {"role": "boss"}, content_type="application/json")
    assert response.status_code == 400
    error = body(response)["error"]
    assert "role" in error["fields"]
    assert "organization_owner" in error["message"] and "robot_operator" in error["message"]
    response = client.post(url, {"role": "location_owner"}, content_type="application/json")
    assert response.status_code == 400
    assert body(response)["error"]["message"] == (
        "role: must be one of organization_owner, organization_operator for an organization key; got 'location_owner'"
    )
    response = client.post(url, "not json", content_type="application/json")
    assert response.status_code == 400
    response = client.post(url, {"expires_at": "yesterday"}, content_type="application/json")
    assert response.status_code == 400
    assert "expires_at" in body(response)["error"]["fields"]
    response = client.get(f"{url}?status=sleeping")
    assert response.status_code == 400 and "status" in body(response)["error"]["fields"]
    response = client.get(f"{url}?after=garbage")
    assert response.status_code == 400
    response = client.get(f"/api/v1/organizations/{fleet.org.pk}/audit-events?q=colour:blue")
    assert response.status_code == 400
    assert "Unknown qualifier 'colour'" in body(response)["error"]["message"]
    assert client.get("/api/v1/organizations/not-a-uuid").status_code in (400, 404)
    assert ApiKey.objects.count() == keys_before  # nothing half-written


def test_rotate_rename_delete_through_the_api(fleet, callers):
    client = callers["owner_key"]
    created = body(
        client.post(f"/api/v1/machines/{fleet.arm.pk}/api-keys", {"name": "rot"}, content_type="application/json")
    )
    key_id = created["id"]
    renamed = client.patch(f"/api/v1/api-keys/{key_id}", {"name": "rot-2"}, content_type="application/json")
    assert renamed.status_code == 200 and body(renamed)["name"] == "rot-2"
    rotated = client.post(f"/api/v1/api-keys/{key_id}/rotate", {"grace": "1h"}, content_type="application/json")
    assert rotated.status_code == 201
    new = body(rotated)
    assert new["id"] != key_id and new["key"].startswith("fak_")
    old = body(client.get(f"/api/v1/api-keys/{key_id}"))
    assert old["replaced_by"] == new["id"] and old["status"] == "expiring"
    # Both values work during the grace period.
    assert Client(HTTP_AUTHORIZATION=f"ApiKey {key_id}:{created['key']}").get("/api/v1/whoami").status_code == 200
    assert Client(HTTP_AUTHORIZATION=f"ApiKey {new['id']}:{new['key']}").get("/api/v1/whoami").status_code == 200
    bad_grace = client.post(f"/api/v1/api-keys/{new['id']}/rotate", {"grace": "2h"}, content_type="application/json")
    assert bad_grace.status_code == 400 and "grace" in body(bad_grace)["error"]["fields"]
    assert client.delete(f"/api/v1/api-keys/{new['id']}").status_code == 204
    assert client.get(f"/api/v1/api-keys/{new['id']}").status_code == 404
    gone = Client(HTTP_AUTHORIZATION=f"ApiKey {new['id']}:{new['key']}").get("/api/v1/whoami")
    assert gone.status_code == 401 and body(gone)["error"]["code"] == "deleted_key"
    actions = list(AuditEvent.objects.filter(actor_type="api_key").order_by("id").values_list("action", flat=True))
    assert actions[-5:] == [
        "keys.api_key.create",
        "keys.api_key.rename",
        "keys.api_key.create",  # the replacement's own creation, then the rotation of the old key
        "keys.api_key.rotate",
        "keys.api_key.delete",
    ]


def test_session_writes_need_the_csrf_token(fleet):
    client = Client(enforce_csrf_checks=True)
    client.force_login(fleet.owner)
    url = f"/api/v1/organizations/{fleet.org.pk}/api-keys"
    refused = client.post(url, {}, content_type="application/json")
    assert refused.status_code in (401, 403)
    assert not ApiKey.objects.exists()
    client.get("/orgs/")  # the portal sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post(url, {}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201, accepted.content
    assert AuditEvent.objects.latest("id").actor_name == fleet.owner.email


def test_openapi_schema_and_docs_are_served_without_external_assets(fleet, client_for):
    schema = client_for().get("/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = body(schema)["paths"]
    for path in [
        "/api/v1/whoami",
        "/api/v1/organizations",
        "/api/v1/organizations/{org_id}/machines",
        "/api/v1/organizations/{org_id}/api-keys",
        "/api/v1/locations/{location_id}/api-keys",
        "/api/v1/machines/{machine_id}/api-keys",
        "/api/v1/api-keys/{key_id}/rotate",
        "/api/v1/organizations/{org_id}/audit-events",
    ]:
        assert path in paths, path
    docs = client_for().get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn." not in html and "https://" not in html


OAUTH_APP = {
    "client_name": "portal",
    "client_authentication": "required",
    "pkce": "required",
    "url_validation": "exact_match",
    "enabled_grants": ["authorization_code", "refresh_token"],
    "redirect_uris": ["https://app.example.com/callback"],
    "logout_uri": "https://app.example.com/logout",
}


# Organization-level settings (auth service, OAuth apps, billing): who reads, who writes.
# "ok" is the write's success status, which differs per endpoint (201 created, 200 changed).
SETTINGS_ACCESS = [
    ("anonymous", 401, 401),
    ("other_org_key", 404, 404),
    ("machine_key", 403, 403),
    ("location_key", 403, 403),
    ("operator_key", 200, 403),
    ("operator", 200, 403),
    ("owner_key", 200, "ok"),
    ("owner", 200, "ok"),
]


@pytest.mark.parametrize(("caller", "read", "write"), SETTINGS_ACCESS)
def test_oauth_endpoints_matrix(fleet, callers, caller, read, write):
    write = 201 if write == "ok" else write
    client = callers[caller]
    base = f"/api/v1/organizations/{fleet.org.pk}"
    assert client.get(f"{base}/auth-service").status_code == read
    assert client.get(f"{base}/oauth-apps").status_code == read
    assert client.get(f"{base}/support-email").status_code == read
    response = client.post(f"{base}/oauth-apps", OAUTH_APP, content_type="application/json")
    assert response.status_code == write, response.content
    if write == 201:
        created = body(response)
        assert created["client_secret"].startswith("fas_")
        read_back = body(client.get(f"{base}/oauth-apps/{created['client_id']}"))
        assert "client_secret" not in read_back and read_back["pkce"] == "required"


def test_oauth_app_update_changes_only_the_given_fields_and_refuses_bad_uris(fleet, callers):
    client = callers["owner_key"]
    base = f"/api/v1/organizations/{fleet.org.pk}/oauth-apps"
    created = body(client.post(base, OAUTH_APP, content_type="application/json"))
    url = f"{base}/{created['client_id']}"
    updated = client.patch(url, {"client_name": "renamed"}, content_type="application/json")
    assert updated.status_code == 200
    assert body(updated)["client_name"] == "renamed"
    assert body(updated)["redirect_uris"] == OAUTH_APP["redirect_uris"]
    refused = client.patch(url, {"redirect_uris": ["http://evil.example.com/cb"]}, content_type="application/json")
    assert refused.status_code == 400
    error = body(refused)["error"]
    assert "redirect_uris" in error["message"] and "https" in error["message"]
    assert body(client.get(url))["redirect_uris"] == OAUTH_APP["redirect_uris"]
    bad_enum = client.patch(url, {"pkce": "maybe"}, content_type="application/json")
    assert (
        bad_enum.status_code == 400
        and "not_required_when_using_client_authentication" in body(bad_enum)["error"]["message"]
    )
    rotated = client.post(f"{url}/rotate-secret")
    assert rotated.status_code == 201 and body(rotated)["client_secret"] != created["client_secret"]
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_logo_through_the_api(fleet, callers):
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 20, 30)).save(buffer, format="PNG")
    client = callers["owner_key"]
    base = f"/api/v1/organizations/{fleet.org.pk}/logo"
    assert body(client.get(base))["url"] is None
    response = client.put(
        base, {"png_base64": base64.b64encode(buffer.getvalue()).decode()}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert body(response)["url"].endswith(
        f"/orgs/{fleet.org.pk}/auth/logo.png?v=" + body(response)["url"].split("v=")[1]
    )
    html = base64.b64encode(b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>").decode()
    refused = client.put(base, {"png_base64": html}, content_type="application/json")
    assert refused.status_code == 400
    garbage = client.put(base, {"png_base64": "%%%"}, content_type="application/json")
    assert garbage.status_code == 400 and "base64" in body(garbage)["error"]["message"]


@pytest.mark.parametrize(
    ("expires_at", "status"),
    [
        ("2099-01-01T00:00:00-19:57", 400),  # an offset no database stores: found by the fuzz test
        ("9999-12-31T23:59:59+00:00", 400),
        ("2030-01-01T00:00:00", 201),  # naive: taken as UTC
        ("2030-01-01T00:00:00+14:00", 201),
    ],
)
def test_key_expiry_is_normalized_to_utc_and_bounded(fleet, callers, expires_at, status):
    response = callers["owner_key"].post(
        f"/api/v1/organizations/{fleet.org.pk}/api-keys", {"expires_at": expires_at}, content_type="application/json"
    )
    assert response.status_code == status, response.content
    if status == 201:
        assert body(response)["expires_at"].endswith("Z") or body(response)["expires_at"].endswith("+00:00")


@pytest.mark.parametrize(("caller", "read", "write"), SETTINGS_ACCESS)
def test_billing_endpoints_matrix(fleet, callers, caller, read, write):
    write = 200 if write == "ok" else write
    client = callers[caller]
    base = f"/api/v1/organizations/{fleet.org.pk}/billing-service"
    assert client.get(base).status_code == read
    response = client.post(
        f"{base}/enable", {"address": "123 Main St, Springfield, IL, 62704"}, content_type="application/json"
    )
    assert response.status_code == write, response.content
    if write == 200:
        config = body(response)
        assert config["enabled"] is True
        assert (
            config["address"] == "123 Main St, Springfield, IL 62704, United States"
            or "Springfield" in config["address"]
        )
        assert config["structured_address"]["zipcode"] == "62704"
        assert config["billing_dashboard_url"].startswith("http")


def test_billing_address_errors_name_the_part_and_the_format(fleet, callers):
    client = callers["owner_key"]
    base = f"/api/v1/organizations/{fleet.org.pk}/billing-service"
    response = client.post(
        f"{base}/enable", {"address": "123 Main St, Springfield, XX, 62704"}, content_type="application/json"
    )
    assert response.status_code == 400
    message = body(response)["error"]["message"]
    assert "state" in message and "XX" in message and "line1, line2 (optional), city, state, zipcode" in message
    assert body(client.get(base))["enabled"] is False  # nothing half-written
    client.post(f"{base}/enable", {"address": "123 Main St, Springfield, IL, 62704"}, content_type="application/json")
    updated = client.patch(
        base, {"address": "1 Rue de Rivoli, Paris, Île-de-France, 75001, France"}, content_type="application/json"
    )
    assert updated.status_code == 200 and body(updated)["structured_address"]["country"] == "FR"
    disabled = client.post(f"{base}/disable")
    assert body(disabled)["enabled"] is False and body(disabled)["structured_address"]["country"] == "FR"
