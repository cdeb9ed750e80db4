"""Every operation of the seed, through the platform's unmodified Python SDK, against ``serve_grpc``.

Each effect is checked where a user would look: the JSON API (gunicorn, same database) and,
once per flow, the audit log in the database (actor = the key, request id from ``x-request-id``).
"""

from __future__ import annotations

import io
import uuid

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from PIL import Image
from viam.app.app_client import APIKeyAuthorization
from viam.proto import app as pb

from tests.grpc.conftest import connect, run, stub_of


def png(size: int = 64) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def audit_events(stack, organization_id: str, request_ids: list[str]) -> list[list[str]]:
    """[action, actor type, actor id, request id] of the events with these request ids, oldest first."""
    return stack.query(
        "import json\n"
        "from fleetadmin.audit.models import AuditEvent\n"
        f"rows = AuditEvent.objects.filter(organization_id={organization_id!r}, request_id__in={request_ids!r})"
        ".order_by('id').values_list('action', 'actor_type', 'actor_id', 'request_id')\n"
        "print(json.dumps([list(r) for r in rows]))"
    )


def test_keys_through_app_client(stack):
    acme, arm, hq = stack.ids["acme"], stack.ids["arm"], stack.ids["hq"]
    owner = stack.keys["org"]
    rid = f"grpc-keys-{uuid.uuid4().hex[:12]}"

    async def flow():
        client = await connect(stack.grpc_address, owner)
        try:
            app = client.app_client
            organizations = await app.list_organizations()
            locations = await app.list_locations(acme)
            robots = await app.list_robots(location_id=stack.ids["line_a"])
            for_org = await stub_of(client).ListRobotsForOrg(
                pb.ListRobotsForOrgRequest(org_id=acme), metadata=client._metadata
            )
            meta = {**client._metadata, "x-request-id": rid}
            stub = stub_of(client)
            created = await stub.CreateKey(
                pb.CreateKeyRequest(
                    name="sdk robot key",
                    authorizations=[
                        pb.Authorization(
                            authorization_type="role",
                            authorization_id="robot_owner",
                            resource_type="robot",
                            resource_id=arm,
                            organization_id=acme,
                        )
                    ],
                ),
                metadata=meta,
            )
            location_value, location_id = await app.create_key(
                acme, [APIKeyAuthorization(role="owner", resource_type="location", resource_id=hq)], name="sdk hq key"
            )
            renamed = await stub.RenameKey(pb.RenameKeyRequest(id=created.id, name="sdk arm key"), metadata=meta)
            listed = await app.list_keys(acme)
            robot_keys = await app.get_robot_api_keys(arm)
            rotated_value, rotated_id = await app.rotate_key(location_id)
            copy_value, copy_id = await app.create_key_from_existing_key_authorizations(rotated_id)
            await stub.DeleteKey(pb.DeleteKeyRequest(id=copy_id), metadata=meta)
            return (
                organizations,
                locations,
                robots,
                for_org,
                created,
                renamed,
                listed,
                robot_keys,
                (
                    location_value,
                    location_id,
                    rotated_value,
                    rotated_id,
                    copy_value,
                    copy_id,
                ),
            )
        finally:
            client.close()

    organizations, locations, robots, for_org, created, renamed, listed, robot_keys, ids = run(flow())
    location_value, location_id, rotated_value, rotated_id, copy_value, copy_id = ids

    assert [o.name for o in organizations] == ["Acme Robotics"]
    assert {loc.name for loc in locations} == {"Headquarters", "Line A", "Warehouse"}
    line_a = next(loc for loc in locations if loc.name == "Line A")
    assert line_a.parent_location_id == hq and line_a.robot_count == 1
    assert [r.name for r in robots] == ["arm-01"]
    assert sorted(r.name for r in for_org.robots) == ["arm-01", "forklift-01"]
    assert created.key.startswith("fak_") and renamed.name == "sdk arm key"
    by_id = {k.api_key.id: k for k in listed}
    assert by_id[created.id].api_key.name == "sdk arm key" and by_id[created.id].api_key.key == ""
    [authorization] = by_id[created.id].authorizations
    assert (authorization.authorization_id, authorization.resource_type, authorization.resource_id) == (
        "robot_owner",
        "robot",
        arm,
    )
    assert created.id in {k.api_key.id for k in robot_keys}
    assert rotated_id != location_id and rotated_value != location_value
    assert copy_value.startswith("fak_") and copy_id not in {rotated_id, location_id}

    # The JSON API sees the same keys: the renamed one, the rotated one replaced, the copy deleted.
    status, body = stack.api("GET", f"/api-keys/{created.id}")
    assert status == 200 and body["name"] == "sdk arm key"
    status, body = stack.api("GET", f"/api-keys/{location_id}")
    assert status == 200 and body["replaced_by"] == rotated_id and body["status"] == "rotated_out"
    status, body = stack.api("GET", f"/api-keys/{rotated_id}")
    assert status == 200 and body["authorizations"][0]["resource_id"] == hq
    assert stack.api("GET", f"/api-keys/{copy_id}")[0] == 404

    # The rotated-out key is refused at once, with the JSON API's reason; its replacement works.
    async def with_old_and_new():
        with pytest.raises(GRPCError) as refused:
            await connect(stack.grpc_address, {"id": location_id, "value": location_value})
        client = await connect(stack.grpc_address, {"id": rotated_id, "value": rotated_value})
        try:
            return refused.value, await client.app_client.list_robots(location_id=hq)
        finally:
            client.close()

    refused, hq_robots = run(with_old_and_new())
    assert refused.status == Status.UNAUTHENTICATED
    assert refused.message.startswith(f"API key {location_id} was rotated out at ")
    assert refused.message.endswith(f"use its replacement {rotated_id}.")
    assert hq_robots == []  # Headquarters itself has no machine; arm-01 is in Line A

    events = audit_events(stack, acme, [rid])
    assert [e[0] for e in events] == ["keys.api_key.create", "keys.api_key.rename", "keys.api_key.delete"]
    assert {(e[1], e[2], e[3]) for e in events} == {("api_key", owner["id"], rid)}


