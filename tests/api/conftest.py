"""The JSON API's callers, shared by its test modules: one of every kind, API keys and signed-in sessions."""

import json

import pytest
from django.test import Client

from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet.models import Organization
from fleetadmin.keys.services import Grant, api_key_create


def key_client(issued) -> Client:
    return Client(HTTP_AUTHORIZATION=f"ApiKey {issued.key.pk}:{issued.value}")


def issue(fleet, role, resource, org=None):
    return api_key_create(actor=SYSTEM, organization=org or fleet.org, grants=[Grant(role=role, resource=resource)])


def body(response):
    return json.loads(response.content)


@pytest.fixture
def callers(fleet, client_for):
    """Every kind of caller the issue names: a key of another organization, an operator's and an owner's key,
    signed-in operator, owner and another organization's owner, and nobody at all."""
    other = Organization.objects.get(name="Globex")
    return {
        "anonymous": Client(),
        "other_org_key": key_client(issue(fleet, "organization_owner", other, org=other)),
        "operator_key": key_client(issue(fleet, "organization_operator", fleet.org)),
        "owner_key": key_client(issue(fleet, "organization_owner", fleet.org)),
        "operator": client_for(fleet.operator),
        "owner": client_for(fleet.owner),
        "outsider": client_for(fleet.outsider),
    }
