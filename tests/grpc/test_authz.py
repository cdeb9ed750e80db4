"""Who may call what over gRPC: the same answers as the web and JSON API, as exact status codes.

Outside the key's reach is NOT_FOUND (ids do not leak), inside reach but beyond its role is
PERMISSION_DENIED, and a key that cannot be used is UNAUTHENTICATED with the JSON API's reason.
"""

from __future__ import annotations

import pytest
from grpclib.exceptions import GRPCError
from viam.proto import app as pb

from tests.grpc.conftest import connect, run, stub_of


def _key_request(role: str, resource_type: str, resource_id: str, name: str) -> pb.CreateKeyRequest:
    return pb.CreateKeyRequest(
        name=name,
        authorizations=[
            pb.Authorization(
                authorization_type="role", authorization_id=role, resource_type=resource_type, resource_id=resource_id
            )
        ],
    )


def calls(ids: dict[str, str], spare_key_id: str) -> dict:
    acme = ids["acme"]
    return {
        "ListKeys": lambda s: s.ListKeys(pb.ListKeysRequest(org_id=acme)),
        "CreateKey org": lambda s: s.CreateKey(_key_request("organization_owner", "organization", acme, "m org")),
        "CreateKey hq": lambda s: s.CreateKey(_key_request("location_owner", "location", ids["hq"], "m hq")),
        "CreateKey arm": lambda s: s.CreateKey(_key_request("robot_owner", "robot", ids["arm"], "m arm")),
        "ListRobots warehouse": lambda s: s.ListRobots(pb.ListRobotsRequest(location_id=ids["warehouse"])),
        "RenameKey org key": lambda s: s.RenameKey(pb.RenameKeyRequest(id=spare_key_id, name="org owner spare")),
        "EnableAuthService": lambda s: s.EnableAuthService(pb.EnableAuthServiceRequest(org_id=acme)),
        "OrganizationGetSupportEmail": lambda s: s.OrganizationGetSupportEmail(
            pb.OrganizationGetSupportEmailRequest(org_id=acme)
        ),
        "ListOAuthApps": lambda s: s.ListOAuthApps(pb.ListOAuthAppsRequest(org_id=acme)),
        "GetBillingServiceConfig": lambda s: s.GetBillingServiceConfig(pb.GetBillingServiceConfigRequest(org_id=acme)),
    }


OK, NOT_FOUND, DENIED = "OK", "NOT_FOUND", "PERMISSION_DENIED"
EXPECTED = {
    "org": dict.fromkeys(calls(dict.fromkeys(["acme", "hq", "arm", "warehouse"], ""), ""), OK),
    "location": {
        "ListKeys": OK,
        "CreateKey org": DENIED,
        "CreateKey hq": OK,
        "CreateKey arm": OK,  # arm-01 stands in Line A, under Headquarters
        "ListRobots warehouse": NOT_FOUND,
        "RenameKey org key": NOT_FOUND,
        "EnableAuthService": DENIED,
        "OrganizationGetSupportEmail": DENIED,
        "ListOAuthApps": DENIED,
        "GetBillingServiceConfig": DENIED,
    },
    "machine": {
        "ListKeys": OK,
        "CreateKey org": DENIED,
        "CreateKey hq": NOT_FOUND,
        "CreateKey arm": OK,
        "ListRobots warehouse": NOT_FOUND,
        "RenameKey org key": NOT_FOUND,
        "EnableAuthService": DENIED,
        "OrganizationGetSupportEmail": DENIED,
        "ListOAuthApps": DENIED,
        "GetBillingServiceConfig": DENIED,
    },
    "operator": {
        "ListKeys": OK,
        "CreateKey org": DENIED,
        "CreateKey hq": DENIED,
        "CreateKey arm": DENIED,
        "ListRobots warehouse": OK,
        "RenameKey org key": DENIED,
        "EnableAuthService": DENIED,
        "OrganizationGetSupportEmail": OK,
        "ListOAuthApps": OK,
        "GetBillingServiceConfig": OK,
    },
    "other": dict.fromkeys(calls(dict.fromkeys(["acme", "hq", "arm", "warehouse"], ""), ""), NOT_FOUND),
}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_matrix(stack, kind):
    table = calls(stack.ids, stack.keys["org_spare"]["id"])

    async def outcomes():
        client = await connect(stack.grpc_address, stack.keys[kind])
        stub = stub_of(client)
        got = {}
        try:
            for name, call in table.items():
                try:
                    await call(_WithMetadata(stub, client._metadata))
                    got[name] = OK
                except GRPCError as error:
                    got[name] = error.status.name
        finally:
            client.close()
        return got

    assert run(outcomes()) == EXPECTED[kind]


def test_what_a_location_key_lists_is_its_subtree(stack):
    async def listing():
        client = await connect(stack.grpc_address, stack.keys["location"])
        try:
            app = client.app_client
            return await app.list_locations(stack.ids["acme"]), await app.list_keys(stack.ids["acme"])
        finally:
            client.close()

    locations, keys = run(listing())
    assert {loc.name for loc in locations} == {"Headquarters", "Line A"}
    scopes = {a.resource_id for k in keys for a in k.authorizations}
    assert stack.ids["acme"] not in scopes and stack.ids["hq"] in scopes


@pytest.mark.parametrize(("kind", "reason"), [("deleted", "was deleted at "), ("expired", "expired at ")])
def test_a_deleted_or_expired_key_cannot_authenticate(stack, kind, reason):
    credentials = stack.keys[kind]
    with pytest.raises(GRPCError) as refused:
        run(connect(stack.grpc_address, credentials))
    assert refused.value.status.name == "UNAUTHENTICATED"
    assert refused.value.message.startswith(f"API key {credentials['id']} {reason}")
    # The JSON API refuses it with the same words.
    status, body = stack.api("GET", "/organizations", key=kind)
    assert status == 401 and body["error"]["message"] == refused.value.message


def test_a_key_deleted_after_authenticating_stops_at_its_next_call(stack):
    status, made = stack.api(
        "POST",
        f"/organizations/{stack.ids['acme']}/api-keys",
        body={"name": "short-lived", "role": "organization_owner"},
    )
    assert status == 201

    async def use_then_lose():
        client = await connect(stack.grpc_address, {"id": made["id"], "value": made["key"]})
        try:
            first = await client.app_client.list_organizations()
            assert stack.api("DELETE", f"/api-keys/{made['id']}")[0] == 204
            with pytest.raises(GRPCError) as refused:
                await client.app_client.list_organizations()
            return first, refused.value
        finally:
            client.close()

    first, refused = run(use_then_lose())
    assert [o.name for o in first] == ["Acme Robotics"]
    assert refused.status.name == "UNAUTHENTICATED"
    assert refused.message.startswith(f"API key {made['id']} was deleted at ")


class _WithMetadata:
    """The stub with the client's authorization metadata on every call, as AppClient passes it."""

    def __init__(self, stub, metadata):
        self._stub, self._metadata = stub, metadata

    def __getattr__(self, name):
        method = getattr(self._stub, name)
        return lambda request: method(request, metadata=self._metadata)
