"""Bad input over gRPC is INVALID_ARGUMENT naming the field, with the web form's words; never INTERNAL."""

from __future__ import annotations

import base64
import io
import os

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from PIL import Image
from viam.proto import app as pb
from viam.proto.rpc.auth import AuthenticateRequest, AuthServiceStub, Credentials

from tests.grpc.conftest import connect, run, stub_of

GOOD_CONFIG = {
    "client_authentication": pb.ClientAuthentication.CLIENT_AUTHENTICATION_REQUIRED,
    "pkce": pb.PKCE.PKCE_REQUIRED,
    "url_validation": pb.URLValidation.URL_VALIDATION_EXACT_MATCH,
    "redirect_uris": ["https://app.example.com/callback"],
    "logout_uri": "https://app.example.com/logout",
    "enabled_grants": [pb.EnabledGrant.ENABLED_GRANT_AUTHORIZATION_CODE],
}
GOOD_ADDRESS = {"address_line_1": "123 Main St", "city": "Springfield", "state": "IL", "zipcode": "62704"}


def _app(ids, **changes) -> pb.CreateOAuthAppRequest:
    return pb.CreateOAuthAppRequest(org_id=ids["acme"], oauth_config=pb.OAuthConfig(**{**GOOD_CONFIG, **changes}))


def _key(ids, **changes) -> pb.CreateKeyRequest:
    authorization = {
        "authorization_type": "role",
        "authorization_id": "organization_owner",
        "resource_type": "organization",
        "resource_id": ids["acme"],
        **changes,
    }
    return pb.CreateKeyRequest(name="bad input", authorizations=[pb.Authorization(**authorization)])


def _billing(ids, **changes) -> pb.EnableBillingServiceRequest:
    return pb.EnableBillingServiceRequest(
        org_id=ids["globex"], billing_address=pb.BillingAddress(**{**GOOD_ADDRESS, **changes})
    )


def noise_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, format="PNG")
    return out.getvalue()


GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)