def test_auth_service_oauth_apps_and_billing_through_the_stub(stack):
    acme = stack.ids["acme"]
    owner = stack.keys["org"]
    rid = f"grpc-auth-{uuid.uuid4().hex[:12]}"
    logo = png()
    config = pb.OAuthConfig(
        client_authentication=pb.ClientAuthentication.CLIENT_AUTHENTICATION_REQUIRED,
        pkce=pb.PKCE.PKCE_NOT_REQUIRED_WHEN_USING_CLIENT_AUTHENTICATION,
        url_validation=pb.URLValidation.URL_VALIDATION_EXACT_MATCH,
        redirect_uris=["https://app.example.com/callback"],
        logout_uri="https://app.example.com/logout",
        origin_uris=["https://app.example.com"],
        enabled_grants=[pb.EnabledGrant.ENABLED_GRANT_AUTHORIZATION_CODE, pb.EnabledGrant.ENABLED_GRANT_REFRESH_TOKEN],
    )
    address = pb.BillingAddress(
        address_line_1="123 Main St", city="Springfield", state="IL", zipcode="62704", country="US"
    )

    async def flow():
        client = await connect(stack.grpc_address, owner)
        try:
            stub, meta = stub_of(client), {**client._metadata, "x-request-id": rid}
            out = {}
            # From a known state whatever ran before (the authorization matrix enables it): disabled.
            await stub.DisableAuthService(pb.DisableAuthServiceRequest(org_id=acme), metadata=client._metadata)
            await stub.EnableAuthService(pb.EnableAuthServiceRequest(org_id=acme), metadata=meta)
            await stub.OrganizationSetLogo(pb.OrganizationSetLogoRequest(org_id=acme, logo=logo), metadata=meta)
            out["logo"] = await stub.OrganizationGetLogo(pb.OrganizationGetLogoRequest(org_id=acme), metadata=meta)
            await stub.OrganizationSetSupportEmail(
                pb.OrganizationSetSupportEmailRequest(org_id=acme, email="help@acme.example"), metadata=meta
            )
            out["email"] = await stub.OrganizationGetSupportEmail(
                pb.OrganizationGetSupportEmailRequest(org_id=acme), metadata=meta
            )
            out["created"] = await stub.CreateOAuthApp(
                pb.CreateOAuthAppRequest(org_id=acme, client_name="Acme Console", oauth_config=config), metadata=meta
            )
            client_id = out["created"].client_id
            out["listed"] = await stub.ListOAuthApps(pb.ListOAuthAppsRequest(org_id=acme), metadata=meta)
            out["read"] = await stub.ReadOAuthApp(
                pb.ReadOAuthAppRequest(org_id=acme, client_id=client_id), metadata=meta
            )
            changed = pb.OAuthConfig()
            changed.CopyFrom(config)
            changed.url_validation = pb.URLValidation.URL_VALIDATION_ALLOW_WILDCARDS
            changed.redirect_uris.append("https://*.example.com/callback")
            await stub.UpdateOAuthApp(
                pb.UpdateOAuthAppRequest(
                    org_id=acme, client_id=client_id, client_name="Acme Console 2", oauth_config=changed
                ),
                metadata=meta,
            )
            out["reread"] = await stub.ReadOAuthApp(
                pb.ReadOAuthAppRequest(org_id=acme, client_id=client_id), metadata=meta
            )
            await stub.EnableBillingService(
                pb.EnableBillingServiceRequest(org_id=acme, billing_address=address), metadata=meta
            )
            moved = pb.BillingAddress()
            moved.CopyFrom(address)
            moved.address_line_2 = "Suite 5"
            await stub.UpdateBillingService(
                pb.UpdateBillingServiceRequest(org_id=acme, billing_address=moved), metadata=meta
            )
            out["billing"] = await stub.GetBillingServiceConfig(
                pb.GetBillingServiceConfigRequest(org_id=acme), metadata=meta
            )
            return out, client_id
        finally:
            client.close()

    out, client_id = run(flow())
    assert out["created"].client_secret.startswith("fas_")
    assert client_id in out["listed"].client_ids
    assert out["read"].client_secret == ""  # only the hash is kept; the secret was shown once
    assert out["read"].client_name == "Acme Console" and out["read"].oauth_config == config
    assert out["reread"].client_name == "Acme Console 2"
    assert out["reread"].oauth_config.url_validation == pb.URLValidation.URL_VALIDATION_ALLOW_WILDCARDS
    assert out["email"].email == "help@acme.example"

    # The logo URL is the portal's own, the one the JSON API gives for the PNG that was sent.
    status, logo_out = stack.api("GET", f"/organizations/{acme}/logo")
    assert status == 200 and out["logo"].url == logo_out["url"]
    assert out["logo"].url.startswith(f"{stack.base_url}/") and logo_out["size"] == len(logo)
    assert (logo_out["width"], logo_out["height"]) == (64, 64)

    billing = out["billing"]
    assert (billing.billing_address.address_line_1, billing.billing_address.address_line_2) == (
        "123 Main St",
        "Suite 5",
    )
    assert billing.support_email == "help@acme.example" and billing.logo_url == out["logo"].url
    assert billing.billing_dashboard_url.startswith(f"{stack.base_url}/")

    # The JSON API sees the same configuration.
    status, app = stack.api("GET", f"/organizations/{acme}/oauth-apps/{client_id}")
    assert status == 200 and app["client_name"] == "Acme Console 2"
    assert app["url_validation"] == "allow_wildcards" and app["enabled_grants"] == [
        "authorization_code",
        "refresh_token",
    ]
    status, service = stack.api("GET", f"/organizations/{acme}/auth-service")
    assert status == 200 and service["enabled"] is True and service["support_email"] == "help@acme.example"
    status, config_out = stack.api("GET", f"/organizations/{acme}/billing-service")
    assert status == 200 and config_out["enabled"] is True
    assert config_out["structured_address"]["line2"] == "Suite 5"

    async def tear_down():
        client = await connect(stack.grpc_address, owner)
        try:
            stub, meta = stub_of(client), {**client._metadata, "x-request-id": rid}
            await stub.DeleteOAuthApp(pb.DeleteOAuthAppRequest(org_id=acme, client_id=client_id), metadata=meta)
            await stub.DisableBillingService(pb.DisableBillingServiceRequest(org_id=acme), metadata=meta)
            await stub.DisableAuthService(pb.DisableAuthServiceRequest(org_id=acme), metadata=meta)
            with pytest.raises(GRPCError) as gone:
                await stub.ReadOAuthApp(pb.ReadOAuthAppRequest(org_id=acme, client_id=client_id), metadata=meta)
            return gone.value
        finally:
            client.close()

    gone = run(tear_down())
    assert (gone.status, gone.message) == (Status.NOT_FOUND, "No such OAuth application.")
    assert stack.api("GET", f"/organizations/{acme}/billing-service")[1]["enabled"] is False
    assert stack.api("GET", f"/organizations/{acme}/auth-service")[1]["enabled"] is False

    events = audit_events(stack, acme, [rid])
    assert [e[0] for e in events] == [
        "oauth.auth_service.enable",
        "oauth.logo.set",
        "oauth.support_email.set",
        "oauth.oauth_app.create",
        "oauth.oauth_app.update",
        "billing.service.enable",
        "billing.service.update",
        "oauth.oauth_app.delete",
        "billing.service.disable",
        "oauth.auth_service.disable",
    ]
    assert {(e[1], e[2], e[3]) for e in events} == {("api_key", owner["id"], rid)}


