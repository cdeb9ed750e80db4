"""The view-test matrix for the API-key screens: anonymous, another organization's owner, operator,
owner (and location owner), with and without htmx; then each screen's own behaviour."""

import base64
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse

from fleetadmin.audit.models import AuditEvent
from fleetadmin.fleet.models import Role
from fleetadmin.keys import services, tokens
from fleetadmin.keys.models import ApiKey, ApiKeyAuthorization
from fleetadmin.keys.selectors import PAGE_SIZE
from fleetadmin.keys.services import GRACE_PERIODS
from tests.conftest import T0
from tests.keys.factories import KEY_VALUE_RE, bulk_keys, issue
from tests.matrix import HTMX, OWNERS, Matrix, Read, Write

pytestmark = pytest.mark.django_db

ORG_WARNING = "Keep this key somewhere safe; it has full write access to your organization."


def url(name, org, *args):
    return reverse(f"keys:{name}", args=[org.pk, *args])


@pytest.fixture
def keys(fleet, clock):
    """Keys at every scope, plus one with two authorizations (one of them outside the location owner's reach)."""
    return SimpleNamespace(
        org=issue(fleet.owner, fleet.org, name="org-key").key,
        hq=issue(fleet.owner, fleet.hq, name="hq-key").key,
        warehouse=issue(fleet.owner, fleet.warehouse, name="warehouse-key").key,
        arm=issue(fleet.owner, fleet.arm, name="arm-key").key,
        two=issue(fleet.owner, fleet.org, fleet.hq, name="two-grants").key,
    )


def value_in(response) -> str:
    (value,) = set(KEY_VALUE_RE.findall(response.content.decode()))
    return value


def create_data(**overrides):
    data = {"scope_type": "organization", "access": "owner", "name": "new-key", "expiry": "never", "form_token": "t-1"}
    data.update(overrides)
    return data


def page_ids(response):
    return [key.pk for key in response.context["page"].keys]


# ---- the matrix ------------------------------------------------------------------------------------


@pytest.fixture
def world(fleet, keys):
    return SimpleNamespace(fleet=fleet, keys=keys, org=fleet.org)


def key_url(name, key="org"):
    return lambda w: url(name, w.org, getattr(w.keys, key).pk)


def alive():
    return ApiKey.objects.alive()


def revoke_url(w):
    return url("revoke", w.org, w.keys.two.pk, w.keys.two.authorizations.get(location=w.fleet.hq).pk)


WRITE_STATUS = {"create": 200, "rotate": 200, "duplicate": 200}  # the screens that show a new value, once; else 302


def owner_answer(response, world, write, htmx):
    assert response.status_code == WRITE_STATUS.get(write.name, 302)
    if response.status_code == 200:
        content = response.content.decode()
        assert KEY_VALUE_RE.search(content)
        assert "no-store" in response["Cache-Control"]
        assert content.lstrip().startswith('<section id="key-form"') is htmx


MATRIX = Matrix(
    world="world",
    reads=[
        Read("list", lambda w: url("list", w.org)),
        Read("detail", key_url("detail")),
        Read("create", lambda w: url("create", w.org), readers=OWNERS),
        Read("rotate", key_url("rotate"), readers=OWNERS),
        Read("delete", key_url("delete"), readers=OWNERS),
    ],
    writes=[
        Write(
            "create",
            lambda w: url("create", w.org),
            data=lambda w: create_data(),
            effect=lambda w: alive().filter(name="new-key").exists(),
            actions=["keys.api_key.create"],
        ),
        Write(
            "bulk_delete",
            lambda w: url("bulk_delete", w.org),
            data=lambda w: {"key": [str(w.keys.hq.pk), str(w.keys.warehouse.pk)], "confirm": "on"},
            effect=lambda w: not alive().filter(pk__in=[w.keys.hq.pk, w.keys.warehouse.pk]).exists(),
            actions=["keys.api_key.delete"] * 2,
        ),
        Write(
            "rename",
            key_url("rename"),
            data=lambda w: {"name": "renamed"},
            effect=lambda w: ApiKey.objects.get(pk=w.keys.org.pk).name == "renamed",
            actions=["keys.api_key.rename"],
        ),
        Write(
            "rotate",
            key_url("rotate"),
            data=lambda w: {"grace": "none"},
            effect=lambda w: ApiKey.objects.get(pk=w.keys.org.pk).replaced_by_id is not None,
            actions=["keys.api_key.create", "keys.api_key.rotate"],  # the new key, then the old one rotated out
        ),
        Write(
            "duplicate",
            key_url("duplicate"),
            effect=lambda w: alive().filter(name="org-key-copy").exists(),
            actions=["keys.api_key.create"],
        ),
        Write(
            "grant",
            key_url("grant"),
            data=lambda w: {"scope_type": "location", "location": str(w.fleet.hq.pk), "access": "operator"},
            effect=lambda w: ApiKeyAuthorization.objects.filter(key=w.keys.org, role=Role.LOCATION_OPERATOR).exists(),
            actions=["keys.api_key.grant"],
        ),
        Write(
            "revoke",
            revoke_url,
            effect=lambda w: w.keys.two.authorizations.count() == 1,
            actions=["keys.api_key.revoke"],
        ),
        Write(
            "delete",
            key_url("delete"),
            effect=lambda w: not alive().filter(pk=w.keys.org.pk).exists(),
            actions=["keys.api_key.delete"],
        ),
    ],
    answer=owner_answer,
    secret=KEY_VALUE_RE,
)
test_reads, test_refused_writes, test_writes = MATRIX.tests()


