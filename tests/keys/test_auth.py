"""API-key authentication: authenticate_key directly and over HTTP through GET /api/v1/whoami."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from fleetadmin.audit.models import AuditEvent
from fleetadmin.fleet import authz
from fleetadmin.fleet.models import Role
from fleetadmin.keys import services, tokens
from fleetadmin.keys.auth import ApiKeyPrincipal, AuthenticationFailed, authenticate_key
from fleetadmin.keys.models import ApiKey, ApiKeyAuthorization
from fleetadmin.keys.services import GRACE_PERIODS, KEY_PREFIX
from tests.conftest import T0
from tests.keys.factories import issue

pytestmark = pytest.mark.django_db

WHOAMI = "/api/v1/whoami"
HEADER_HELP = "send the header 'Authorization: ApiKey <key-id>:<key-value>'"


def whoami(key_id=None, value=None, *, header=None, ip="10.0.0.1"):
    """GET whoami from ``ip`` with ``Authorization: ApiKey <key_id>:<value>`` (or the raw ``header``)."""
    extra = {"REMOTE_ADDR": ip}
    if header is None and key_id is not None:
        header = f"ApiKey {key_id}:{value}"
    if header is not None:
        extra["HTTP_AUTHORIZATION"] = header
    return Client().get(WHOAMI, **extra)


def assert_rejected(response, code, message, status=401):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"error": {"code": code, "message": message}}
    if status == 401:
        assert response["WWW-Authenticate"] == 'ApiKey realm="fleetadmin"'


def described_by(response) -> dict:
    """whoami's body without the fields that do not apply to this kind of caller (sent as null)."""
    return {field: value for field, value in response.json().items() if value is not None}


def a_well_formed_value():
    return tokens.generate(KEY_PREFIX)


def last_used(key):
    return ApiKey.objects.values_list("last_used_at", flat=True).get(pk=key.pk)


# ---- success ---------------------------------------------------------------------------------------


def test_a_valid_key_is_accepted_and_described(fleet, clock):
    issued = issue(fleet.owner, fleet.hq, name="ci deploy", expires_at=T0 + timedelta(days=30))
    services.api_key_authorization_add(
        actor=fleet.owner, key=issued.key, grant=services.Grant(role=Role.ROBOT_OPERATOR, resource=fleet.forklift)
    )
    response = whoami(issued.key.pk, issued.value)
    assert response.status_code == 200
    assert described_by(response) == {
        "type": "api_key",
        "key_id": str(issued.key.pk),
        "name": "ci deploy",
        "organization_id": str(fleet.org.pk),
        "expires_at": "2025-04-03T05:06:07+00:00",
        "authorizations": [
            {"role": "location_owner", "resource_type": "location", "resource_id": str(fleet.hq.pk)},
            {"role": "robot_operator", "resource_type": "robot", "resource_id": str(fleet.forklift.pk)},
        ],
    }
    assert "WWW-Authenticate" not in response


def test_an_organization_key_reports_the_organization_as_its_resource(fleet, clock):
    issued = issue(fleet.owner, fleet.org)
    body = whoami(issued.key.pk, issued.value).json()
    assert body["authorizations"] == [
        {"role": "organization_owner", "resource_type": "organization", "resource_id": str(fleet.org.pk)}
    ]
    assert body.get("expires_at") is None  # no expiry: null or left out


def test_authenticate_key_returns_a_principal_that_the_audit_log_records_as_the_key(fleet, clock):
    issued = issue(fleet.owner, fleet.org, name="ci")
    principal = authenticate_key(issued.key.pk, issued.value)
    assert isinstance(principal, ApiKeyPrincipal)
    assert principal.key == issued.key and principal.pk == issued.key.pk
    assert principal.is_authenticated and not principal.is_staff
    identity = principal.audit_identity()
    assert (identity.type, identity.id, identity.name) == ("api_key", str(issued.key.pk), "ci")


def test_a_signed_in_user_without_a_key_is_described_as_the_user(fleet, client_for):
    response = client_for(fleet.owner).get(WHOAMI)
    assert response.status_code == 200
    body = response.json()
    assert (body["type"], body["email"], body["user_id"]) == ("user", fleet.owner.email, str(fleet.owner.pk))
    assert not body.get("key_id")


# ---- rejections ------------------------------------------------------------------------------------


def test_missing_credentials(fleet):
    assert_rejected(whoami(), "missing_credentials", f"Missing credentials: {HEADER_HELP}.")


