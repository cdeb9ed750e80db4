"""The auth service as an OpenID Connect provider, driven over real HTTP (gunicorn) by two client libraries
nobody on this project wrote: requests-oauth2client, and authlib as a second opinion on PKCE and id_tokens."""

from __future__ import annotations

import uuid

import pytest
import requests
from requests_oauth2client import OAuth2Client
from requests_oauth2client.exceptions import InvalidGrant

from tests.e2e.oidc_helpers import LOGOUT, REDIRECT, EndUserBrowser, app_config, create_end_user, make_apps


@pytest.fixture(scope="module")
def oidc(portal_server, demo_ids):
    org = demo_ids["org"]
    apps = make_apps(
        portal_server,
        org,
        {
            "web": app_config(
                enabled_grants=["authorization_code", "refresh_token", "device_code"],
                origin_uris=["https://spa.example.com"],
            ),
        },
    )
    email = f"ana-{uuid.uuid4().hex[:6]}@example.com"
    create_end_user(portal_server, org, email)
    issuer = f"{portal_server.base_url}/oidc/{org}"
    return {"org": org, "apps": apps, "email": email, "issuer": issuer}


def _client(oidc, app, **kwargs) -> OAuth2Client:
    return OAuth2Client.from_discovery_endpoint(
        issuer=oidc["issuer"],
        client_id=app.client_id,
        client_secret=app.secret,
        redirect_uri=REDIRECT,
        testing=True,
        **kwargs,
    )


def test_discovery_names_the_per_organization_issuer_and_its_keys(portal_server, oidc):
    config = requests.get(f"{oidc['issuer']}/.well-known/openid-configuration", timeout=10).json()
    assert config["issuer"] == oidc["issuer"]
    assert not config["issuer"].endswith("/")
    assert config["code_challenge_methods_supported"] == ["S256"]
    for name in (
        "authorization",
        "token",
        "userinfo",
        "revocation",
        "introspection",
        "end_session",
        "device_authorization",
    ):
        assert config[f"{name}_endpoint"].startswith(oidc["issuer"] + "/")
    keys = requests.get(config["jwks_uri"], timeout=10).json()["keys"]
    assert keys and all(key["kid"] and key["alg"] == "RS256" and "d" not in key for key in keys)


def test_an_unknown_organization_has_no_endpoints(portal_server):
    base = f"{portal_server.base_url}/oidc/{uuid.uuid4()}"
    for path in (
        ".well-known/openid-configuration",
        "jwks",
        "authorize",
        "userinfo",
        "end_session",
        "sign-in",
        "device",
    ):
        assert requests.get(f"{base}/{path}", timeout=10, allow_redirects=False).status_code == 404, path
    for path in ("token", "revoke", "introspect", "device_authorization"):
        assert requests.post(f"{base}/{path}", timeout=10).status_code == 404, path


