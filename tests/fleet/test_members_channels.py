"""An unknown role gets the same words from the web form, the JSON API and the CLI (``fleet.rules.unknown_role``)."""

import html
import json

import pytest
from click.testing import CliRunner
from django.test import Client
from django.urls import reverse

from fleetadmin.cli import main as cli
from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet import rules
from fleetadmin.fleet.models import Invitation, Membership
from fleetadmin.keys.services import Grant, api_key_create

pytestmark = pytest.mark.django_db
RULE = rules.unknown_role("admin")


@pytest.fixture
def api(fleet) -> Client:
    issued = api_key_create(
        actor=SYSTEM, organization=fleet.org, grants=[Grant(role="organization_owner", resource=fleet.org)]
    )
    return Client(HTTP_AUTHORIZATION=f"ApiKey {issued.key.pk}:{issued.value}")


def test_the_rule_lists_the_roles_and_what_was_sent():
    assert RULE == (
        "must be one of organization_owner, organization_operator, location_owner, location_operator; got 'admin'"
    )


def test_invite_with_an_unknown_role_on_every_channel(fleet, client_for, api):
    web = client_for(fleet.owner).post(
        reverse("fleet:member_invite", args=[fleet.org.pk]), {"email": "a@example.com", "role": "admin"}
    )
    assert web.status_code == 422
    assert RULE in html.unescape(web.content.decode()) and "role: " not in html.unescape(web.content.decode())

    response = api.post(
        f"/api/v1/organizations/{fleet.org.pk}/invitations",
        {"email": "a@example.com", "role": "admin"},
        "application/json",
    )
    assert response.status_code == 400
    error = json.loads(response.content)["error"]
    assert error["message"] == f"role: {RULE}"
    assert error["fields"] == {"role": [RULE]}

    result = CliRunner().invoke(
        cli.cli,
        ["organizations", "members", "invite", f"--org-id={fleet.org.pk}", "--email=a@example.com", "--role=admin"],
    )
    assert result.exit_code == 2
    assert f"Invalid value for '--role': {RULE}" in result.output
    assert not Invitation.objects.filter(email="a@example.com").exists()


def test_changing_a_role_to_an_unknown_one_on_web_and_api(fleet, client_for, api):
    membership = Membership.objects.get(user=fleet.operator, organization=fleet.org)
    web = client_for(fleet.owner).post(
        reverse("fleet:member_edit", args=[fleet.org.pk, membership.pk]), {"role": "admin", "location_id": ""}
    )
    assert web.status_code == 422 and RULE in html.unescape(web.content.decode())
    response = api.patch(
        f"/api/v1/organizations/{fleet.org.pk}/members/{membership.pk}", {"role": "admin"}, "application/json"
    )
    assert json.loads(response.content)["error"]["message"] == f"role: {RULE}"
    membership.refresh_from_db()
    assert membership.role == "organization_operator"
