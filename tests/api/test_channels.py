"""One rule, one message: the same bad input gets the same words from the web form, the JSON API and the CLI.

Each channel names the field its own way (the web form under the field's label, the API as
``field: …`` once, the CLI as ``'--flag'``); the words after that are the rule's own, from
the app that owns it (``fleetadmin.oauth.rules``, ``fleetadmin.keys.rules``).
"""

from __future__ import annotations

import base64
import html
import json

import pytest
from click.testing import CliRunner
from django.test import Client
from django.urls import reverse

from fleetadmin.cli import main as cli
from fleetadmin.core.actors import SYSTEM
from fleetadmin.keys import rules as key_rules
from fleetadmin.keys.services import Grant, api_key_create
from fleetadmin.oauth import rules as oauth_rules
from tests.oauth.conftest import VALID_APP, noisy_png

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(fleet) -> Client:
    issued = api_key_create(
        actor=SYSTEM, organization=fleet.org, grants=[Grant(role="organization_owner", resource=fleet.org)]
    )
    return Client(HTTP_AUTHORIZATION=f"ApiKey {issued.key.pk}:{issued.value}")


def api_error(response) -> dict:
    assert response.status_code == 400, response.content
    return json.loads(response.content)["error"]


def web_text(response) -> str:
    return html.unescape(response.content.decode())


def cli_run(*args: str) -> str:
    result = CliRunner().invoke(cli.cli, list(args))
    assert result.exit_code != 0
    return result.output


def app_form(**overrides) -> dict:
    data = {**VALID_APP, "form_token": "t", **overrides}
    return {k: "\n".join(v) if isinstance(v, list) and k != "enabled_grants" else v for k, v in data.items()}


APP_ARGS = [
    "organizations",
    "auth-service",
    "oauth-app",
    "create",
    "--org-id=00000000-0000-0000-0000-000000000000",
    "--client-name=x",
    "--client-authentication=required",
    "--url-validation=exact_match",
    "--enabled-grants=authorization_code",
    "--redirect-uris=https://example.com/cb",
    "--logout-uri=https://example.com/bye",
]


def test_an_unknown_pkce_value(fleet, client_for, api):
    rule = oauth_rules.one_of(oauth_rules.Pkce.values, "maybe")
    assert rule == (
        "must be one of unspecified, required, not_required, not_required_when_using_client_authentication; got 'maybe'"
    )
    org = fleet.org.pk
    web = client_for(fleet.owner).post(reverse("oauth:app_create", args=[org]), app_form(pkce="maybe"))
    assert web.status_code == 422 and rule in web_text(web) and "pkce: " not in web_text(web)
    error = api_error(
        api.post(f"/api/v1/organizations/{org}/oauth-apps", {**VALID_APP, "pkce": "maybe"}, "application/json")
    )
    assert error["message"] == f"pkce: {rule}"
    assert error["fields"] == {"pkce": [rule]}
    assert f"Invalid value for '--pkce': {rule}" in cli_run(*APP_ARGS, "--pkce=maybe")


def test_an_unknown_grant(fleet, client_for, api):
    rule = oauth_rules.unknown_grant("client_credentials")
    org = fleet.org.pk
    web = client_for(fleet.owner).post(
        reverse("oauth:app_create", args=[org]), app_form(enabled_grants=["client_credentials"])
    )
    assert web.status_code == 422 and rule in web_text(web)
    body = {**VALID_APP, "enabled_grants": ["client_credentials"]}
    error = api_error(api.post(f"/api/v1/organizations/{org}/oauth-apps", body, "application/json"))
    assert error["message"] == f"enabled_grants: {rule}"
    args = [a for a in APP_ARGS if not a.startswith("--enabled-grants")]
    assert rule in cli_run(*args, "--pkce=required", "--enabled-grants=client_credentials")


def test_an_unknown_grace_period(fleet, client_for, api):
    rule = key_rules.grace_refused("maybe")
    assert rule == "must be one of none, 1h, 24h, 7d; got 'maybe'"
    issued = api_key_create(
        actor=SYSTEM, organization=fleet.org, grants=[Grant(role="organization_owner", resource=fleet.org)]
    )
    key = issued.key
    web = client_for(fleet.owner).post(reverse("keys:rotate", args=[fleet.org.pk, key.pk]), {"grace": "maybe"})
    assert web.status_code == 422 and rule in web_text(web)
    error = api_error(api.post(f"/api/v1/api-keys/{key.pk}/rotate", {"grace": "maybe"}, "application/json"))
    assert error["message"] == f"grace: {rule}"
    output = cli_run("organizations", "api-key", "rotate", f"--key-id={key.pk}", "--grace=maybe")
    assert f"Invalid value for '--grace': {rule}" in output


def test_a_logo_over_the_limit(fleet, client_for, api, tmp_path):
    data = noisy_png(300, 300)
    assert len(data) > oauth_rules.LOGO_MAX_BYTES
    rule = oauth_rules.logo_too_large(len(data))
    org = fleet.org.pk
    upload = tmp_path / "big.png"
    upload.write_bytes(data)
    with upload.open("rb") as file:
        web = client_for(fleet.owner).post(reverse("oauth:logo_upload", args=[org]), {"logo": file})
    assert web.status_code == 422 and rule in web_text(web) and "logo: " not in web_text(web)
    body = {"png_base64": base64.b64encode(data).decode()}
    error = api_error(api.put(f"/api/v1/organizations/{org}/logo", body, "application/json"))
    assert error["message"] == f"logo: {rule}"
    assert rule in cli_run("organizations", "logo", "set", f"--org-id={org}", f"--logo-path={upload}")


def test_the_cli_offers_exactly_the_servers_choices():
    """The CLI's options are the server's enumerations, in the server's order (not a copy that can drift)."""
    options = {
        param.name: param.type
        for command in (
            cli.cli.commands["organizations"].commands["auth-service"].commands["oauth-app"].commands["create"],
        )
        for param in command.params
    }
    assert list(options["client_authentication"].choices) == oauth_rules.ClientAuthentication.values
    assert list(options["pkce"].choices) == oauth_rules.Pkce.values
    assert list(options["url_validation"].choices) == oauth_rules.UrlValidation.values
    assert list(options["enabled_grants"].choices) == oauth_rules.Grant.values
    rotate = cli.cli.commands["organizations"].commands["api-key"].commands["rotate"]
    grace = next(p for p in rotate.params if p.name == "grace")
    assert list(grace.type.choices) == list(key_rules.GRACE_PERIODS)
    assert grace.default == key_rules.GRACE_DEFAULT
