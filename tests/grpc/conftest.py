"""The platform's own SDK against real servers: ``serve_grpc`` (plaintext and TLS) and gunicorn.

One database for the session (a SQLite file, or a throwaway PostgreSQL database when
DATABASE_URL points at PostgreSQL), migrated, with two organizations and one API key of every
kind made by ``manage.py shell``. ``serve_grpc`` runs in its own processes, never in the test's
event loop (the SDK's TLS probe is a blocking socket call), and gunicorn serves the JSON API on
the same database so each test can check that the web side sees what the SDK did.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.conftest import _free_port, _PostgresDatabase, _random_secret_key

GRPC_DIR = Path(__file__).resolve().parent
REPO_ROOT = GRPC_DIR.parent.parent
START_TIMEOUT = 30.0

SETUP_SCRIPT = """
import json
from fleetadmin.audit.services import SYSTEM
from fleetadmin.fleet.models import Role
from fleetadmin.fleet import services as f
from fleetadmin.keys import services as k

acme = f.organization_create(actor=SYSTEM, name="Acme Robotics")
hq = f.location_create(actor=SYSTEM, organization=acme, name="Headquarters")
line_a = f.location_create(actor=SYSTEM, organization=acme, parent=hq, name="Line A")
warehouse = f.location_create(actor=SYSTEM, organization=acme, name="Warehouse")
arm = f.machine_create(actor=SYSTEM, location=line_a, name="arm-01")
forklift = f.machine_create(actor=SYSTEM, location=warehouse, name="forklift-01")
globex = f.organization_create(actor=SYSTEM, name="Globex")
globex_site = f.location_create(actor=SYSTEM, organization=globex, name="Globex Site")
f.machine_create(actor=SYSTEM, location=globex_site, name="globex-bot")

def key(org, role, resource, name):
    issued = k.api_key_create(actor=SYSTEM, organization=org, grants=[k.Grant(role=role, resource=resource)], name=name)
    return {"id": str(issued.key.pk), "value": issued.value}