def test_code_flow_with_pkce_refresh_userinfo_introspection_revocation_and_logout(portal_server, oidc):
    app = oidc["apps"]["web"]
    client = _client(oidc, app)
    request = client.authorization_request(scope="openid email profile")
    assert request.code_challenge_method == "S256"
    browser = EndUserBrowser(portal_server.base_url, oidc["email"])
    callback = browser.authorize(str(request.uri))
    response = request.validate_callback(callback)  # state checked by the library
    token = client.authorization_code(response)  # id_token validated against the JWKS: iss, aud, nonce, signature
    claims = token.id_token.claims
    assert claims["iss"] == oidc["issuer"]
    assert claims["aud"] == app.client_id
    assert claims["email"] == oidc["email"]
    assert claims["email_verified"] is True
    assert "name" in claims and uuid.UUID(claims["sub"])
    assert token.id_token.alg == "RS256" and token.id_token.kid
    assert 0 < token.expires_in <= 300

    userinfo = client.userinfo(token)
    assert userinfo["sub"] == claims["sub"] and userinfo["email"] == oidc["email"]

    active = client.introspect_token(token.access_token)
    assert active["active"] is True and active["client_id"] == app.client_id

    refreshed = client.refresh_token(token)
    assert refreshed.refresh_token != token.refresh_token
    with pytest.raises(InvalidGrant):
        client.refresh_token(token)  # the used refresh token: reuse revokes the whole family
    with pytest.raises(InvalidGrant):
        client.refresh_token(refreshed)
    assert client.introspect_token(refreshed.access_token)["active"] is False

    second = client.authorization_request()
    again = client.authorization_code(second.validate_callback(browser.authorize(str(second.uri))))
    client.revoke_access_token(again.access_token)
    assert client.introspect_token(again.access_token)["active"] is False

    logout = browser.session.get(
        f"{oidc['issuer']}/end_session",
        params={"id_token_hint": str(again.id_token), "post_logout_redirect_uri": LOGOUT, "state": "s-1"},
        allow_redirects=False,
        timeout=10,
    )
    assert logout.status_code == 302
    assert logout.headers["Location"] == f"{LOGOUT}?state=s-1"
    # Signed out: the next authorization request lands on the sign-in page again.
    next_request = client.authorization_request()
    first = browser.session.get(str(next_request.uri), allow_redirects=False, timeout=10)
    assert "/sign-in" in first.headers["Location"]


def test_authlib_agrees_on_pkce_and_the_id_token(portal_server, oidc):
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.jose import JsonWebKey, jwt
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    app = oidc["apps"]["web"]
    config = requests.get(f"{oidc['issuer']}/.well-known/openid-configuration", timeout=10).json()
    session = OAuth2Session(app.client_id, app.secret, scope="openid email", redirect_uri=REDIRECT)
    verifier = uuid.uuid4().hex + uuid.uuid4().hex
    nonce = uuid.uuid4().hex
    url, state = session.create_authorization_url(
        config["authorization_endpoint"],
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
        nonce=nonce,
    )
    callback = EndUserBrowser(portal_server.base_url, oidc["email"]).authorize(url)
    token = session.fetch_token(config["token_endpoint"], authorization_response=callback, code_verifier=verifier)
    keys = JsonWebKey.import_key_set(requests.get(config["jwks_uri"], timeout=10).json())
    claims = jwt.decode(
        token["id_token"],
        keys,
        claims_options={
            "iss": {"essential": True, "value": oidc["issuer"]},
            "aud": {"essential": True, "value": app.client_id},
        },
    )
    claims.validate()
    assert claims["nonce"] == nonce
    assert f"state={state}" in callback


def test_device_flow_with_slow_down(portal_server, oidc):
    app = oidc["apps"]["web"]
    # from_discovery_endpoint does not read device_authorization_endpoint; name it as a user of the library would.
    client = _client(oidc, app, device_authorization_endpoint=f"{oidc['issuer']}/device_authorization")
    device = client.authorize_device(scope="openid email")
    assert device.verification_uri == f"{oidc['issuer']}/device"
    first = requests.post(
        client.token_endpoint,
        data={"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": device.device_code},
        auth=(app.client_id, app.secret),
        timeout=10,
    )
    assert first.json()["error"] == "authorization_pending"
    second = requests.post(
        client.token_endpoint,
        data={"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": device.device_code},
        auth=(app.client_id, app.secret),
        timeout=10,
    )
    assert second.status_code == 400 and second.json()["error"] == "slow_down"

    browser = EndUserBrowser(portal_server.base_url, oidc["email"])
    page = browser.authorize(f"{oidc['issuer']}/device?user_code={device.user_code}", stop_at="nowhere:")
    assert page.status_code == 200 and device.user_code in page.text
    from tests.e2e.oidc_helpers import form_fields

    done = browser.session.post(
        f"{oidc['issuer']}/device",
        data={**form_fields(page.text), "decision": "approve"},
        timeout=10,
    )
    assert "Device connected" in done.text
    token = client.device_code(device)
    assert client.userinfo(token)["email"] == oidc["email"]
