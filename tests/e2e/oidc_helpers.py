"""Helpers for the OIDC flow tests: apps and end users made on the e2e server, an end user's browser over HTTP."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin

import requests

REDIRECT = "http://127.0.0.1:9/callback"
LOGOUT = "http://127.0.0.1:9/logged-out"
END_USER_PASSWORD = "end-user-password-1"


@dataclass
class App:
    client_id: str
    secret: str


def make_apps(server, org_id: str, configs: dict[str, dict]) -> dict[str, App]:
    """Create every application in one manage.py call (each call costs a process start)."""
    code = (
        "import json; from fleetadmin.audit.services import SYSTEM; from fleetadmin.fleet.models import Organization; "
        "from fleetadmin.oauth import services as s; "
        f"o = Organization.objects.get(pk='{org_id}'); "
        "s.auth_service_enable(actor=SYSTEM, organization=o); "
        "s.support_email_set(actor=SYSTEM, organization=o, email='help@acme.example'); "
        f"configs = json.loads({json.dumps(json.dumps(configs))}); out = {{}}\n"
        "for name, c in configs.items():\n"
        "    i = s.oauth_app_create(actor=SYSTEM, organization=o, **c); out[name] = [i.app.client_id, i.client_secret]\n"
        "print(json.dumps(out))"
    )
    return {name: App(*pair) for name, pair in server.query(code).items()}


def app_config(**overrides) -> dict:
    config = {
        "client_name": "Test app",
        "client_authentication": "required",
        "pkce": "required",
        "url_validation": "exact_match",
        "enabled_grants": ["authorization_code", "refresh_token"],
        "redirect_uris": [REDIRECT],
        "logout_uri": LOGOUT,
        "origin_uris": [],
    }
    config.update(overrides)
    return config


def create_end_user(server, org_id: str, email: str, password: str = END_USER_PASSWORD) -> str:
    return server.manage("create_end_user", "--org-id", org_id, "--email", email, "--password", password).stdout.strip()


def form_fields(html: str) -> dict[str, str]:
    fields = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html):
        fields[name] = value.replace("&amp;", "&")
    return fields


class EndUserBrowser:
    """An end user's browser, over plain HTTP: follows redirects on our host, signs in on the branded page."""

    def __init__(self, base_url: str, email: str, password: str = END_USER_PASSWORD):
        self.base_url = base_url
        self.email = email
        self.password = password
        self.session = requests.Session()

    def sign_in_page(self, url: str) -> requests.Response:
        return self.session.get(urljoin(self.base_url, url), allow_redirects=False, timeout=10)

    def submit_sign_in(self, page: requests.Response, password: str | None = None) -> requests.Response:
        fields = form_fields(page.text)
        action = re.search(r'<form class="wl-form stack" method="post" action="([^"]+)"', page.text).group(1)
        data = {**fields, "email": self.email, "password": password or self.password}
        return self.session.post(
            urljoin(self.base_url, action), data=data, allow_redirects=False, timeout=10, headers={"Referer": page.url}
        )

    def authorize(self, url: str, stop_at: str = REDIRECT) -> requests.Response | str:
        """Follow the authorization request until it leaves our host; return that URL, or the page it stopped on."""
        response = self.session.get(url, allow_redirects=False, timeout=10)
        for _ in range(10):
            if response.status_code not in (301, 302, 303):
                return response
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(stop_at) or not location.startswith(self.base_url):
                return location
            if "/sign-in" in location:
                response = self.submit_sign_in(self.sign_in_page(location))
                continue
            response = self.session.get(location, allow_redirects=False, timeout=10)
        raise AssertionError("too many redirects")