keys = {
    "org": key(acme, Role.ORGANIZATION_OWNER, acme, "org owner"),
    "org_spare": key(acme, Role.ORGANIZATION_OWNER, acme, "org owner spare"),
    "location": key(acme, Role.LOCATION_OWNER, hq, "hq owner"),
    "machine": key(acme, Role.ROBOT_OWNER, arm, "arm owner"),
    "operator": key(acme, Role.ORGANIZATION_OPERATOR, acme, "org operator"),
    "other": key(globex, Role.ORGANIZATION_OWNER, globex, "globex owner"),
    "deleted": key(acme, Role.ORGANIZATION_OWNER, acme, "deleted"),
    "expired": key(acme, Role.ORGANIZATION_OWNER, acme, "expired"),
}
from datetime import timedelta
from fleetadmin import clock
from fleetadmin.keys.models import ApiKey
k.api_key_delete(actor=SYSTEM, key=ApiKey.objects.get(pk=keys["deleted"]["id"]))
# No service makes a key that has already expired: age this one as time would.
ApiKey.objects.filter(pk=keys["expired"]["id"]).update(expires_at=clock.now() - timedelta(hours=1))
ids = {
    "acme": acme.pk, "hq": hq.pk, "line_a": line_a.pk, "warehouse": warehouse.pk, "arm": arm.pk,
    "forklift": forklift.pk, "globex": globex.pk, "globex_site": globex_site.pk,
}
print(json.dumps({"keys": keys, "ids": {name: str(pk) for name, pk in ids.items()}}))
"""


@dataclass
class Stack:
    """The servers and what the setup made. ``keys[kind]`` is {"id", "value"}; ``ids[name]`` a UUID."""

    grpc_address: str
    tls_address: str
    base_url: str
    keys: dict[str, dict[str, str]]
    ids: dict[str, str]
    env: dict[str, str] = field(repr=False)  # a copy of os.environ: never printed
    logs: list[Path] = field(repr=False, default_factory=list)

    def query(self, code: str):
        """Run Python in ``manage.py shell`` against the servers' database; it must print one JSON value."""
        result = _manage(self.env, "shell", "-v0", "-c", code)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def api(self, method: str, path: str, key: str = "org", body: dict | None = None) -> tuple[int, dict | None]:
        """Call the JSON API as one of the setup's keys; (status, JSON body or None)."""
        credentials = self.keys[key]
        request = urllib.request.Request(
            f"{self.base_url}/api/v1{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Authorization": f"ApiKey {credentials['id']}:{credentials['value']}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "manage.py", *args]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, check=False, capture_output=True, text=True, timeout=300)
    if result.returncode:
        # pytrace=False elsewhere: a traceback through subprocess.run would print the environment.
        raise RuntimeError(f"manage.py {args[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


class _GrpcPostgres(_PostgresDatabase):
    def __init__(self, url: str):
        super().__init__(url)
        self.name = f"fleetadmin_grpc_{os.getpid()}"  # the e2e harness may hold fleetadmin_e2e_<pid>
        self.test_url = self.test_url.rsplit("/", 1)[0] + "/" + self.name


def _wait_for_port(process: subprocess.Popen, port: int, log: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode}:\n{log.read_text()[-5000:]}", pytrace=False)
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    pytest.fail(f"{what} did not listen on {port} within {START_TIMEOUT:.0f}s:\n{log.read_text()[-5000:]}")


def _self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("grpc")
    postgres = None
    configured_url = os.environ.get("DATABASE_URL", "")
    if configured_url.startswith("postgres"):
        postgres = _GrpcPostgres(configured_url)
        postgres.create()
        database_url = postgres.test_url
    else:
        database_url = f"sqlite:///{workdir / 'grpc.sqlite3'}"
    env = dict(os.environ)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="portal.settings",
        DEBUG="0",
        SECRET_KEY=_random_secret_key(),
        API_KEY_PEPPERS=f"1:{_random_secret_key()}",  # DEBUG=0 refuses to start without one
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        STATIC_ROOT=str(workdir / "static"),
        API_KEY_FAILURE_LIMIT="500",  # the tests fail on purpose; throttling has its own tests
        PYTHONUNBUFFERED="1",
        OIDC_SIGNING_KEYS_FILE=str(workdir / "oidc-keys.json"),  # DEBUG=0 needs an id_token key (made below)
    )
    processes: list[subprocess.Popen] = []
    try:
        try:
            _manage(env, "migrate", "--noinput", "-v0")
            _manage(env, "oidc_rotate_key")
            made = json.loads(_manage(env, "shell", "-v0", "-c", SETUP_SCRIPT).stdout.strip().splitlines()[-1])
        except RuntimeError as error:
            pytest.fail(str(error), pytrace=False)
        cert, key = _self_signed_certificate(workdir)
        web_port, grpc_port, tls_port = _free_port(), _free_port(), _free_port()
        base_url = f"http://127.0.0.1:{web_port}"
        commands = {
            "gunicorn": [
                sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{web_port}",
                "--workers", "1", "--no-control-socket",
            ],
            "serve_grpc": [
                sys.executable, "manage.py", "serve_grpc", "--port", str(grpc_port), "--portal-url", base_url,
            ],
            "serve_grpc TLS": [
                sys.executable, "manage.py", "serve_grpc", "--port", str(tls_port), "--portal-url", base_url,
                "--tls-cert", str(cert), "--tls-key", str(key),
            ],
        }  # fmt: skip
        ports = {"gunicorn": web_port, "serve_grpc": grpc_port, "serve_grpc TLS": tls_port}
        logs = []
        for name, command in commands.items():
            log = workdir / f"{name.replace(' ', '-')}.log"
            logs.append(log)
            with log.open("wb") as out:
                processes.append(
                    subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
                )
        for process, (name, port), log in zip(processes, ports.items(), logs, strict=True):
            _wait_for_port(process, port, log, name)
        yield Stack(
            grpc_address=f"127.0.0.1:{grpc_port}",
            tls_address=f"127.0.0.1:{tls_port}",
            base_url=base_url,
            keys=made["keys"],
            ids=made["ids"],
            env=env,
            logs=logs,
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if postgres is not None:
            postgres.drop()


# --------------------------------------------------------------------------- the SDK, as a user's script uses it


def dial_options(credentials: dict[str, str], *, insecure: bool = True):
    from viam.rpc.dial import Credentials, DialOptions

    return DialOptions(
        insecure=insecure,
        credentials=Credentials(type="api-key", payload=credentials["value"]),
        auth_entity=credentials["id"],
    )


async def connect(address: str, credentials: dict[str, str], *, insecure: bool = True):
    """``ViamClient.create_from_dial_options`` exactly as the platform's docs show, with only the address changed."""
    from viam.app.viam_client import ViamClient

    return await ViamClient.create_from_dial_options(dial_options(credentials, insecure=insecure), app_url=address)


def stub_of(client):
    """The generated AppServiceStub on the client's own channel, for the calls AppClient does not wrap."""
    from viam.proto.app import AppServiceStub

    return AppServiceStub(client._channel)


def run(coroutine):
    """Each test drives the SDK in its own event loop, in a thread of its own; the servers live in other processes.

    Its own thread, because Playwright's sync API (the browser tests, earlier in the same session) leaves
    an event loop running in the main thread, where ``asyncio.run`` refuses to start another.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