def test_an_empty_authorization_header_is_missing_credentials(fleet):
    assert_rejected(whoami(header=""), "missing_credentials", f"Missing credentials: {HEADER_HELP}.")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer abc",
        "Basic dXNlcjpwYXNz",
        "apikey 0b8f3c9e-6d3b-4c1e-9a55-8d7f6f0e2b11:fak_x",  # the scheme is case-sensitive
        "ApiKey",
        "ApiKey 0b8f3c9e-6d3b-4c1e-9a55-8d7f6f0e2b11",  # no colon, no value
    ],
)
def test_malformed_credentials(fleet, header):
    assert_rejected(whoami(header=header), "malformed_credentials", f"Malformed credentials: {HEADER_HELP}.")


@pytest.mark.parametrize("key_id", ["not-a-uuid", "12345", "../../etc"])
def test_a_key_id_that_is_not_a_uuid_is_malformed(fleet, key_id):
    assert_rejected(
        whoami(header=f"ApiKey {key_id}:{a_well_formed_value()}"),
        "malformed_credentials",
        f"Malformed key id '{key_id}': a key id is a UUID.",
    )


def test_a_very_long_key_id_is_echoed_truncated(fleet):
    assert_rejected(
        whoami(header=f"ApiKey {'x' * 500}:{a_well_formed_value()}"),
        "malformed_credentials",
        f"Malformed key id '{'x' * 40}': a key id is a UUID.",
    )


MALFORMED_KEY = "The key value is malformed (wrong prefix, length or checksum); check that it was copied whole."


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda v: v[:-1], id="truncated"),
        pytest.param(lambda v: v[:-1] + ("0" if v[-1] != "0" else "1"), id="checksum"),
        pytest.param(lambda v: v[:10] + ("0" if v[10] != "0" else "1") + v[11:], id="typo"),
        pytest.param(lambda v: "sk_" + v[4:], id="prefix"),
        pytest.param(lambda v: "", id="empty"),
    ],
)
def test_a_malformed_value_is_rejected_before_any_lookup(fleet, clock, mangle, django_assert_num_queries):
    issued = issue(fleet.owner, fleet.org)
    with django_assert_num_queries(0), pytest.raises(AuthenticationFailed) as excinfo:
        authenticate_key(issued.key.pk, mangle(issued.value))
    assert (excinfo.value.code, excinfo.value.message) == ("malformed_key", MALFORMED_KEY)
    assert_rejected(whoami(issued.key.pk, mangle(issued.value)), "malformed_key", MALFORMED_KEY)


def test_an_unknown_key_id(fleet):
    key_id = uuid.uuid4()
    assert_rejected(whoami(key_id, a_well_formed_value()), "unknown_key", f"Unknown API key id {key_id}.")


def test_a_wrong_value(fleet, clock):
    issued = issue(fleet.owner, fleet.org)
    other = issue(fleet.owner, fleet.org)
    for value in (a_well_formed_value(), other.value):  # a random value, or another key's
        assert_rejected(
            whoami(issued.key.pk, value), "wrong_value", f"The key value does not match API key {issued.key.pk}."
        )
    assert last_used(issued.key) is None


def test_a_deleted_key(fleet, clock):
    issued = issue(fleet.owner, fleet.org)
    clock.advance(hours=1)
    services.api_key_delete(actor=fleet.owner, key=issued.key)
    assert_rejected(
        whoami(issued.key.pk, issued.value),
        "deleted_key",
        f"API key {issued.key.pk} was deleted at 2025-03-04T06:06:07Z.",
    )


def test_an_expired_key(fleet, clock):
    issued = issue(fleet.owner, fleet.org, expires_at=T0 + timedelta(days=1))
    clock.advance(days=1, seconds=-1)
    assert whoami(issued.key.pk, issued.value).status_code == 200
    clock.advance(seconds=1)  # exactly at expires_at: no longer valid
    assert_rejected(
        whoami(issued.key.pk, issued.value), "expired_key", f"API key {issued.key.pk} expired at 2025-03-05T05:06:07Z."
    )


