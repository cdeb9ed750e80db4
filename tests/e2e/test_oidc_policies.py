"""Every OAuth application setting changes what the issuer allows: a negative matrix, one row per policy ×
request variant, each asserting the exact RFC error code and that nothing was issued; plus session
separation between end users and the portal, and the sign-in throttle. Real HTTP against gunicorn."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.e2e.oidc_helpers import REDIRECT, EndUserBrowser, app_config, create_end_user, make_apps

WILDCARD_REDIRECT = "https://*.apps.example.org/cb"
SPA = "https://spa.example.com"
DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture(scope="module")
def env(portal_server, demo_ids):
    org = demo_ids["org"]
    apps = make_apps(
        portal_server,
        org,
        {
            "confidential": app_config(origin_uris=[SPA]),
            "public": app_config(client_authentication="not_required", pkce="required"),
            "either": app_config(
                client_authentication="not_required_when_using_pkce",
                pkce="not_required_when_using_client_authentication",
            ),
            "no_refresh": app_config(enabled_grants=["authorization_code"]),
            "wildcard": app_config(url_validation="allow_wildcards", redirect_uris=[WILDCARD_REDIRECT]),
            "legacy": app_config(enabled_grants=["authorization_code", "implicit", "password"]),
            "to_delete": app_config(),
            "to_rotate": app_config(),
        },
    )
    email = f"matrix-{uuid.uuid4().hex[:6]}@example.com"
    create_end_user(portal_server, org, email)
    browser = EndUserBrowser(portal_server.base_url, email)
    return {
        "org": org,
        "apps": apps,
        "issuer": f"{portal_server.base_url}/oidc/{org}",
        "browser": browser,
        "email": email,
    }


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(env, app, *, redirect_uri=REDIRECT, challenge=None, method="S256", pkce=True, **extra) -> str:
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid email",
        "state": "st-" + secrets.token_hex(4),
        "nonce": "n-" + secrets.token_hex(4),
    }
    if pkce:
        params["code_challenge"] = challenge or pkce_pair()[1]
        params["code_challenge_method"] = method
    params.update(extra)
    return f"{env['issuer']}/authorize?{urlencode(params)}"


def callback_params(location: str) -> dict[str, str]:
    parts = urlsplit(location)
    return {k: v[0] for k, v in parse_qs(parts.fragment or parts.query).items()}


def get_code(env, app, *, pkce=True, redirect_uri=REDIRECT) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    location = env["browser"].authorize(
        authorize_url(env, app, challenge=challenge, pkce=pkce, redirect_uri=redirect_uri), stop_at=redirect_uri
    )
    params = callback_params(location)
    assert "code" in params, params
    return params["code"], verifier


def token(env, data: dict, *, auth=None, headers=None) -> requests.Response:
    return requests.post(f"{env['issuer']}/token", data=data, auth=auth, headers=headers, timeout=10)


def exchange(env, app, code, verifier=None, *, secret=True, **extra) -> requests.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": app.client_id}
    if verifier:
        data["code_verifier"] = verifier
    data.update(extra)
    return token(env, data, auth=(app.client_id, app.secret) if secret else None)


def assert_error(response: requests.Response, status: int, error: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["error"] == error, body
    assert "access_token" not in body and "refresh_token" not in body and "id_token" not in body


def assert_redirect_error(location: str, error: str) -> None:
    params = callback_params(location)
    assert params.get("error") == error, params
    assert "code" not in params and "access_token" not in params


def assert_error_page(response, text: str) -> None:
    assert isinstance(response, requests.Response), f"redirected to {response}"
    assert response.status_code == 400 and "Location" not in response.headers
    assert text in response.text


def userinfo(env, access_token: str) -> requests.Response:
    return requests.get(f"{env['issuer']}/userinfo", headers={"Authorization": f"Bearer {access_token}"}, timeout=10)


def set_service(portal_server, org: str, enabled: bool) -> None:
    verb = "enable" if enabled else "disable"
    portal_server.query(
        "from fleetadmin.audit.services import SYSTEM; from fleetadmin.fleet.models import Organization; "
        f"from fleetadmin.oauth import services as s; s.auth_service_{verb}(actor=SYSTEM, "
        f"organization=Organization.objects.get(pk='{org}')); print(1)"
    )


# ---- the matrix ------------------------------------------------------------------------------------


def row_pkce_required_missing_challenge(env, server):
    location = env["browser"].authorize(authorize_url(env, env["apps"]["confidential"], pkce=False))
    assert_redirect_error(location, "invalid_request")


def row_pkce_plain_refused(env, server):
    location = env["browser"].authorize(
        authorize_url(env, env["apps"]["confidential"], challenge="x" * 43, method="plain")
    )
    assert_redirect_error(location, "invalid_request")


def row_pkce_wrong_verifier(env, server):
    app = env["apps"]["confidential"]
    code, _ = get_code(env, app)
    assert_error(exchange(env, app, code, pkce_pair()[0]), 400, "invalid_grant")


def row_pkce_missing_verifier(env, server):
    app = env["apps"]["confidential"]
    code, _ = get_code(env, app)
    assert_error(exchange(env, app, code), 400, "invalid_request")


def row_client_auth_required_wrong_secret(env, server):
    app = env["apps"]["confidential"]
    code, verifier = get_code(env, app)
    response = token(
        env,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier},
        auth=(app.client_id, "fas_" + "x" * 40),
    )
    assert_error(response, 401, "invalid_client")


def row_client_auth_required_no_secret(env, server):
    app = env["apps"]["confidential"]
    code, verifier = get_code(env, app)
    assert_error(exchange(env, app, code, verifier, secret=False), 401, "invalid_client")


def row_public_client_with_pkce_needs_no_secret(env, server):
    app = env["apps"]["public"]
    code, verifier = get_code(env, app)
    response = exchange(env, app, code, verifier, secret=False)
    assert response.status_code == 200 and response.json()["access_token"]


def row_public_client_without_pkce_refused(env, server):
    location = env["browser"].authorize(authorize_url(env, env["apps"]["public"], pkce=False))
    assert_redirect_error(location, "invalid_request")


def row_either_without_pkce_or_secret(env, server):
    app = env["apps"]["either"]
    code, _ = get_code(env, app, pkce=False)
    assert_error(exchange(env, app, code, secret=False), 401, "invalid_client")


def row_either_with_secret_needs_no_pkce(env, server):
    app = env["apps"]["either"]
    code, _ = get_code(env, app, pkce=False)
    assert exchange(env, app, code).status_code == 200


def row_either_with_pkce_needs_no_secret(env, server):
    app = env["apps"]["either"]
    code, verifier = get_code(env, app)
    assert exchange(env, app, code, verifier, secret=False).status_code == 200


def row_unregistered_redirect(env, server):
    response = env["browser"].authorize(
        authorize_url(env, env["apps"]["confidential"], redirect_uri="https://evil.example.net/cb")
    )
    assert_error_page(response, "has not registered")


def row_unknown_client_id(env, server):
    app = type(env["apps"]["confidential"])(client_id=str(uuid.uuid4()), secret="")
    assert_error_page(env["browser"].authorize(authorize_url(env, app)), "unknown client_id")


def row_wildcard_under_exact_match(env, server):
    response = env["browser"].authorize(
        authorize_url(env, env["apps"]["confidential"], redirect_uri="http://127.0.0.1:9/callback/extra")
    )
    assert_error_page(response, "has not registered")


def row_wildcard_one_label_accepted(env, server):
    location = env["browser"].authorize(
        authorize_url(env, env["apps"]["wildcard"], redirect_uri="https://eu.apps.example.org/cb"),
        stop_at="https://eu.apps.example.org/cb",
    )
    assert "code" in callback_params(location)


def row_wildcard_two_labels_refused(env, server):
    response = env["browser"].authorize(
        authorize_url(env, env["apps"]["wildcard"], redirect_uri="https://a.eu.apps.example.org/cb")
    )
    assert_error_page(response, "has not registered")


def row_wildcard_literal_star_refused(env, server):
    response = env["browser"].authorize(authorize_url(env, env["apps"]["wildcard"], redirect_uri=WILDCARD_REDIRECT))
    assert_error_page(response, "has not registered")


def row_device_grant_not_enabled(env, server):
    app = env["apps"]["confidential"]
    response = requests.post(
        f"{env['issuer']}/device_authorization",
        data={"client_id": app.client_id},
        auth=(app.client_id, app.secret),
        timeout=10,
    )
    assert_error(response, 400, "unauthorized_client")


def row_refresh_grant_not_enabled(env, server):
    app = env["apps"]["no_refresh"]
    code, verifier = get_code(env, app)
    issued = exchange(env, app, code, verifier)
    assert issued.status_code == 200 and "refresh_token" not in issued.json()
    response = token(env, {"grant_type": "refresh_token", "refresh_token": "x" * 30}, auth=(app.client_id, app.secret))
    assert_error(response, 400, "unauthorized_client")


def row_implicit_not_enabled(env, server):
    location = env["browser"].authorize(
        authorize_url(env, env["apps"]["confidential"], response_type="token", pkce=False)
    )
    assert_redirect_error(location, "unauthorized_client")


def row_implicit_enabled(env, server):
    location = env["browser"].authorize(authorize_url(env, env["apps"]["legacy"], response_type="token", pkce=False))
    assert callback_params(location)["access_token"]


def row_password_not_enabled(env, server):
    app = env["apps"]["confidential"]
    response = token(
        env,
        {"grant_type": "password", "username": env["email"], "password": "end-user-password-1"},
        auth=(app.client_id, app.secret),
    )
    assert_error(response, 400, "unauthorized_client")


def row_password_enabled(env, server):
    app = env["apps"]["legacy"]
    response = token(
        env,
        {"grant_type": "password", "username": env["email"], "password": "end-user-password-1", "scope": "openid"},
        auth=(app.client_id, app.secret),
    )
    assert response.status_code == 200 and response.json()["access_token"]


def row_client_credentials_never(env, server):
    app = env["apps"]["confidential"]
    assert_error(
        token(env, {"grant_type": "client_credentials"}, auth=(app.client_id, app.secret)), 400, "unauthorized_client"
    )


def row_reused_code_revokes_what_it_issued(env, server):
    app = env["apps"]["confidential"]
    code, verifier = get_code(env, app)
    first = exchange(env, app, code, verifier)
    assert first.status_code == 200
    assert_error(exchange(env, app, code, verifier), 400, "invalid_grant")
    assert userinfo(env, first.json()["access_token"]).status_code == 401
    refresh = token(
        env,
        {"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]},
        auth=(app.client_id, app.secret),
    )
    assert_error(refresh, 400, "invalid_grant")


def row_reused_refresh_token_revokes_family(env, server):
    app = env["apps"]["confidential"]
    code, verifier = get_code(env, app)
    first = exchange(env, app, code, verifier).json()
    second = token(
        env, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=(app.client_id, app.secret)
    )
    assert second.status_code == 200
    replay = token(
        env, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=(app.client_id, app.secret)
    )
    assert_error(replay, 400, "invalid_grant")
    newest = token(
        env,
        {"grant_type": "refresh_token", "refresh_token": second.json()["refresh_token"]},
        auth=(app.client_id, app.secret),
    )
    assert_error(newest, 400, "invalid_grant")
    assert userinfo(env, second.json()["access_token"]).status_code == 401


def row_disabled_service(env, server):
    app = env["apps"]["confidential"]
    code, verifier = get_code(env, app)
    issued = exchange(env, app, code, verifier).json()
    set_service(server, env["org"], False)
    try:
        code_after = requests.post(
            f"{env['issuer']}/introspect",
            data={"token": issued["access_token"]},
            auth=(app.client_id, app.secret),
            timeout=10,
        )
        assert code_after.status_code == 401 and code_after.json()["error"] == "invalid_client"
        assert userinfo(env, issued["access_token"]).status_code == 401
        refresh = token(
            env,
            {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
            auth=(app.client_id, app.secret),
        )
        assert_error(refresh, 401, "invalid_client")
        page = env["browser"].authorize(authorize_url(env, app))
        assert page.status_code == 403 and "Sign-in is unavailable" in page.text
    finally:
        set_service(server, env["org"], True)
    assert userinfo(env, issued["access_token"]).status_code == 200


def row_deleted_app(env, server):
    app = env["apps"]["to_delete"]
    code, verifier = get_code(env, app)
    server.query(
        "from fleetadmin.audit.services import SYSTEM; from fleetadmin.oauth import services as s; "
        "from fleetadmin.oauth.models import OAuthApplication as A; "
        f"a = A.objects.select_related('organization').get(pk='{app.client_id}'); "
        "s.oauth_app_delete(actor=SYSTEM, app=a); print(1)"
    )
    assert_error(exchange(env, app, code, verifier), 401, "invalid_client")
    assert_error_page(env["browser"].authorize(authorize_url(env, app)), "unknown client_id")


def row_rotated_secret(env, server):
    app = env["apps"]["to_rotate"]
    new_secret = server.query(
        "import json; from fleetadmin.audit.services import SYSTEM; from fleetadmin.oauth import services as s; "
        "from fleetadmin.oauth.models import OAuthApplication as A; "
        f"a = A.objects.select_related('organization').get(pk='{app.client_id}'); "
        "print(json.dumps(s.oauth_app_rotate_secret(actor=SYSTEM, app=a).client_secret))"
    )
    code, verifier = get_code(env, app)
    assert_error(exchange(env, app, code, verifier), 401, "invalid_client")
    code, verifier = get_code(env, app)
    fresh = token(
        env,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier},
        auth=(app.client_id, new_secret),
    )
    assert fresh.status_code == 200


def row_origin_not_listed(env, server):
    app = env["apps"]["confidential"]
    code, verifier = get_code(env, app)
    response = token(
        env,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier},
        auth=(app.client_id, app.secret),
        headers={"Origin": "https://other.example.com"},
    )
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response.headers
    access = response.json()["access_token"]
    for check in (
        requests.get(
            f"{env['issuer']}/userinfo",
            headers={"Authorization": f"Bearer {access}", "Origin": "https://other.example.com"},
            timeout=10,
        ),
        requests.get(f"{env['issuer']}/jwks", headers={"Origin": "https://other.example.com"}, timeout=10),
    ):
        assert "Access-Control-Allow-Origin" not in check.headers
    for check in (
        requests.get(
            f"{env['issuer']}/userinfo", headers={"Authorization": f"Bearer {access}", "Origin": SPA}, timeout=10
        ),
        requests.get(f"{env['issuer']}/jwks", headers={"Origin": SPA}, timeout=10),
        requests.post(
            f"{env['issuer']}/revoke",
            data={"token": access},
            auth=(app.client_id, app.secret),
            headers={"Origin": SPA},
            timeout=10,
        ),
    ):
        assert check.headers.get("Access-Control-Allow-Origin") == SPA


def row_logout_to_unlisted_uri(env, server):
    browser = EndUserBrowser(server.base_url, env["email"])
    get_code({**env, "browser": browser}, env["apps"]["confidential"])
    response = browser.session.get(
        f"{env['issuer']}/end_session",
        params={
            "client_id": env["apps"]["confidential"].client_id,
            "post_logout_redirect_uri": "https://evil.example.net/",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 400 and "Location" not in response.headers
    again = browser.session.get(authorize_url(env, env["apps"]["confidential"]), allow_redirects=False, timeout=10)
    assert "/sign-in" in again.headers["Location"]  # signed out all the same


def row_state_and_nonce_untouched(env, server):
    app = env["apps"]["confidential"]
    verifier, challenge = pkce_pair()
    state, nonce = "a b+c/=%é~", "n/+= x"
    location = env["browser"].authorize(authorize_url(env, app, challenge=challenge, state=state, nonce=nonce))
    params = callback_params(location)
    assert params["state"] == state
    issued = exchange(env, app, params["code"], verifier).json()
    payload = issued["id_token"].split(".")[1]
    import json

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["nonce"] == nonce


ROWS = {name[4:]: fn for name, fn in dict(globals()).items() if name.startswith("row_")}


@pytest.mark.parametrize("row", list(ROWS))
def test_policy_matrix(row, env, portal_server):
    ROWS[row](env, portal_server)


def test_matrix_issued_nothing_to_refused_clients(env, portal_server):
    """The either-or app's refused row and the confidential app's refusals left no token of theirs behind."""
    count = portal_server.query(
        "from fleetadmin.idp.models import AccessToken; "
        f"print(AccessToken.objects.filter(application__client_id='{env['apps']['to_delete'].client_id}').count())"
    )
    assert count == 0


# ---- sessions and throttle -------------------------------------------------------------------------


def test_an_end_user_session_is_not_a_portal_session(env, portal_server):
    browser = env["browser"]
    get_code(env, env["apps"]["confidential"])  # signed in as an end user
    portal = browser.session.get(f"{portal_server.base_url}/orgs/", allow_redirects=False, timeout=10)
    assert portal.status_code == 302 and "/accounts/sign-in" in portal.headers["Location"]


def test_a_portal_session_is_not_an_end_user_sign_in(env, portal_server):
    from tests.e2e.conftest import OWNER

    session = requests.Session()
    page = session.get(f"{portal_server.base_url}/accounts/sign-in/", timeout=10)
    token_value = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    signed_in = session.post(
        f"{portal_server.base_url}/accounts/sign-in/",
        data={"csrfmiddlewaretoken": token_value, "username": OWNER, "password": portal_server.password},
        headers={"Referer": page.url},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 302 and "/accounts/sign-in" not in signed_in.headers["Location"]
    assert session.get(f"{portal_server.base_url}/orgs/", allow_redirects=False, timeout=10).status_code == 200
    response = session.get(authorize_url(env, env["apps"]["confidential"]), allow_redirects=False, timeout=10)
    assert response.status_code == 302 and "/sign-in?next=" in response.headers["Location"]


def test_sign_in_is_throttled_per_account_with_a_clear_message_then_a_lock(env, portal_server):
    email = f"throttle-{uuid.uuid4().hex[:6]}@example.com"
    create_end_user(portal_server, env["org"], email)
    browser = EndUserBrowser(portal_server.base_url, email)
    page = browser.sign_in_page(f"{env['issuer']}/sign-in")
    messages = []
    for _ in range(5):
        response = browser.submit_sign_in(page, password="wrong-password-9")
        assert response.status_code == 200
        messages.append(re.search(r'data-testid="sign-in-error">([^<]+)<', response.text).group(1))
    assert messages[0].startswith("That email and password do not match")
    assert "1 more failed attempt will lock sign-in" in messages[3]
    assert messages[4].startswith("Too many failed sign-ins")
    locked = browser.submit_sign_in(page)  # the right password, during the lock
    assert locked.status_code == 200 and "Too many failed sign-ins" in locked.text
    unknown = EndUserBrowser(portal_server.base_url, f"nobody-{uuid.uuid4().hex[:6]}@example.com")
    answer = unknown.submit_sign_in(unknown.sign_in_page(f"{env['issuer']}/sign-in"), password="wrong-password-9")
    assert messages[0] in answer.text.replace("&#x27;", "'")  # the same words for an unknown email: no enumeration
