"""The key services against the database: state and audit events, not mocks."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from fleetadmin.audit.models import AuditEvent
from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet.models import Role
from fleetadmin.keys import services, tokens
from fleetadmin.keys.models import ApiKey, ApiKeyAuthorization
from fleetadmin.keys.services import GRACE_PERIODS, DuplicateSubmission, Grant
from tests.conftest import T0
from tests.factories import LocationFactory, MachineFactory, OrganizationFactory
from tests.keys.factories import KEY_VALUE_RE, OPERATOR_ROLE, OWNER_ROLE, issue

pytestmark = pytest.mark.django_db


def events(action=None):
    queryset = AuditEvent.objects.order_by("id")
    return list(queryset.filter(action=action) if action else queryset)


def grants_of(key) -> set[tuple[str, str, str]]:
    return {(a.role, a.resource_type, str(a.resource_id)) for a in ApiKeyAuthorization.objects.filter(key=key)}


def described(role, resource_type, resource) -> dict:
    return {
        "role": role,
        "resource_type": resource_type,
        "resource_id": str(resource.pk),
        "resource_name": resource.name,
    }


def scope(fleet, name):
    return {"org": fleet.org, "hq": fleet.hq, "line_a": fleet.line_a, "arm": fleet.arm, "forklift": fleet.forklift}[
        name
    ]


# ---- create ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope_name", "resource_type", "expected_path"),
    [
        ("org", "organization", lambda f: "/"),
        ("hq", "location", lambda f: f.hq.path),
        ("arm", "robot", lambda f: f"{f.line_a.path}m{f.arm.pk.hex}/"),
    ],
)
@pytest.mark.parametrize("roles", [OWNER_ROLE, OPERATOR_ROLE], ids=["owner", "operator"])
def test_create_at_each_scope(fleet, clock, scope_name, resource_type, expected_path, roles):
    resource = scope(fleet, scope_name)
    role = roles[type(resource)]
    issued = issue(fleet.owner, resource, role=role, name="ci")
    key = ApiKey.objects.get(pk=issued.key.pk)
    assert KEY_VALUE_RE.fullmatch(issued.value)
    assert key.organization_id == fleet.org.pk
    assert key.name == "ci"
    assert key.created_at == T0
    assert key.created_by == fleet.owner
    assert key.created_by_name == fleet.owner.email
    assert key.expires_at is None and key.last_used_at is None and key.deleted_at is None
    assert key.pepper_id == tokens.hash_secret(issued.value).pepper_id
    assert key.secret_hash == tokens.hash_secret(issued.value).hash
    (authorization,) = key.authorizations.all()
    assert (authorization.role, authorization.resource_type) == (role, resource_type)
    assert authorization.resource_id == resource.pk
    assert authorization.organization_id == fleet.org.pk
    assert authorization.scope_path == expected_path(fleet)


@pytest.mark.parametrize(
    ("scope_name", "expected"),
    [
        ("org", "Acme-Robotics-2025-03-04T05:06:07Z"),
        ("hq", "Headquarters-2025-03-04T05:06:07Z"),
        ("line_a", "Line-A-2025-03-04T05:06:07Z"),
        ("arm", "arm-01-2025-03-04T05:06:07Z"),
    ],
)
@pytest.mark.parametrize("name", [None, "", "   "])
def test_default_name_is_the_resource_name_and_the_time(fleet, clock, scope_name, expected, name):
    issued = issue(fleet.owner, scope(fleet, scope_name), name=name)
    assert ApiKey.objects.get(pk=issued.key.pk).name == expected


def test_given_names_are_trimmed(fleet, clock):
    assert issue(fleet.owner, fleet.org, name="  ci   deploy ").key.name == "ci deploy"


def test_bad_names_are_refused(fleet, clock):
    with pytest.raises(ValidationError) as excinfo:
        issue(fleet.owner, fleet.org, name="bad\x01name")
    assert excinfo.value.message_dict == {"name": ["A key name cannot contain control characters."]}
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(
    ("scope_name", "role", "message"),
    [
        (
            "org",
            "location_owner",
            "must be one of organization_owner, organization_operator for an organization key; got 'location_owner'",
        ),
        (
            "hq",
            "organization_owner",
            "must be one of location_owner, location_operator for a location key; got 'organization_owner'",
        ),
        (
            "arm",
            "location_operator",
            "must be one of robot_owner, robot_operator for a robot key; got 'location_operator'",
        ),
    ],
)
def test_a_role_that_does_not_fit_the_scope_is_refused_naming_the_accepted_roles(
    fleet, clock, scope_name, role, message
):
    with pytest.raises(ValidationError) as excinfo:
        issue(fleet.owner, scope(fleet, scope_name), role=role)
    assert excinfo.value.message_dict == {"role": [message]}
    assert not ApiKey.objects.exists()
    assert not events()


def test_a_resource_of_another_organization_is_refused(fleet, clock):
    other = OrganizationFactory(name="Globex Two")
    their_location = LocationFactory(organization=other, name="Their site")
    their_machine = MachineFactory(location=their_location)
    cases = [
        (Grant(role=Role.ORGANIZATION_OWNER, resource=other), f"The organization {other.pk} is not in Acme Robotics."),
        (
            Grant(role=Role.LOCATION_OWNER, resource=their_location),
            f"The location {their_location.pk} is not in Acme Robotics.",
        ),
        (
            Grant(role=Role.ROBOT_OWNER, resource=their_machine),
            f"The robot {their_machine.pk} is not in Acme Robotics.",
        ),
    ]
    for grant, message in cases:
        with pytest.raises(ValidationError) as excinfo:
            services.api_key_create(actor=SYSTEM, organization=fleet.org, grants=[grant])
        assert excinfo.value.message_dict == {"resource": [message]}
    assert not ApiKey.objects.exists()
    assert not events()


def test_a_key_needs_an_authorization(fleet, clock):
    with pytest.raises(ValidationError) as excinfo:
        services.api_key_create(actor=fleet.owner, organization=fleet.org, grants=[])
    assert excinfo.value.message_dict == {"resource": ["A key needs at least one authorization."]}


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=-1), timedelta(days=-30)])
def test_an_expiry_that_is_not_in_the_future_is_refused(fleet, clock, offset):
    with pytest.raises(ValidationError) as excinfo:
        issue(fleet.owner, fleet.org, expires_at=T0 + offset)
    assert excinfo.value.message_dict == {"expires_at": ["The expiry must be in the future."]}
    assert not ApiKey.objects.exists()
    assert not events()


def test_a_future_expiry_is_kept(fleet, clock):
    issued = issue(fleet.owner, fleet.org, expires_at=T0 + timedelta(seconds=1))
    assert ApiKey.objects.get(pk=issued.key.pk).expires_at == T0 + timedelta(seconds=1)


# ---- audit -----------------------------------------------------------------------------------------


def test_create_records_one_event_with_the_key_but_not_its_value(fleet, clock):
    issued = issue(fleet.owner, fleet.hq, name="ci", expires_at=T0 + timedelta(days=30))
    (event,) = events()
    assert event.action == "keys.api_key.create"
    assert event.organization_id == fleet.org.pk
    assert (event.actor_type, event.actor_id, event.actor_name) == ("user", str(fleet.owner.pk), fleet.owner.email)
    assert (event.target_type, event.target_id, event.target_name) == ("keys.apikey", str(issued.key.pk), "ci")
    assert event.changes == {
        "after": {
            "name": "ci",
            "expires_at": "2025-04-03T05:06:07+00:00",
            "authorizations": [described("location_owner", "location", fleet.hq)],
        }
    }
    assert issued.value not in str(event.changes)


def test_rename_records_one_event_with_before_and_after(fleet, clock):
    key = issue(fleet.owner, fleet.org, name="old name").key
    services.api_key_rename(actor=fleet.owner, key=key, name="  new   name ")
    assert ApiKey.objects.get(pk=key.pk).name == "new name"
    (event,) = events("keys.api_key.rename")
    assert event.target_id == str(key.pk)
    assert event.changes == {"before": {"name": "old name"}, "after": {"name": "new name"}}
    assert len(events()) == 2


def test_rename_to_the_same_name_records_nothing(fleet, clock):
    key = issue(fleet.owner, fleet.org, name="same").key
    services.api_key_rename(actor=fleet.owner, key=key, name="same")
    assert not events("keys.api_key.rename")


def test_rename_refuses_an_empty_name(fleet, clock):
    key = issue(fleet.owner, fleet.org, name="keep").key
    with pytest.raises(ValidationError) as excinfo:
        services.api_key_rename(actor=fleet.owner, key=key, name="  ")
    assert excinfo.value.message_dict == {"name": ["Enter a key name; it cannot be empty."]}
    assert ApiKey.objects.get(pk=key.pk).name == "keep"


def test_rotate_records_a_rotation_on_the_old_key_and_a_creation_of_the_new_one(fleet, clock):
    key = issue(fleet.owner, fleet.org, name="ci").key
    new = services.api_key_rotate(actor=fleet.owner, key=key, grace=GRACE_PERIODS["1h"]).key
    assert [e.action for e in events()] == ["keys.api_key.create", "keys.api_key.create", "keys.api_key.rotate"]
    created = events("keys.api_key.create")[1]
    assert (created.target_id, created.target_name) == (str(new.pk), "ci")
    assert created.changes["after"]["replaces"] == str(key.pk)
    assert created.changes["after"]["name"] == "ci"
    event = events("keys.api_key.rotate")[0]
    assert event.target_id == str(key.pk)
    assert event.changes == {
        "before": {"replaced_by": None, "retired_at": None},
        "after": {"replaced_by": str(new.pk), "retired_at": "2025-03-04T06:06:07+00:00", "grace_seconds": 3600},
    }


def test_grant_and_revoke_record_one_event_each_with_the_authorizations(fleet, clock):
    key = issue(fleet.owner, fleet.org, name="ci").key
    org_auth = described("organization_owner", "organization", fleet.org)
    hq_auth = described("location_operator", "location", fleet.hq)
    added = services.api_key_authorization_add(
        actor=fleet.owner, key=key, grant=Grant(role=Role.LOCATION_OPERATOR, resource=fleet.hq)
    )
    (grant_event,) = events("keys.api_key.grant")
    assert grant_event.target_id == str(key.pk)
    assert grant_event.changes == {
        "before": {"authorizations": [org_auth]},
        "after": {"authorizations": [org_auth, hq_auth]},
    }
    services.api_key_authorization_remove(actor=fleet.owner, key=key, authorization=added)
    (revoke_event,) = events("keys.api_key.revoke")
    assert revoke_event.changes == {
        "before": {"authorizations": [org_auth, hq_auth]},
        "after": {"authorizations": [org_auth]},
    }
    assert len(events()) == 3


def test_delete_records_one_event_with_what_the_key_was(fleet, clock):
    key = issue(fleet.owner, fleet.arm, name="arm key").key
    services.api_key_delete(actor=fleet.owner, key=key)
    (event,) = events("keys.api_key.delete")
    assert event.target_id == str(key.pk)
    assert event.changes == {
        "before": {
            "name": "arm key",
            "expires_at": None,
            "authorizations": [described("robot_owner", "robot", fleet.arm)],
        }
    }


def test_a_system_actor_is_recorded_as_system(fleet, clock):
    issue(SYSTEM, fleet.org)
    (event,) = events()
    assert (event.actor_type, event.actor_name) == ("system", "system")
    assert ApiKey.objects.get().created_by is None


# ---- duplicate submissions -------------------------------------------------------------------------


def test_a_repeated_creation_token_creates_no_second_key(fleet, clock):
    first = issue(fleet.owner, fleet.org, name="ci", creation_token="form-123")
    with pytest.raises(DuplicateSubmission) as excinfo:
        issue(fleet.owner, fleet.org, name="ci", creation_token="form-123")
    assert excinfo.value.created == first.key
    assert str(excinfo.value) == f"This form was already submitted; it created key {first.key.pk}."
    assert ApiKey.objects.count() == 1
    assert len(events("keys.api_key.create")) == 1
    issue(fleet.owner, fleet.org, name="ci", creation_token="form-456")  # another form is another key
    assert ApiKey.objects.count() == 2


# ---- rotation --------------------------------------------------------------------------------------


@pytest.mark.parametrize("grace", list(GRACE_PERIODS))
def test_rotation_issues_a_replacement_and_retires_the_old_key_after_the_grace(fleet, clock, grace):
    old = issue(fleet.owner, fleet.hq, name="ci", expires_at=T0 + timedelta(days=90)).key
    services.api_key_authorization_add(
        actor=fleet.owner, key=old, grant=Grant(role=Role.ROBOT_OPERATOR, resource=fleet.forklift)
    )
    clock.advance(hours=2)
    rotated_at = clock.now
    issued = services.api_key_rotate(actor=fleet.owner, key=old, grace=GRACE_PERIODS[grace])
    new = ApiKey.objects.get(pk=issued.key.pk)
    old.refresh_from_db()
    assert new.pk != old.pk
    assert new.name == "ci"
    assert new.expires_at == T0 + timedelta(days=90)
    assert new.created_at == rotated_at
    assert new.replaced_by is None and new.retired_at is None
    assert (
        grants_of(new)
        == grants_of(old)
        == {
            ("location_owner", "location", str(fleet.hq.pk)),
            ("robot_operator", "robot", str(fleet.forklift.pk)),
        }
    )
    assert tokens.verify(issued.value, tokens.StoredSecret(new.secret_hash, new.pepper_id))
    assert not tokens.verify(issued.value, tokens.StoredSecret(old.secret_hash, old.pepper_id))
    assert old.replaced_by == new
    assert old.rotated_at == rotated_at
    assert old.retired_at == rotated_at + GRACE_PERIODS[grace]
    assert old.deleted_at is None


def test_rotation_refuses_a_grace_outside_the_choices(fleet, clock):
    key = issue(fleet.owner, fleet.org).key
    for grace in (timedelta(days=8), timedelta(seconds=-1)):
        with pytest.raises(ValidationError) as excinfo:
            services.api_key_rotate(actor=fleet.owner, key=key, grace=grace)
        assert excinfo.value.message_dict == {"grace": ["must be one of none, 1h, 24h, 7d"]}
    assert ApiKey.objects.count() == 1


def test_an_already_rotated_key_cannot_be_rotated_again(fleet, clock):
    key = issue(fleet.owner, fleet.org).key
    replacement = services.api_key_rotate(actor=fleet.owner, key=key, grace=GRACE_PERIODS["7d"]).key
    with pytest.raises(ValidationError) as excinfo:
        services.api_key_rotate(actor=fleet.owner, key=key)
    assert excinfo.value.messages == [f"Key {key.pk} was already rotated; rotate its replacement {replacement.pk}."]
    assert ApiKey.objects.count() == 2
    assert len(events("keys.api_key.rotate")) == 1


def test_a_deleted_key_cannot_be_rotated(fleet, clock):
    key = issue(fleet.owner, fleet.org).key
    services.api_key_delete(actor=fleet.owner, key=key)
    with pytest.raises(ValidationError) as excinfo:
        services.api_key_rotate(actor=fleet.owner, key=key)
    assert excinfo.value.messages == [f"Key {key.pk} was deleted; it cannot be rotated."]
    assert ApiKey.objects.count() == 1
    assert not events("keys.api_key.rotate")


def test_a_rotated_key_cannot_get_new_authorizations(fleet, clock):
    key = issue(fleet.owner, fleet.org).key
    replacement = services.api_key_rotate(actor=fleet.owner, key=key, grace=GRACE_PERIODS["1h"]).key
    key.refresh_from_db()
    with pytest.raises(ValidationError) as excinfo:
        services.api_key_authorization_add(
            actor=fleet.owner, key=key, grant=Grant(role=Role.LOCATION_OWNER, resource=fleet.hq)
        )
    assert excinfo.value.messages == [f"Key {key.pk} was already rotated; change its replacement {replacement.pk}."]


# ---- duplicate -------------------------------------------------------------------------------------


def test_duplicate_copies_the_authorizations_into_a_new_key(fleet, clock):
    source = issue(fleet.owner, fleet.hq, name="ci").key
    services.api_key_authorization_add(
        actor=fleet.owner, key=source, grant=Grant(role=Role.ROBOT_OWNER, resource=fleet.forklift)
    )
    issued = services.api_key_duplicate(actor=fleet.owner, key=source)
    copy = ApiKey.objects.get(pk=issued.key.pk)
    assert copy.pk != source.pk
    assert copy.name == "ci-copy"
    assert grants_of(copy) == grants_of(source) and len(grants_of(copy)) == 2
    assert KEY_VALUE_RE.fullmatch(issued.value)
    assert copy.secret_hash != source.secret_hash
    created = events("keys.api_key.create")
    assert [e.target_id for e in created] == [str(source.pk), str(copy.pk)]
    assert services.api_key_duplicate(actor=fleet.owner, key=source, name="named").key.name == "named"


# ---- authorizations --------------------------------------------------------------------------------


def test_authorizations_can_be_added_and_removed(fleet, clock):
    key = issue(fleet.owner, fleet.org).key
    added = services.api_key_authorization_add(
        actor=fleet.owner, key=key, grant=Grant(role=Role.ROBOT_OPERATOR, resource=fleet.arm)
    )
    assert grants_of(key) == {
        ("organization_owner", "organization", str(fleet.org.pk)),
        ("robot_operator", "robot", str(fleet.arm.pk)),
    }
    services.api_key_authorization_remove(actor=fleet.owner, key=key, authorization=added)
    assert grants_of(key) == {("organization_owner", "organization", str(fleet.org.pk))}


def test_the_same_authorization_cannot_be_added_twice(fleet, clock):
    key = issue(fleet.owner, fleet.hq).key
    with pytest.raises(ValidationError) as excinfo:
        services.api_key_authorization_add(
            actor=fleet.owner, key=key, grant=Grant(role=Role.LOCATION_OWNER, resource=fleet.hq)
        )
    assert excinfo.value.message_dict == {"role": ["The key already has location_owner on this location."]}
    assert ApiKeyAuthorization.objects.filter(key=key).count() == 1


def test_removing_the_last_authorization_is_refused(fleet, clock):
    key = issue(fleet.owner, fleet.org).key
    (only,) = key.authorizations.all()
    with pytest.raises(ValidationError) as excinfo:
        services.api_key_authorization_remove(actor=fleet.owner, key=key, authorization=only)
    assert excinfo.value.messages == ["A key needs at least one authorization; delete the key instead."]
    assert ApiKeyAuthorization.objects.filter(pk=only.pk).exists()
    assert not events("keys.api_key.revoke")


def test_an_authorization_of_another_key_cannot_be_removed_through_this_one(fleet, clock):
    key = issue(fleet.owner, fleet.org, fleet.hq).key
    other = issue(fleet.owner, fleet.warehouse, fleet.arm).key
    foreign = other.authorizations.first()
    with pytest.raises(ValidationError) as excinfo:
        services.api_key_authorization_remove(actor=fleet.owner, key=key, authorization=foreign)
    assert excinfo.value.messages == ["That authorization belongs to another key."]
    assert ApiKeyAuthorization.objects.filter(pk=foreign.pk).exists()


# ---- delete ----------------------------------------------------------------------------------------


def test_delete_is_a_soft_delete(fleet, clock):
    key = issue(fleet.owner, fleet.org).key
    keeper = issue(fleet.owner, fleet.org).key
    clock.advance(minutes=5)
    services.api_key_delete(actor=fleet.owner, key=key)
    key.refresh_from_db()
    assert key.deleted_at == T0 + timedelta(minutes=5)
    assert list(ApiKey.objects.alive()) == [keeper]
    assert ApiKey.objects.filter(pk=key.pk).exists()  # the tombstone stays
    services.api_key_delete(actor=fleet.owner, key=key)  # deleting again changes nothing
    assert len(events("keys.api_key.delete")) == 1


def test_bulk_delete_deletes_every_key_with_one_event_each(fleet, clock):
    keys = [issue(fleet.owner, resource).key for resource in (fleet.org, fleet.hq, fleet.arm)]
    assert services.api_key_bulk_delete(actor=fleet.owner, keys=keys) == 3
    assert not ApiKey.objects.alive().exists()
    assert sorted(e.target_id for e in events("keys.api_key.delete")) == sorted(str(k.pk) for k in keys)


def test_bulk_delete_is_all_or_none(fleet, clock):
    mine = issue(fleet.owner, fleet.hq).key
    also_mine = issue(fleet.owner, fleet.arm).key
    not_mine = issue(fleet.owner, fleet.warehouse).key
    with pytest.raises(PermissionDenied):
        services.api_key_bulk_delete(actor=fleet.location_owner, keys=[mine, also_mine, not_mine])
    assert ApiKey.objects.alive().count() == 3
    assert not events("keys.api_key.delete")


# ---- privilege escalation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope_name", "role"),
    [
        ("org", Role.ORGANIZATION_OWNER),
        ("org", Role.ORGANIZATION_OPERATOR),
        ("warehouse", Role.LOCATION_OWNER),
        ("warehouse", Role.LOCATION_OPERATOR),
        ("forklift", Role.ROBOT_OWNER),
        ("forklift", Role.ROBOT_OPERATOR),
    ],
)
def test_a_location_owner_cannot_create_keys_outside_their_subtree(fleet, clock, scope_name, role):
    resource = {"org": fleet.org, "warehouse": fleet.warehouse, "forklift": fleet.forklift}[scope_name]
    with pytest.raises(PermissionDenied):
        issue(fleet.location_owner, resource, role=role)
    assert not ApiKey.objects.exists()
    assert not events()


@pytest.mark.parametrize(
    ("scope_name", "role"),
    [
        ("hq", Role.LOCATION_OWNER),
        ("hq", Role.LOCATION_OPERATOR),
        ("line_a", Role.LOCATION_OWNER),
        ("line_a", Role.LOCATION_OPERATOR),
        ("arm", Role.ROBOT_OWNER),
        ("arm", Role.ROBOT_OPERATOR),
    ],
)
def test_a_location_owner_creates_keys_inside_their_subtree(fleet, clock, scope_name, role):
    resource = scope(fleet, scope_name)
    issued = issue(fleet.location_owner, resource, role=role)
    resource_type = "robot" if scope_name == "arm" else "location"
    assert grants_of(issued.key) == {(role, resource_type, str(resource.pk))}
    assert issued.key.created_by == fleet.location_owner
    assert len(events("keys.api_key.create")) == 1


def test_a_location_owner_cannot_grant_more_than_they_hold(fleet, clock):
    key = issue(fleet.location_owner, fleet.hq).key
    for grant in (
        Grant(role=Role.ORGANIZATION_OWNER, resource=fleet.org),
        Grant(role=Role.ORGANIZATION_OPERATOR, resource=fleet.org),
        Grant(role=Role.LOCATION_OWNER, resource=fleet.warehouse),
        Grant(role=Role.ROBOT_OWNER, resource=fleet.forklift),
    ):
        with pytest.raises(PermissionDenied):
            services.api_key_authorization_add(actor=fleet.location_owner, key=key, grant=grant)
    assert grants_of(key) == {("location_owner", "location", str(fleet.hq.pk))}
    assert not events("keys.api_key.grant")


def test_a_location_owner_cannot_manage_a_key_that_reaches_outside_their_subtree(fleet, clock):
    org_key = issue(fleet.owner, fleet.org).key
    mixed = issue(fleet.owner, fleet.hq, fleet.warehouse).key  # half inside, half outside
    for key in (org_key, mixed):
        with pytest.raises(PermissionDenied):
            services.api_key_rename(actor=fleet.location_owner, key=key, name="mine now")
        with pytest.raises(PermissionDenied):
            services.api_key_rotate(actor=fleet.location_owner, key=key)
        with pytest.raises(PermissionDenied):
            services.api_key_duplicate(actor=fleet.location_owner, key=key)
        with pytest.raises(PermissionDenied):
            services.api_key_delete(actor=fleet.location_owner, key=key)
    hq_auth = mixed.authorizations.get(location=fleet.hq)
    with pytest.raises(PermissionDenied):
        services.api_key_authorization_remove(actor=fleet.location_owner, key=mixed, authorization=hq_auth)
    assert ApiKey.objects.count() == 2
    assert ApiKey.objects.alive().count() == 2
    assert len(events()) == 2  # the two creations


@pytest.mark.parametrize("scope_name", ["org", "hq", "arm"])
@pytest.mark.parametrize("roles", [OWNER_ROLE, OPERATOR_ROLE], ids=["owner", "operator"])
@pytest.mark.parametrize("who", ["operator", "outsider"])
def test_operators_and_outsiders_cannot_create_keys(fleet, clock, scope_name, roles, who):
    resource = scope(fleet, scope_name)
    with pytest.raises(PermissionDenied):
        issue(getattr(fleet, who), resource, role=roles[type(resource)])
    assert not ApiKey.objects.exists()
    assert not events()


def test_operators_and_outsiders_cannot_change_keys(fleet, clock):
    key = issue(fleet.owner, fleet.org, fleet.hq, name="ci").key
    hq_auth = key.authorizations.get(location=fleet.hq)
    for actor in (fleet.operator, fleet.outsider):
        for attempt in (
            lambda a: services.api_key_rename(actor=a, key=key, name="x"),
            lambda a: services.api_key_rotate(actor=a, key=key),
            lambda a: services.api_key_duplicate(actor=a, key=key),
            lambda a: services.api_key_authorization_add(
                actor=a, key=key, grant=Grant(role=Role.ROBOT_OWNER, resource=fleet.arm)
            ),
            lambda a: services.api_key_authorization_remove(actor=a, key=key, authorization=hq_auth),
            lambda a: services.api_key_delete(actor=a, key=key),
            lambda a: services.api_key_bulk_delete(actor=a, keys=[key]),
        ):
            with pytest.raises(PermissionDenied):
                attempt(actor)
    key.refresh_from_db()
    assert key.name == "ci" and key.deleted_at is None and key.replaced_by is None
    assert ApiKey.objects.count() == 1
    assert len(grants_of(key)) == 2
    assert len(events()) == 1


# ---- last used -------------------------------------------------------------------------------------


def stored_last_used(key):
    return ApiKey.objects.values_list("last_used_at", flat=True).get(pk=key.pk)


def test_touch_writes_last_used_at_most_once_a_minute(fleet, clock):
    key = issue(fleet.owner, fleet.org).key
    assert services.api_key_touch(key=key, now=T0) is True
    assert stored_last_used(key) == T0
    assert services.api_key_touch(key=key, now=T0 + timedelta(seconds=59)) is False
    assert stored_last_used(key) == T0
    assert services.api_key_touch(key=key, now=T0 + timedelta(seconds=61)) is True
    assert stored_last_used(key) == T0 + timedelta(seconds=61)
    assert not events("keys.api_key.touch") and len(events()) == 1  # use is telemetry, not audited


def test_touch_from_a_stale_copy_does_not_rewrite_a_fresh_value(fleet, clock):
    key = issue(fleet.owner, fleet.org).key
    stale = ApiKey.objects.get(pk=key.pk)  # e.g. loaded by a concurrent request before the first touch
    assert services.api_key_touch(key=key, now=T0) is True
    assert services.api_key_touch(key=stale, now=T0 + timedelta(seconds=30)) is False
    assert stored_last_used(key) == T0