OWNER_CONTROLS = [
    "Create API key",
    'type="checkbox" name="key"',
    "Delete selected…",
    "Rotate…",
    "Duplicate</button>",
    "Delete…",
    "Rename</button>",
    "Grant additional access",
    ">Remove</button>",
]


def controls_in(*responses) -> set[str]:
    content = "".join(r.content.decode() for r in responses)
    return {control for control in OWNER_CONTROLS if control in content}


def test_owner_sees_every_control(fleet, keys, client_for):
    client = client_for(fleet.owner)
    listing = client.get(url("list", fleet.org))
    detail = client.get(url("detail", fleet.org, keys.two.pk))
    assert listing.status_code == detail.status_code == 200
    assert controls_in(listing, detail) == set(OWNER_CONTROLS)


@pytest.mark.parametrize("htmx", [False, True])
def test_operator_reads_keys_without_any_control(fleet, keys, client_for, htmx):
    client = client_for(fleet.operator)
    headers = HTMX if htmx else {}
    listing = client.get(url("list", fleet.org), **headers)
    detail = client.get(url("detail", fleet.org, keys.two.pk), **headers)
    assert listing.status_code == detail.status_code == 200
    for name in ["org-key", "hq-key", "warehouse-key", "arm-key", "two-grants"]:
        assert name in listing.content.decode()
    assert str(keys.two.pk) in detail.content.decode()
    assert controls_in(listing, detail) == set()
    assert '<form method="post" action="/orgs/' not in detail.content.decode()


# ---- location owner --------------------------------------------------------------------------------


def test_location_owner_lists_only_keys_fully_inside_their_subtree(fleet, clock, client_for):
    org_key = issue(fleet.owner, fleet.org, name="org-key").key
    hq_key = issue(fleet.owner, fleet.hq, name="hq-key").key
    warehouse_key = issue(fleet.owner, fleet.warehouse, name="warehouse-key").key
    client = client_for(fleet.location_owner)
    response = client.get(url("list", fleet.org))
    assert response.status_code == 200
    assert page_ids(response) == [hq_key.pk]
    content = response.content.decode()
    assert "hq-key" in content and "org-key" not in content and "warehouse-key" not in content
    assert client.get(url("detail", fleet.org, warehouse_key.pk)).status_code == 404
    assert client.get(url("detail", fleet.org, org_key.pk)).status_code == 404
    assert client.get(url("detail", fleet.org, hq_key.pk)).status_code == 200


def test_location_owner_manages_their_keys_but_not_others(fleet, keys, client_for):
    client = client_for(fleet.location_owner)
    listing = client.get(url("list", fleet.org))
    assert set(page_ids(listing)) == {keys.hq.pk, keys.arm.pk}  # not two-grants: half of it is organization-wide
    assert "Create API key" in listing.content.decode()
    assert client.post(url("rename", fleet.org, keys.hq.pk), {"name": "hq-renamed"}).status_code == 302
    for key in (keys.warehouse, keys.org, keys.two):
        assert client.post(url("rename", fleet.org, key.pk), {"name": "stolen"}).status_code == 404
        assert client.post(url("delete", fleet.org, key.pk)).status_code == 404
    response = client.post(url("bulk_delete", fleet.org), {"key": [keys.hq.pk, keys.warehouse.pk], "confirm": "on"})
    assert response.status_code == 404
    assert ApiKey.objects.alive().count() == 5


