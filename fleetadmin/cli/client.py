"""The CLI's only way to the portal: HTTP requests to the JSON API."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
TIMEOUT = (5, 60)


class CliError(Exception):
    """A failure to report on one line, with a non-zero exit code."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "fleetadmin" / "credentials.json"


@dataclass
class Credentials:
    base_url: str
    key_id: str
    key: str


def save_credentials(credentials: Credentials) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Create the file readable by its owner only before any secret is written to it.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"base_url": credentials.base_url, "key_id": credentials.key_id, "key": credentials.key}, handle)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return path


def load_credentials() -> Credentials:
    stored: dict[str, str] = {}
    path = config_path()
    if path.exists():
        try:
            stored = json.loads(path.read_text())
        except (OSError, ValueError):
            raise CliError(f"Cannot read {path}; run `fleetadmin login api-key` again.") from None
    base_url = os.environ.get("FLEETADMIN_BASE_URL") or stored.get("base_url") or DEFAULT_BASE_URL
    key_id = os.environ.get("FLEETADMIN_API_KEY_ID") or stored.get("key_id") or ""
    key = os.environ.get("FLEETADMIN_API_KEY") or stored.get("key") or ""
    return Credentials(base_url=base_url.rstrip("/"), key_id=key_id, key=key)


class Client:
    def __init__(self, credentials: Credentials):
        self.credentials = credentials
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "fleetadmin-cli/1"
        if credentials.key_id and credentials.key:
            self.session.headers["Authorization"] = f"ApiKey {credentials.key_id}:{credentials.key}"

    def request(self, method: str, path: str, **kwargs) -> Any:
        if "Authorization" not in self.session.headers:
            raise CliError(
                "Not logged in: run `fleetadmin login api-key --key-id=<id> --key=<value>` "
                "or set FLEETADMIN_API_KEY_ID and FLEETADMIN_API_KEY."
            )
        url = f"{self.credentials.base_url}/api/v1{path}"
        try:
            response = self.session.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.exceptions.RequestException as exc:
            raise CliError(
                f"Cannot reach the fleetadmin server at {self.credentials.base_url} ({type(exc).__name__}). "
                "Check --base-url / FLEETADMIN_BASE_URL and that the server is running."
            ) from None
        if response.status_code == 204:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.ok:
            return body
        message = (body or {}).get("error", {}).get("message") if isinstance(body, dict) else None
        # Not the API's JSON (a proxy, or a server without this endpoint): say so, don't print its HTML.
        message = message or f"{response.status_code} {response.reason} from {url}"
        if response.status_code == 401:
            raise CliError(f"Not authenticated: {message} Run `fleetadmin login api-key` with a valid key.")
        if response.status_code == 403:
            raise CliError(f"Permission denied: {message}")
        if response.status_code == 404:
            raise CliError(f"Not found: {message}")
        if response.status_code == 429:
            raise CliError(f"Too many requests: {message}")
        if response.status_code >= 500:
            raise CliError(
                f"The server failed ({response.status_code}); try again. Request id: "
                f"{response.headers.get('X-Request-ID', 'unknown')}."
            )
        raise CliError(f"Error: {message}")

    def get(self, path: str, **kwargs) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json_body: Any = None, **kwargs) -> Any:
        return self.request("POST", path, json=json_body if json_body is not None else {}, **kwargs)

    def patch(self, path: str, json_body: Any) -> Any:
        return self.request("PATCH", path, json=json_body)

    def put(self, path: str, json_body: Any) -> Any:
        return self.request("PUT", path, json=json_body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)