def test_after_rotation_with_a_grace_both_values_work_until_the_grace_ends(fleet, clock):
    old = issue(fleet.owner, fleet.org)
    new = services.api_key_rotate(actor=fleet.owner, key=old.key, grace=GRACE_PERIODS["1h"])
    assert whoami(old.key.pk, old.value).status_code == 200
    clock.advance(minutes=59)
    assert whoami(old.key.pk, old.value).status_code == 200
    assert whoami(new.key.pk, new.value).status_code == 200
    clock.advance(minutes=2)
    assert_rejected(
        whoami(old.key.pk, old.value),
        "rotated_out_key",
        f"API key {old.key.pk} was rotated out at 2025-03-04T06:06:07Z; use its replacement {new.key.pk}.",
    )
    assert whoami(new.key.pk, new.value).status_code == 200
    # The values are not interchangeable between the two ids.
    assert whoami(new.key.pk, old.value).json()["error"]["code"] == "wrong_value"


def test_after_rotation_without_a_grace_the_old_value_stops_at_once(fleet, clock):
    old = issue(fleet.owner, fleet.org)
    new = services.api_key_rotate(actor=fleet.owner, key=old.key, grace=GRACE_PERIODS["none"])
    assert_rejected(
        whoami(old.key.pk, old.value),
        "rotated_out_key",
        f"API key {old.key.pk} was rotated out at 2025-03-04T05:06:07Z; use its replacement {new.key.pk}.",
    )
    assert whoami(new.key.pk, new.value).status_code == 200


def test_a_key_made_under_an_old_pepper_keeps_working_after_the_pepper_changes(fleet, clock, settings):
    settings.API_KEY_PEPPERS = {"1": "a", "2": "b"}
    settings.API_KEY_PEPPER_ID = "1"
    before = issue(fleet.owner, fleet.org)
    settings.API_KEY_PEPPER_ID = "2"
    after = issue(fleet.owner, fleet.org)
    assert (before.key.pepper_id, after.key.pepper_id) == ("1", "2")
    assert whoami(before.key.pk, before.value).status_code == 200
    assert whoami(after.key.pk, after.value).status_code == 200
    settings.API_KEY_PEPPERS = {"2": "b"}  # pepper "1" retired: its keys stop verifying
    assert whoami(before.key.pk, before.value).json()["error"]["code"] == "wrong_value"


def test_rejections_are_not_audited_and_change_nothing(fleet, clock):
    issued = issue(fleet.owner, fleet.org)
    events = AuditEvent.objects.count()
    whoami(issued.key.pk, a_well_formed_value())
    whoami(uuid.uuid4(), issued.value)
    assert AuditEvent.objects.count() == events
    assert last_used(issued.key) is None


# ---- throttling ------------------------------------------------------------------------------------


def test_too_many_failures_from_one_address_are_throttled_but_a_valid_key_still_works(fleet, clock, settings):
    settings.API_KEY_FAILURE_LIMIT = 3
    issued = issue(fleet.owner, fleet.org)
    failures = [
        whoami(header="Bearer nope"),
        whoami(uuid.uuid4(), a_well_formed_value()),
        whoami(issued.key.pk, a_well_formed_value()),
    ]
    assert [r.status_code for r in failures] == [401, 401, 401]
    assert_rejected(
        whoami(uuid.uuid4(), a_well_formed_value()),
        "too_many_failures",
        "Too many failed API-key authentications from this address; wait and retry.",
        status=429,
    )
    assert whoami(header="ApiKey garbage").status_code == 429  # no reason given once over the limit
    # A correct key id and value authenticate whatever the address's failure count (a shared proxy address,
    # a misconfigured script next to a working one).
    assert whoami(issued.key.pk, issued.value).status_code == 200
    assert last_used(issued.key) == T0
    assert whoami(uuid.uuid4(), a_well_formed_value(), ip="10.0.0.2").status_code == 401  # another address


def test_failures_against_one_key_are_throttled_per_key_from_any_address(fleet, clock, settings):
    settings.API_KEY_FAILURE_LIMIT = 3
    issued = issue(fleet.owner, fleet.org)
    other = issue(fleet.owner, fleet.org)
    for n in range(3):
        assert whoami(issued.key.pk, a_well_formed_value(), ip=f"10.1.0.{n}").status_code == 401
    assert_rejected(
        whoami(issued.key.pk, a_well_formed_value(), ip="10.1.0.9"),
        "too_many_failures",
        f"Too many failed authentications of API key {issued.key.pk}; wait and retry.",
        status=429,
    )
    assert whoami(issued.key.pk, issued.value, ip="10.1.0.9").status_code == 200  # the right value still works
    assert whoami(other.key.pk, a_well_formed_value(), ip="10.1.0.10").status_code == 401  # other keys unaffected