def test_location_owner_create_form_offers_only_their_subtree(fleet, client_for):
    response = client_for(fleet.location_owner).get(url("create", fleet.org))
    content = response.content.decode()
    assert 'value="organization"' not in content
    assert 'value="location"' in content and 'value="robot"' in content
    assert "Headquarters" in content and "Line A" in content and "arm-01" in content
    assert "Warehouse" not in content and "forklift-01" not in content


def test_location_owner_cannot_create_a_key_outside_their_subtree(fleet, client_for):
    client = client_for(fleet.location_owner)
    for data in (
        create_data(),  # the organization
        create_data(scope_type="location", location=str(fleet.warehouse.pk), form_token="t-2"),
        create_data(scope_type="robot", machine=str(fleet.forklift.pk), form_token="t-3"),
    ):
        response = client.post(url("create", fleet.org), data)
        assert response.status_code == 422
        assert "Select a valid choice." in response.content.decode()
    assert not ApiKey.objects.exists()
    assert not AuditEvent.objects.exists()


# ---- create ----------------------------------------------------------------------------------------


def test_create_shows_the_value_once(fleet, clock, client_for):
    client = client_for(fleet.owner)
    response = client.post(url("create", fleet.org), create_data(form_token="form-abc"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Key ID" in content and "Key Value" in content
    value = value_in(response)
    assert re.match(r"^fak_", value)
    assert ORG_WARNING in content
    assert "This is the only time the key value is shown." in content
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get()
    assert str(key.pk) in content
    assert (key.name, key.created_by, key.expires_at) == ("new-key", fleet.owner, None)
    assert tokens.verify(value, tokens.StoredSecret(key.secret_hash, key.pepper_id))
    (event,) = AuditEvent.objects.all()
    assert event.action == "keys.api_key.create"

    for later in (url("detail", fleet.org, key.pk), url("list", fleet.org)):
        screen = client.get(later)
        assert screen.status_code == 200
        assert str(key.pk) in screen.content.decode()
        assert value not in screen.content.decode()


@pytest.mark.parametrize(
    ("data", "warning"),
    [
        (
            {"scope_type": "location", "location": "hq", "access": "owner"},
            "Keep this key somewhere safe; it has full write access to the location Headquarters.",
        ),
        (
            {"scope_type": "location", "location": "hq", "access": "operator"},
            "Keep this key somewhere safe; it has read access to the location Headquarters.",
        ),
        (
            {"scope_type": "robot", "machine": "arm", "access": "owner"},
            "Keep this key somewhere safe; it has full write access to the machine arm-01.",
        ),
        (
            {"scope_type": "organization", "access": "operator"},
            "Keep this key somewhere safe; it has read access to your organization.",
        ),
    ],
)
def test_the_warning_names_the_scope_and_the_access(fleet, clock, client_for, data, warning):
    for field in ("location", "machine"):
        if field in data:
            data[field] = str(getattr(fleet, data[field]).pk)
    response = client_for(fleet.owner).post(url("create", fleet.org), create_data(**data))
    assert response.status_code == 200
    assert warning in response.content.decode()
    role = ApiKeyAuthorization.objects.get().role
    expected_role = {
        ("location", "owner"): "location_owner",
        ("location", "operator"): "location_operator",
        ("robot", "owner"): "robot_owner",
        ("organization", "operator"): "organization_operator",
    }[(data["scope_type"], data["access"])]
    assert role == expected_role


def test_expiry_choices_are_computed_from_the_clock(fleet, clock, client_for):
    client = client_for(fleet.owner)
    client.post(url("create", fleet.org), create_data(name="thirty", expiry="30d", form_token="a"))
    client.post(
        url("create", fleet.org), create_data(name="dated", expiry="date", expires_on="2025-06-01", form_token="b")
    )
    assert ApiKey.objects.get(name="thirty").expires_at == T0 + timedelta(days=30)
    assert ApiKey.objects.get(name="dated").expires_at.isoformat() == "2025-06-01T00:00:00+00:00"
    response = client.post(
        url("create", fleet.org), create_data(name="past", expiry="date", expires_on="2025-03-04", form_token="c")
    )
    assert response.status_code == 422
    assert "The expiry date must be in the future." in response.content.decode()


def test_resubmitting_the_same_form_redirects_to_the_key_without_a_second_one(fleet, clock, client_for):
    client = client_for(fleet.owner)
    first = client.post(url("create", fleet.org), create_data(form_token="same-form"))
    value = value_in(first)
    key = ApiKey.objects.get()
    again = client.post(url("create", fleet.org), create_data(form_token="same-form"))
    assert again.status_code == 302
    assert again["Location"] == url("detail", fleet.org, key.pk)
    assert ApiKey.objects.count() == 1
    assert AuditEvent.objects.count() == 1
    screen = client.get(again["Location"])
    content = screen.content.decode()
    assert "This form was already submitted; the key was created then. Its value is shown only once." in content
    assert value not in content


def test_the_create_form_gets_a_fresh_form_token_each_time(fleet, client_for):
    client = client_for(fleet.owner)
    token_re = re.compile(r'name="form_token" value="([^"]+)"')
    first = token_re.search(client.get(url("create", fleet.org)).content.decode()).group(1)
    second = token_re.search(client.get(url("create", fleet.org)).content.decode()).group(1)
    assert first != second and len(first) >= 24


def machine_select(content: str) -> str:
    return re.search(r'<select name="machine".*?</select>', content, re.S).group(0)


def test_the_dependent_picker_narrows_machines_to_the_chosen_location(fleet, client_for):
    client = client_for(fleet.owner)
    response = client.get(url("create", fleet.org), {"scope_type": "robot", "location": str(fleet.line_a.pk)}, **HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<form id="key-form"')
    assert "<html" not in content
    assert "arm-01" in machine_select(content)
    assert "forklift-01" not in machine_select(content)
    assert "HX-Request" in response["Vary"]
    everything = client.get(url("create", fleet.org), {"scope_type": "robot"}, **HTMX).content.decode()
    assert "arm-01" in machine_select(everything) and "forklift-01" in machine_select(everything)


@pytest.mark.parametrize("htmx", [False, True])
def test_invalid_create_is_422_with_the_reason_and_no_key(fleet, client_for, htmx):
    response = client_for(fleet.owner).post(
        url("create", fleet.org), create_data(scope_type="location"), **(HTMX if htmx else {})
    )
    assert response.status_code == 422
    content = response.content.decode()
    assert "Choose the location this key is for." in content
    assert ("<html" in content) is not htmx
    machine = client_for(fleet.owner).post(url("create", fleet.org), create_data(scope_type="robot"))
    assert "Choose the machine this key is for." in machine.content.decode()
    assert not ApiKey.objects.exists()
    assert not AuditEvent.objects.exists()


# ---- detail, rotate, rename, grant, revoke, delete ---------------------------------------------------


def test_detail_shows_the_key_without_a_value(fleet, keys, client_for):
    response = client_for(fleet.owner).get(url("detail", fleet.org, keys.two.pk))
    content = response.content.decode()
    assert "two-grants" in content and str(keys.two.pk) in content
    assert "organization_owner" in content and "location_owner" in content and "Headquarters" in content
    assert "keys.api_key.create" in content  # the history
    assert "Shown once, when the key was issued; not stored. Rotate the key to get a new value." in content


def test_detail_of_a_malformed_or_foreign_id_is_404(fleet, keys, client_for):
    client = client_for(fleet.owner)
    assert client.get(f"/orgs/{fleet.org.pk}/keys/not-a-uuid/").status_code == 404
    other_org = fleet.outsider.memberships.get().organization
    foreign = issue(fleet.outsider, other_org, name="theirs").key
    assert client.get(url("detail", fleet.org, foreign.pk)).status_code == 404
    services.api_key_delete(actor=fleet.owner, key=keys.org)
    assert client.get(url("detail", fleet.org, keys.org.pk)).status_code == 404


def test_rotate_screen_offers_the_grace_periods(fleet, keys, client_for):
    response = client_for(fleet.owner).get(url("rotate", fleet.org, keys.org.pk))
    content = response.content.decode()
    assert "Rotate “org-key”?" in content
    for value, label in [
        ("none", "None: the old value stops working now"),
        ("1h", "1 hour"),
        ("24h", "24 hours"),
        ("7d", "7 days"),
    ]:
        assert f'value="{value}"' in content
        assert label in content
    assert ApiKey.objects.get(pk=keys.org.pk).replaced_by_id is None


def test_rotate_with_a_grace_shows_the_new_value_once_and_until_when_the_old_one_works(fleet, keys, client_for):
    client = client_for(fleet.owner)
    response = client.post(url("rotate", fleet.org, keys.org.pk), {"grace": "1h"})
    assert response.status_code == 200
    content = response.content.decode()
    value = value_in(response)
    old = ApiKey.objects.get(pk=keys.org.pk)
    new = old.replaced_by
    assert old.retired_at == T0 + GRACE_PERIODS["1h"]
    assert tokens.verify(value, tokens.StoredSecret(new.secret_hash, new.pepper_id))
    assert str(new.pk) in content
    assert "no-store" in response["Cache-Control"]
    assert f"The previous key {old.pk} keeps working until 2025-03-04 06:06 UTC." in re.sub(r"<[^>]+>", "", content)
    assert value not in client.get(url("detail", fleet.org, new.pk)).content.decode()


def test_rotate_without_a_grace_says_the_old_value_no_longer_works(fleet, keys, client_for):
    response = client_for(fleet.owner).post(url("rotate", fleet.org, keys.org.pk), {"grace": "none"})
    assert f"The previous key {keys.org.pk} no longer works." in re.sub(r"<[^>]+>", "", response.content.decode())


def test_rotating_twice_is_refused_with_the_reason(fleet, keys, client_for):
    client = client_for(fleet.owner)
    client.post(url("rotate", fleet.org, keys.org.pk), {"grace": "7d"})
    replacement = ApiKey.objects.get(pk=keys.org.pk).replaced_by_id
    response = client.post(url("rotate", fleet.org, keys.org.pk), {"grace": "none"})
    assert response.status_code == 422
    assert f"Key {keys.org.pk} was already rotated; rotate its replacement {replacement}." in response.content.decode()
    assert not KEY_VALUE_RE.search(response.content.decode())
    assert AuditEvent.objects.filter(action="keys.api_key.rotate").count() == 1


def test_rotate_with_an_unknown_grace_is_422(fleet, keys, client_for):
    response = client_for(fleet.owner).post(url("rotate", fleet.org, keys.org.pk), {"grace": "1y"})
    assert response.status_code == 422
    assert "must be one of none, 1h, 24h, 7d; got &#x27;1y&#x27;" in response.content.decode()
    assert ApiKey.objects.get(pk=keys.org.pk).replaced_by_id is None


def test_rename_with_an_empty_name_is_422(fleet, keys, client_for):
    events = AuditEvent.objects.count()
    response = client_for(fleet.owner).post(url("rename", fleet.org, keys.org.pk), {"name": "   "})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert ApiKey.objects.get(pk=keys.org.pk).name == "org-key"
    assert AuditEvent.objects.count() == events


def test_rename_refused_by_the_service_is_422_with_its_reason(fleet, keys, client_for):
    response = client_for(fleet.owner).post(url("rename", fleet.org, keys.org.pk), {"name": "bad\x01name"})
    assert response.status_code == 422
    assert "A key name cannot contain control characters." in response.content.decode()
    assert ApiKey.objects.get(pk=keys.org.pk).name == "org-key"


def test_rename_redirects_to_the_key_with_a_message(fleet, keys, client_for):
    response = client_for(fleet.owner).post(url("rename", fleet.org, keys.org.pk), {"name": "ci"}, follow=True)
    assert response.redirect_chain == [(url("detail", fleet.org, keys.org.pk), 302)]
    assert "Key renamed to “ci”." in response.content.decode()


def test_grant_adds_an_authorization(fleet, keys, client_for):
    events = AuditEvent.objects.count()
    response = client_for(fleet.owner).post(
        url("grant", fleet.org, keys.org.pk),
        {"scope_type": "location", "location": str(fleet.hq.pk), "access": "operator"},
        follow=True,
    )
    assert response.redirect_chain == [(url("detail", fleet.org, keys.org.pk), 302)]
    assert "Granted location_operator to “org-key”." in response.content.decode()
    assert ApiKeyAuthorization.objects.filter(
        key=keys.org, role="location_operator", location=fleet.hq, resource_type="location"
    ).exists()
    assert AuditEvent.objects.count() == events + 1
    assert AuditEvent.objects.latest("id").action == "keys.api_key.grant"


def test_granting_an_authorization_the_key_already_has_is_422(fleet, keys, client_for):
    events = AuditEvent.objects.count()
    response = client_for(fleet.owner).post(
        url("grant", fleet.org, keys.hq.pk), {"scope_type": "location", "location": str(fleet.hq.pk), "access": "owner"}
    )
    assert response.status_code == 422
    assert "The key already has location_owner on this location." in response.content.decode()
    assert keys.hq.authorizations.count() == 1
    assert AuditEvent.objects.count() == events


def test_location_owner_cannot_grant_beyond_their_subtree(fleet, keys, client_for):
    client = client_for(fleet.location_owner)
    for data in (
        {"scope_type": "organization", "access": "owner"},
        {"scope_type": "location", "location": str(fleet.warehouse.pk), "access": "owner"},
        {"scope_type": "robot", "machine": str(fleet.forklift.pk), "access": "operator"},
    ):
        response = client.post(url("grant", fleet.org, keys.hq.pk), data)
        assert response.status_code == 422
        assert "Select a valid choice." in response.content.decode()
    assert keys.hq.authorizations.count() == 1
    assert not AuditEvent.objects.filter(action="keys.api_key.grant").exists()


def test_grant_without_the_location_is_422(fleet, keys, client_for):
    response = client_for(fleet.owner).post(
        url("grant", fleet.org, keys.org.pk), {"scope_type": "location", "access": "owner"}
    )
    assert response.status_code == 422
    assert "Choose the location this key is for." in response.content.decode()
    assert keys.org.authorizations.count() == 1


def test_revoke_removes_an_authorization(fleet, keys, client_for):
    hq_grant = keys.two.authorizations.get(location=fleet.hq)
    response = client_for(fleet.owner).post(url("revoke", fleet.org, keys.two.pk, hq_grant.pk), follow=True)
    assert response.redirect_chain == [(url("detail", fleet.org, keys.two.pk), 302)]
    assert "Removed location_owner from “two-grants”." in response.content.decode()
    assert list(keys.two.authorizations.values_list("role", flat=True)) == ["organization_owner"]
    assert AuditEvent.objects.latest("id").action == "keys.api_key.revoke"


def test_revoking_the_last_authorization_is_refused(fleet, keys, client_for):
    (only,) = keys.org.authorizations.all()
    events = AuditEvent.objects.count()
    response = client_for(fleet.owner).post(url("revoke", fleet.org, keys.org.pk, only.pk), follow=True)
    assert response.redirect_chain == [(url("detail", fleet.org, keys.org.pk), 302)]
    assert "A key needs at least one authorization; delete the key instead." in response.content.decode()
    assert ApiKeyAuthorization.objects.filter(pk=only.pk).exists()
    assert AuditEvent.objects.count() == events


def test_revoking_another_keys_authorization_is_404(fleet, keys, client_for):
    foreign = keys.two.authorizations.first()
    response = client_for(fleet.owner).post(url("revoke", fleet.org, keys.org.pk, foreign.pk))
    assert response.status_code == 404
    assert keys.two.authorizations.count() == 2


def test_delete_asks_first_then_deletes(fleet, keys, client_for):
    client = client_for(fleet.owner)
    screen = client.get(url("delete", fleet.org, keys.org.pk))
    assert "Delete “org-key”?" in screen.content.decode()
    assert ApiKey.objects.alive().filter(pk=keys.org.pk).exists()
    response = client.post(url("delete", fleet.org, keys.org.pk), follow=True)
    assert response.redirect_chain == [(url("list", fleet.org), 302)]
    assert "Deleted API key “org-key”. It no longer authenticates." in response.content.decode()
    assert ApiKey.objects.get(pk=keys.org.pk).deleted_at == T0


def test_bulk_delete_confirms_then_deletes_all(fleet, keys, client_for):
    client = client_for(fleet.owner)
    events = AuditEvent.objects.count()
    chosen = {"key": [str(keys.hq.pk), str(keys.arm.pk)]}
    confirm = client.post(url("bulk_delete", fleet.org), chosen)
    assert confirm.status_code == 200
    content = confirm.content.decode()
    assert "Delete 2 API keys?" in content
    for key in (keys.hq, keys.arm):
        assert key.name in content and str(key.pk) in content
    assert ApiKey.objects.alive().count() == 5
    assert AuditEvent.objects.count() == events

    done = client.post(url("bulk_delete", fleet.org), {**chosen, "confirm": "on"}, follow=True)
    assert done.redirect_chain == [(url("list", fleet.org), 302)]
    assert "Deleted 2 API keys." in done.content.decode()
    assert set(ApiKey.objects.exclude(deleted_at=None).values_list("pk", flat=True)) == {keys.hq.pk, keys.arm.pk}
    deletes = AuditEvent.objects.filter(action="keys.api_key.delete")
    assert sorted(deletes.values_list("target_id", flat=True)) == sorted([str(keys.hq.pk), str(keys.arm.pk)])
    assert AuditEvent.objects.count() == events + 2


def test_bulk_delete_counts_a_key_selected_twice_once(fleet, keys, client_for):
    client = client_for(fleet.owner)
    twice = {"key": [str(keys.hq.pk), str(keys.hq.pk)]}
    assert "Delete 1 API key?" in client.post(url("bulk_delete", fleet.org), twice).content.decode()
    done = client.post(url("bulk_delete", fleet.org), {**twice, "confirm": "on"}, follow=True)
    assert "Deleted 1 API key." in done.content.decode()
    assert AuditEvent.objects.filter(action="keys.api_key.delete").count() == 1


def test_bulk_delete_with_nothing_selected_says_so(fleet, keys, client_for):
    response = client_for(fleet.owner).post(url("bulk_delete", fleet.org), {"confirm": "on"}, follow=True)
    assert "Select at least one key to delete." in response.content.decode()
    assert ApiKey.objects.alive().count() == 5


# ---- list: filters, htmx, pagination, query counts -------------------------------------------------


@pytest.fixture
def statuses(fleet, clock):
    """Keys in every status, two hours after they were made."""
    active = issue(fleet.owner, fleet.org, name="alpha").key
    expiring = issue(fleet.owner, fleet.org, name="beta", expires_at=T0 + timedelta(days=3)).key
    expired = issue(fleet.owner, fleet.org, name="gamma", expires_at=T0 + timedelta(hours=1)).key
    rotated = issue(fleet.owner, fleet.org, name="delta").key
    rotated_new = services.api_key_rotate(actor=fleet.owner, key=rotated, grace=GRACE_PERIODS["none"]).key
    in_grace = issue(fleet.owner, fleet.org, name="epsilon").key
    in_grace_new = services.api_key_rotate(actor=fleet.owner, key=in_grace, grace=GRACE_PERIODS["24h"]).key
    clock.advance(hours=2)
    return SimpleNamespace(
        active={active.pk, rotated_new.pk, in_grace_new.pk},
        expiring={expiring.pk, in_grace.pk},
        expired={expired.pk},
        rotated_out={rotated.pk},
    )


@pytest.mark.parametrize("status", ["active", "expiring", "expired", "rotated_out"])
def test_list_filters_by_status(fleet, statuses, client_for, status):
    response = client_for(fleet.owner).get(url("list", fleet.org), {"status": status})
    assert set(page_ids(response)) == getattr(statuses, status)


def test_list_shows_each_status(fleet, statuses, client_for):
    content = client_for(fleet.owner).get(url("list", fleet.org)).content.decode()
    for css in ["status-active", "status-expiring", "status-expired", "status-rotated_out"]:
        assert css in content


def test_list_filters_by_name_and_by_key_id(fleet, keys, client_for):
    client = client_for(fleet.owner)
    assert set(page_ids(client.get(url("list", fleet.org), {"q": "KEY"}))) == {
        keys.org.pk,
        keys.hq.pk,
        keys.warehouse.pk,
        keys.arm.pk,
    }
    assert page_ids(client.get(url("list", fleet.org), {"q": "house"})) == [keys.warehouse.pk]
    assert page_ids(client.get(url("list", fleet.org), {"q": str(keys.arm.pk)})) == [keys.arm.pk]
    assert page_ids(client.get(url("list", fleet.org), {"q": str(keys.arm.pk)[:8]})) == []
    nothing = client.get(url("list", fleet.org), {"q": "zzz"})
    assert "No key matches these filters." in nothing.content.decode()


def test_list_filters_by_scope_and_role(fleet, keys, client_for):
    client = client_for(fleet.owner)
    assert set(page_ids(client.get(url("list", fleet.org), {"scope": "location"}))) == {
        keys.hq.pk,
        keys.warehouse.pk,
        keys.two.pk,
    }
    assert page_ids(client.get(url("list", fleet.org), {"scope": "robot"})) == [keys.arm.pk]
    assert page_ids(client.get(url("list", fleet.org), {"role": "robot_owner"})) == [keys.arm.pk]
    assert set(page_ids(client.get(url("list", fleet.org), {"role": "organization_owner"}))) == {
        keys.org.pk,
        keys.two.pk,
    }
    # Unknown filter values are ignored rather than erroring.
    assert len(page_ids(client.get(url("list", fleet.org), {"role": "god", "scope": "x", "status": "y"}))) == 5


def test_list_returns_the_table_partial_to_htmx(fleet, keys, client_for):
    response = client_for(fleet.owner).get(url("list", fleet.org), {"q": "hq"}, **HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="key-table">')
    assert "<html" not in content
    assert "hq-key" in content and "org-key" not in content
    assert "HX-Request" in response["Vary"]
    full = client_for(fleet.owner).get(url("list", fleet.org), {"q": "hq"})
    assert "<html" in full.content.decode() and "HX-Request" in full["Vary"]


@pytest.fixture
def many_keys(fleet):
    # 120 keys, four to a timestamp, so ties on created_at fall across page boundaries (keys 49-52).
    created_ats = [T0 - timedelta(minutes=index // 4) for index in range(120)]
    keys = bulk_keys(fleet.org, created_ats)
    return sorted(keys, key=lambda k: (k.created_at, k.pk), reverse=True)


def test_keyset_pagination_visits_every_key_once_newest_first(fleet, many_keys, client_for):
    client = client_for(fleet.owner)
    seen, sizes, cursor = [], [], None
    while True:
        response = client.get(url("list", fleet.org), {"after": cursor} if cursor else {})
        assert response.status_code == 200
        ids = page_ids(response)
        seen += ids
        sizes.append(len(ids))
        cursor = response.context["page"].next_cursor
        if cursor is None:
            break
        assert f"after={cursor}" in response.content.decode()
        assert len(sizes) < 10
    assert sizes == [PAGE_SIZE, PAGE_SIZE, 120 - 2 * PAGE_SIZE]
    assert seen == [k.pk for k in many_keys]


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


GARBAGE_CURSORS = {
    "word": "garbage",
    "percent": "%%%",
    "zero-bytes": "AAAA",
    "no-date": b64("x|y"),
    "no-uuid": b64("2025-01-01T00:00:00+00:00|not-a-uuid"),
    "three-parts": b64("2025-01-01T00:00:00+00:00|a|b"),
    "not-utf8": "fak_" + "A" * 46,
    "naive-time": b64("2025-01-01T00:00:00|0b8f3c9e-6d3b-4c1e-9a55-8d7f6f0e2b11"),
}


@pytest.mark.parametrize("cursor", GARBAGE_CURSORS.values(), ids=GARBAGE_CURSORS.keys())
def test_a_garbage_cursor_is_the_first_page(fleet, many_keys, client_for, cursor):
    response = client_for(fleet.owner).get(url("list", fleet.org), {"after": cursor})
    assert response.status_code == 200
    assert page_ids(response) == [k.pk for k in many_keys[:PAGE_SIZE]]


# session, user, organization, memberships (grants), keys page (with the key each replaced by rotation, a
# subquery), their authorizations (prefetch); the org switcher's names came with the memberships
LIST_QUERIES = 6


def test_list_query_count_does_not_grow_with_the_keys(fleet, clock, client_for, django_assert_num_queries):
    client = client_for(fleet.owner)
    path = url("list", fleet.org)
    for resource in (fleet.org, fleet.hq, fleet.line_a, fleet.arm, fleet.forklift):
        issue(fleet.owner, resource)
    client.get(path)  # warm the session
    with django_assert_num_queries(LIST_QUERIES):
        assert len(page_ids(client.get(path))) == 5
    bulk_keys(fleet.org, [T0 - timedelta(seconds=i) for i in range(55)])
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(path)
    assert len(page_ids(response)) == PAGE_SIZE
    assert response.context["page"].next_cursor is not None


# session, user, organization, memberships (grants), the key (with organization and replacement joined),
# its authorizations (prefetch, resources joined), locations and machines (the grant form's pickers),
# the key's history, the key it replaced by rotation; the org switcher's names came with the memberships
DETAIL_QUERIES = 10


def test_detail_query_count_does_not_grow_with_authorizations_or_history(
    fleet, clock, client_for, django_assert_num_queries
):
    client = client_for(fleet.owner)
    small = issue(fleet.owner, fleet.org, name="small").key
    big = issue(fleet.owner, fleet.org, fleet.hq, fleet.line_a, fleet.arm, fleet.forklift, name="big").key
    for index in range(5):
        services.api_key_rename(actor=fleet.owner, key=big, name=f"big-{index}")
    client.get(url("detail", fleet.org, small.pk))  # warm the session
    with django_assert_num_queries(DETAIL_QUERIES):
        client.get(url("detail", fleet.org, small.pk))
    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(url("detail", fleet.org, big.pk))
    assert response.content.decode().count("keys.api_key.rename") == 5
