"""Members and invitations through the JSON API, at exactly the issue's paths, for every kind of caller."""

import json

import pytest

from fleetadmin.audit.models import AuditEvent
from fleetadmin.fleet.models import Invitation, Membership, Role
from tests.api.conftest import body

pytestmark = pytest.mark.django_db


def members_path(fleet):
    return f"/api/v1/organizations/{fleet.org.pk}/members"


def invitations_path(fleet):
    return f"/api/v1/organizations/{fleet.org.pk}/invitations"


LIST_STATUS = {
    "anonymous": 401,
    "other_org_key": 404,
    "operator_key": 200,
    "owner_key": 200,
    "operator": 200,
    "owner": 200,
}
WRITE_STATUS = {
    "anonymous": 401,
    "other_org_key": 404,
    "operator_key": 403,
    "owner_key": 201,
    "operator": 403,
    "owner": 201,
}


@pytest.mark.parametrize("who", list(LIST_STATUS))
def test_list_members(fleet, callers, who):
    response = callers[who].get(members_path(fleet))
    assert response.status_code == LIST_STATUS[who]
    if response.status_code == 200:
        rows = {row["email"]: row for row in body(response)}
        assert rows[fleet.owner.email]["role"] == "organization_owner"
        assert rows[fleet.location_owner.email]["scope"] == "location"
        assert rows[fleet.location_owner.email]["location_id"] == str(fleet.hq.pk)
        assert isinstance(rows[fleet.owner.email]["id"], int) and rows[fleet.owner.email]["two_factor"] is False


@pytest.mark.parametrize("who", list(WRITE_STATUS))
def test_invite(fleet, callers, who):
    payload = {"email": "api.invitee@example.com", "role": "location_operator", "location_id": str(fleet.hq.pk)}
    response = callers[who].post(invitations_path(fleet), payload, content_type="application/json")
    assert response.status_code == WRITE_STATUS[who], response.content
    if response.status_code == 201:
        data = body(response)
        assert data["email"] == "api.invitee@example.com" and data["scope"] == "location"
        assert "token" not in json.dumps(data) and "/invitations/" not in json.dumps(data)
        listed = callers[who].get(invitations_path(fleet))
        assert [i["id"] for i in body(listed)] == [data["id"]]
        assert AuditEvent.objects.filter(action="fleet.membership.invite").count() == 1
    else:
        assert not Invitation.objects.exists()


def test_invitation_errors_name_the_field(fleet, callers):
    owner = callers["owner_key"]
    response = owner.post(
        invitations_path(fleet), {"email": "x@example.com", "role": "location_owner"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert body(response)["error"]["fields"] == {
        "location_id": ["The location_owner role needs a location of Acme Robotics."]
    }
    response = owner.post(
        invitations_path(fleet), {"email": "x@example.com", "role": "boss"}, content_type="application/json"
    )
    assert response.status_code == 400 and "role" in body(response)["error"]["fields"]


def test_revoke_invitation(fleet, callers):
    created = body(
        callers["owner"].post(
            invitations_path(fleet),
            {"email": "r@example.com", "role": "organization_operator"},
            content_type="application/json",
        )
    )
    path = f"{invitations_path(fleet)}/{created['id']}"
    assert callers["operator_key"].delete(path).status_code == 403
    assert callers["other_org_key"].delete(path).status_code == 404
    assert callers["owner_key"].delete(path).status_code == 204
    assert body(callers["owner"].get(invitations_path(fleet))) == []


def test_patch_and_delete_members_with_the_last_owner_rule(fleet, callers):
    owner_id = Membership.objects.get(user=fleet.owner, organization=fleet.org).pk
    operator_id = Membership.objects.get(user=fleet.operator, organization=fleet.org).pk
    api = callers["owner_key"]
    demote = api.patch(
        f"{members_path(fleet)}/{owner_id}", {"role": "organization_operator"}, content_type="application/json"
    )
    assert demote.status_code == 400
    assert "is the last owner of Acme Robotics" in body(demote)["error"]["message"]
    assert api.delete(f"{members_path(fleet)}/{owner_id}").status_code == 400

    assert (
        callers["operator"]
        .patch(f"{members_path(fleet)}/{operator_id}", {"role": "organization_owner"}, content_type="application/json")
        .status_code
        == 403
    )
    promoted = api.patch(
        f"{members_path(fleet)}/{operator_id}", {"role": "organization_owner"}, content_type="application/json"
    )
    assert promoted.status_code == 200 and body(promoted)["role"] == "organization_owner"
    scoped = api.patch(
        f"{members_path(fleet)}/{operator_id}",
        {"role": "location_owner", "location_id": str(fleet.warehouse.pk)},
        content_type="application/json",
    )
    assert body(scoped)["scope"] == "location" and body(scoped)["location_id"] == str(fleet.warehouse.pk)
    assert api.delete(f"{members_path(fleet)}/{operator_id}").status_code == 204
    assert not Membership.objects.filter(pk=operator_id).exists()
    assert callers["other_org_key"].delete(f"{members_path(fleet)}/{owner_id}").status_code == 404
    assert Membership.objects.get(pk=owner_id).role == Role.ORGANIZATION_OWNER


def test_org_requiring_two_factor_refuses_a_session_without_it(fleet, callers):
    fleet.org.require_two_factor = True
    fleet.org.save()
    response = callers["operator"].get(members_path(fleet))
    assert response.status_code == 403
    assert body(response)["error"]["code"] == "two_factor_required"
    assert callers["operator_key"].get(members_path(fleet)).status_code == 200  # keys are not people