def test_unknown_key_ids_get_no_per_key_counter(fleet, clock, settings):
    from django.core.cache import cache

    settings.API_KEY_FAILURE_LIMIT = 3
    key_id = uuid.uuid4()
    whoami(key_id, a_well_formed_value())
    assert cache.get(f"apikey-failures:key:{key_id}") is None
    assert cache.get("apikey-failures:ip:10.0.0.1") == 1


def test_failures_below_the_limit_do_not_throttle(fleet, clock, settings):
    settings.API_KEY_FAILURE_LIMIT = 3
    issued = issue(fleet.owner, fleet.org)
    for _ in range(2):
        whoami(issued.key.pk, a_well_formed_value())
    assert whoami(issued.key.pk, issued.value).status_code == 200


# ---- last used -------------------------------------------------------------------------------------


def test_use_updates_last_used_at_most_once_a_minute(fleet, clock):
    issued = issue(fleet.owner, fleet.org)
    key_table = ApiKey._meta.db_table

    def updates_during(request):
        with CaptureQueriesContext(connection) as queries:
            assert request().status_code == 200
        return [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and key_table in q["sql"]]

    assert len(updates_during(lambda: whoami(issued.key.pk, issued.value))) == 1
    assert last_used(issued.key) == T0
    clock.advance(seconds=59)
    assert updates_during(lambda: whoami(issued.key.pk, issued.value)) == []
    assert last_used(issued.key) == T0
    clock.advance(seconds=2)
    assert len(updates_during(lambda: whoami(issued.key.pk, issued.value))) == 1
    assert last_used(issued.key) == T0 + timedelta(seconds=61)


def test_authentication_query_count(fleet, clock, django_assert_num_queries):
    issued = issue(fleet.owner, fleet.org)
    # the key with its authorizations (one query), the last-used update
    with django_assert_num_queries(2):
        authenticate_key(issued.key.pk, issued.value)
    # the key with its authorizations: last used was written less than a minute ago
    with django_assert_num_queries(1):
        principal = authenticate_key(issued.key.pk, issued.value)
    assert [a.role for a in principal.authorizations] == ["organization_owner"]
    assert principal.authorizations[0].key is principal.key


def test_an_authenticated_api_request_makes_one_query(fleet, clock, django_assert_num_queries):
    issued = issue(fleet.owner, fleet.hq)
    services.api_key_authorization_add(
        actor=fleet.owner, key=issued.key, grant=services.Grant(role=Role.ROBOT_OPERATOR, resource=fleet.forklift)
    )
    with django_assert_num_queries(2):  # the key with both authorizations; the last-used write
        assert whoami(issued.key.pk, issued.value).status_code == 200
    clock.advance(seconds=30)
    with django_assert_num_queries(1):  # within the minute: the key with its authorizations, nothing else
        response = whoami(issued.key.pk, issued.value)
    assert [a["resource_id"] for a in response.json()["authorizations"]] == [str(fleet.hq.pk), str(fleet.forklift.pk)]


@pytest.mark.parametrize("event", ["unknown", "wrong_value", "deleted", "rotated_out", "expired"])
def test_a_refused_key_costs_one_query_too(fleet, clock, event, django_assert_num_queries):
    issued = issue(fleet.owner, fleet.org, expires_at=T0 + timedelta(days=1))
    key_id, value = issued.key.pk, issued.value
    if event == "unknown":
        key_id = uuid.uuid4()
    elif event == "wrong_value":
        value = a_well_formed_value()
    elif event == "deleted":
        services.api_key_delete(actor=fleet.owner, key=issued.key)
    elif event == "rotated_out":
        services.api_key_rotate(actor=fleet.owner, key=issued.key, grace=GRACE_PERIODS["none"])
    else:
        clock.advance(days=2)
    with django_assert_num_queries(1), pytest.raises(AuthenticationFailed) as refused:
        authenticate_key(key_id, value)
    codes = {"unknown": "unknown_key", "wrong_value": "wrong_value", "deleted": "deleted_key"}
    assert refused.value.code == {**codes, "rotated_out": "rotated_out_key", "expired": "expired_key"}[event]


def test_a_key_whose_last_authorization_was_removed_loads_in_one_query_with_none(
    fleet, clock, django_assert_num_queries
):
    issued = issue(fleet.owner, fleet.hq, fleet.forklift)
    for authorization in list(issued.key.authorizations.all()):
        ApiKeyAuthorization.objects.filter(pk=authorization.pk).delete()  # the service keeps one; rows can still go
    with django_assert_num_queries(2):  # the key (no authorizations); the last-used write
        principal = authenticate_key(issued.key.pk, issued.value)
    assert principal.authorizations == [] and principal.fleet_grants() == []
    assert not authz.can(principal, "fleet.view", fleet.org)