def test_tls_with_a_self_signed_certificate(stack):
    """``insecure=False``: the SDK probes TLS (a blocking socket call) and, on loopback, skips verification."""

    async def over_tls():
        client = await connect(stack.tls_address, stack.keys["org"], insecure=False)
        try:
            return await client.app_client.list_organizations()
        finally:
            client.close()

    assert [o.name for o in run(over_tls())] == ["Acme Robotics"]


def test_every_other_method_is_unimplemented_by_name(stack):
    async def call():
        client = await connect(stack.grpc_address, stack.keys["org"])
        try:
            with pytest.raises(GRPCError) as refused:
                await client.app_client.get_user_id_by_email("someone@example.com")
            return refused.value
        finally:
            client.close()

    refused = run(call())
    assert refused.status == Status.UNIMPLEMENTED
    assert "viam.app.v1.AppService/GetUserIDByEmail" in refused.message


def test_the_request_id_comes_back_in_the_initial_metadata(stack):
    async def call():
        client = await connect(stack.grpc_address, stack.keys["org"])
        try:
            method = stub_of(client).ListOrganizations
            async with method.open(metadata={**client._metadata, "x-request-id": "grpc-rid-0123456789"}) as stream:
                await stream.send_message(pb.ListOrganizationsRequest(), end=True)
                await stream.recv_initial_metadata()
                await stream.recv_message()
                given = stream.initial_metadata["x-request-id"]
            async with method.open(metadata={**client._metadata, "x-request-id": "bad id!"}) as stream:
                await stream.send_message(pb.ListOrganizationsRequest(), end=True)
                await stream.recv_initial_metadata()
                await stream.recv_message()
                made = stream.initial_metadata["x-request-id"]
            return given, made
        finally:
            client.close()

    given, made = run(call())
    assert given == "grpc-rid-0123456789"
    assert len(made) == 32 and made != "bad id!"  # a malformed id is replaced, as the web does