# name -> (request maker(ids) -> (method name, request), the start of the message)
CASES = {
    "pkce out of range": (lambda ids: ("CreateOAuthApp", _app(ids, pkce=9)), "pkce: must be one of unspecified, "),
    "client_authentication out of range": (
        lambda ids: ("CreateOAuthApp", _app(ids, client_authentication=7)),
        "client_authentication: must be one of unspecified, required, ",
    ),
    "url_validation out of range": (
        lambda ids: ("CreateOAuthApp", _app(ids, url_validation=5)),
        "url_validation: must be one of unspecified, exact_match, allow_wildcards; got '5'",
    ),
    "grant out of range": (
        lambda ids: ("CreateOAuthApp", _app(ids, enabled_grants=[9])),
        "enabled_grants: '9' is not a grant; accepted: authorization_code, ",
    ),
    "unspecified grant": (
        lambda ids: ("CreateOAuthApp", _app(ids, enabled_grants=[0])),
        "enabled_grants: 'unspecified' is not a grant",
    ),
    "no redirect URI": (lambda ids: ("CreateOAuthApp", _app(ids, redirect_uris=[])), "redirect_uris: "),
    "org id not a UUID": (
        lambda ids: ("ListLocations", pb.ListLocationsRequest(organization_id="acme")),
        "organization_id: must be a UUID; got 'acme'",
    ),
    "org id missing": (
        lambda ids: ("EnableAuthService", pb.EnableAuthServiceRequest(org_id="")),
        "org_id: required; send the UUID of the resource",
    ),
    "location id not a UUID": (
        lambda ids: ("ListRobots", pb.ListRobotsRequest(location_id="hq")),
        "location_id: must be a UUID; got 'hq'",
    ),
    "robot id not a UUID": (
        lambda ids: ("GetRobotAPIKeys", pb.GetRobotAPIKeysRequest(robot_id="arm-01")),
        "robot_id: must be a UUID; got 'arm-01'",
    ),
    "key id not a UUID": (
        lambda ids: ("RotateKey", pb.RotateKeyRequest(id="fak_123")),
        "id: must be a UUID; got 'fak_123'",
    ),
    "client id not a UUID": (
        lambda ids: ("ReadOAuthApp", pb.ReadOAuthAppRequest(org_id=ids["acme"], client_id="console")),
        "client_id: must be a UUID; got 'console'",
    ),
    "resource id not a UUID": (
        lambda ids: ("CreateKey", _key(ids, resource_id="acme")),
        "authorizations[0].resource_id: must be a UUID; got 'acme'",
    ),
    "authorization type": (
        lambda ids: ("CreateKey", _key(ids, authorization_type="group")),
        "authorizations[0].authorization_type: must be 'role'; got 'group'",
    ),
    "resource type": (
        lambda ids: ("CreateKey", _key(ids, resource_type="fleet")),
        "authorizations[0].resource_type: must be one of organization, location, robot; got 'fleet'",
    ),
    "role for the resource": (
        lambda ids: ("CreateKey", _key(ids, authorization_id="robot_owner")),
        "role: must be one of organization_owner, organization_operator for an organization key; got 'robot_owner'",
    ),
    "no authorization": (
        lambda ids: ("CreateKey", pb.CreateKeyRequest(name="none")),
        "authorizations: A key needs at least one authorization.",
    ),
    "empty key name": (
        lambda ids: ("RenameKey", pb.RenameKeyRequest(id=ids["org_spare_key"], name="  ")),
        "name: Enter a key name; it cannot be empty.",
    ),
    "oversized logo": (
        lambda ids: ("OrganizationSetLogo", pb.OrganizationSetLogoRequest(org_id=ids["acme"], logo=noise_png(300))),
        "logo: the file is ",
    ),
    "logo not a PNG": (
        lambda ids: ("OrganizationSetLogo", pb.OrganizationSetLogoRequest(org_id=ids["acme"], logo=GIF)),
        "logo: must be a PNG image; this file is ",
    ),
    "empty support email": (
        lambda ids: ("OrganizationSetSupportEmail", pb.OrganizationSetSupportEmailRequest(org_id=ids["acme"])),
        "support_email: enter the address end users write to for help; it cannot be empty",
    ),
    "support email not an address": (
        lambda ids: (
            "OrganizationSetSupportEmail",
            pb.OrganizationSetSupportEmailRequest(org_id=ids["acme"], email="help at acme"),
        ),
        "support_email: 'help at acme' is not an email address",
    ),
    "address without a city": (lambda ids: ("EnableBillingService", _billing(ids, city="")), "address: city: "),
    "address with a bad zipcode": (
        lambda ids: ("EnableBillingService", _billing(ids, zipcode="ABCDE")),
        "address: zipcode: ",
    ),
    "address in no country": (
        lambda ids: ("EnableBillingService", _billing(ids, country="Atlantis")),
        "address: country: ",
    ),
    "no address": (
        lambda ids: ("EnableBillingService", pb.EnableBillingServiceRequest(org_id=ids["globex"])),
        "billing_address: required",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_invalid_argument(stack, case):
    make, message_start = CASES[case]
    # Globex's owner sets up Globex's billing; Acme's owner does the rest.
    method, request = make({**stack.ids, "org_spare_key": stack.keys["org_spare"]["id"]})
    key = stack.keys["other" if method == "EnableBillingService" else "org"]

    async def call():
        client = await connect(stack.grpc_address, key)
        try:
            with pytest.raises(GRPCError) as refused:
                await getattr(stub_of(client), method)(request, metadata=client._metadata)
            return refused.value
        finally:
            client.close()

    refused = run(call())
    assert (refused.status, refused.message[: len(message_start)]) == (Status.INVALID_ARGUMENT, message_start)


@pytest.mark.parametrize("logo", ["oversized", "gif"])
def test_logo_refusals_read_as_the_json_api_says_them(stack, logo):
    data = noise_png(300) if logo == "oversized" else GIF
    status, body = stack.api(
        "PUT", f"/organizations/{stack.ids['acme']}/logo", body={"png_base64": base64.b64encode(data).decode()}
    )
    assert status == 400

    async def call():
        client = await connect(stack.grpc_address, stack.keys["org"])
        try:
            with pytest.raises(GRPCError) as refused:
                await stub_of(client).OrganizationSetLogo(
                    pb.OrganizationSetLogoRequest(org_id=stack.ids["acme"], logo=data), metadata=client._metadata
                )
            return refused.value
        finally:
            client.close()

    assert run(call()).message == body["error"]["message"]
    assert body["error"]["message"] == "logo: " + " ".join(body["error"]["fields"]["logo"])


def test_a_forged_token_is_unauthenticated(stack):
    async def call():
        client = await connect(stack.grpc_address, stack.keys["org"])
        try:
            token = client._metadata["authorization"]
            with pytest.raises(GRPCError) as refused:
                await stub_of(client).ListOrganizations(
                    pb.ListOrganizationsRequest(), metadata={"authorization": token[:-3] + "xyz"}
                )
            with pytest.raises(GRPCError) as missing:
                await stub_of(client).ListOrganizations(pb.ListOrganizationsRequest())
            return refused.value, missing.value
        finally:
            client.close()

    forged, missing = run(call())
    assert (forged.status, forged.message) == (
        Status.UNAUTHENTICATED,
        "The access token is not one this server issued.",
    )
    assert missing.status == Status.UNAUTHENTICATED and missing.message.startswith("Missing credentials: ")


@pytest.mark.parametrize(
    ("entity", "credentials_type", "payload", "message_start"),
    [
        ("not-a-uuid", "api-key", "fak_x", "Malformed key id 'not-a-uuid': a key id is a UUID."),
        (None, "robot-location-secret", "x", "credentials.type must be 'api-key'"),
        (None, "api-key", "fak_wrong", "The key value is malformed"),
    ],
)
def test_authenticate_refusals(stack, entity, credentials_type, payload, message_start):
    from grpclib.client import Channel

    host, port = stack.grpc_address.split(":")

    async def call():
        channel = Channel(host, int(port))
        try:
            with pytest.raises(GRPCError) as refused:
                await AuthServiceStub(channel).Authenticate(
                    AuthenticateRequest(
                        entity=entity or stack.keys["org"]["id"],
                        credentials=Credentials(type=credentials_type, payload=payload),
                    )
                )
            return refused.value
        finally:
            channel.close()

    refused = run(call())
    assert refused.status == Status.UNAUTHENTICATED and refused.message.startswith(message_start)