def test_the_loaded_key_and_authorizations_equal_what_the_orm_loads(fleet, clock):
    """The one-statement load converts every column as the ORM does (UUIDs, aware datetimes, addresses)."""
    issued = issue(fleet.owner, fleet.hq, name="converted", expires_at=T0 + timedelta(days=3))
    services.api_key_authorization_add(
        actor=fleet.owner, key=issued.key, grant=services.Grant(role=Role.ROBOT_OWNER, resource=fleet.forklift)
    )
    authenticate_key(issued.key.pk, issued.value)  # writes last_used_at and last_used_ip
    principal = authenticate_key(issued.key.pk, issued.value)
    stored = ApiKey.objects.get(pk=issued.key.pk)
    for field in ApiKey._meta.concrete_fields:
        loaded, expected = getattr(principal.key, field.attname), getattr(stored, field.attname)
        assert (loaded, type(loaded)) == (expected, type(expected)), field.name
    assert principal.key.last_used_at == T0 and principal.key.last_used_at.utcoffset() == timedelta(0)
    assert principal.key._state.adding is False and principal.key._state.db == "default"
    stored_authorizations = list(stored.authorizations.order_by("id"))
    assert [a.pk for a in principal.authorizations] == [a.pk for a in stored_authorizations]
    for loaded, expected in zip(principal.authorizations, stored_authorizations, strict=True):
        for field in type(expected)._meta.concrete_fields:
            assert getattr(loaded, field.attname) == getattr(expected, field.attname), field.name
            assert type(getattr(loaded, field.attname)) is type(getattr(expected, field.attname)), field.name


# ---- authorization through fleet.authz -------------------------------------------------------------


def principal(fleet, resource, role=None):
    issued = issue(fleet.owner, resource, role=role)
    return authenticate_key(issued.key.pk, issued.value)


def test_an_organization_owner_key_manages_the_organization(fleet, clock):
    actor = principal(fleet, fleet.org)
    assert authz.can(actor, "keys.manage", fleet.org)
    assert authz.can(actor, "fleet.view", fleet.forklift)
    assert authz.can(actor, "fleet.view_organization", fleet.org)
    other_org = fleet.outsider.memberships.get().organization
    assert not authz.can(actor, "fleet.view_organization", other_org)
    assert not authz.can(actor, "keys.manage", other_org)


def test_an_organization_operator_key_reads_but_does_not_manage(fleet, clock):
    actor = principal(fleet, fleet.org, role=Role.ORGANIZATION_OPERATOR)
    assert authz.can(actor, "fleet.view", fleet.forklift)
    assert not authz.can(actor, "keys.manage", fleet.org)
    assert not authz.can(actor, "keys.manage", fleet.arm)


def test_a_machine_key_reaches_its_machine_only(fleet, clock):
    actor = principal(fleet, fleet.arm)
    assert authz.can(actor, "fleet.view", fleet.arm)
    assert authz.can(actor, "keys.manage", fleet.arm)
    assert not authz.can(actor, "fleet.view", fleet.forklift)
    assert not authz.can(actor, "fleet.view", fleet.line_a)
    assert not authz.can(actor, "keys.manage", fleet.org)
    assert authz.can(actor, "fleet.view_organization", fleet.org)


def test_a_location_key_covers_its_subtree(fleet, clock):
    actor = principal(fleet, fleet.hq)
    assert authz.can(actor, "fleet.view", fleet.hq)
    assert authz.can(actor, "fleet.view", fleet.line_a)
    assert authz.can(actor, "fleet.view", fleet.arm)  # in Line A, under Headquarters
    assert authz.can(actor, "keys.manage", fleet.arm)
    assert not authz.can(actor, "fleet.view", fleet.warehouse)
    assert not authz.can(actor, "fleet.view", fleet.forklift)
    assert not authz.can(actor, "keys.manage", fleet.org)


def test_a_location_operator_key_reads_its_subtree_only(fleet, clock):
    actor = principal(fleet, fleet.line_a, role=Role.LOCATION_OPERATOR)
    assert authz.can(actor, "fleet.view", fleet.arm)
    assert not authz.can(actor, "fleet.view", fleet.hq)  # the parent is outside Line A
    assert not authz.can(actor, "keys.manage", fleet.arm)
