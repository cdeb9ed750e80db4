"""Real processes for the operations and fault tests: a migrated, seeded database of their own and gunicorn.

On PostgreSQL (DATABASE_URL=postgres://...) the database is a throwaway one on that server, dropped at the
end; otherwise a SQLite file. Either way it is committed data that other processes (gunicorn, pg_dump,
manage.py) can see, which the usual per-test transaction is not.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEMO_PASSWORD = "ops-demo-password-1"
IS_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_connect_kwargs(url: str, dbname: str | None = None) -> dict:
    parts = urllib.parse.urlsplit(url)
    kwargs = {"dbname": dbname or parts.path.lstrip("/") or "postgres", "autocommit": True, "connect_timeout": 10}
    if parts.hostname:
        kwargs["host"] = urllib.parse.unquote(parts.hostname)
    if parts.port:
        kwargs["port"] = parts.port
    if parts.username:
        kwargs["user"] = urllib.parse.unquote(parts.username)
    if parts.password:
        kwargs["password"] = urllib.parse.unquote(parts.password)
    return kwargs


def with_dbname(url: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + dbname))


def pg_admin(url: str):
    import psycopg

    try:
        return psycopg.connect(**pg_connect_kwargs(url))
    except psycopg.OperationalError:
        return psycopg.connect(**pg_connect_kwargs(url, "postgres"))


def pg_create(url: str, name: str) -> None:
    from psycopg import sql

    with pg_admin(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def pg_drop(url: str, name: str) -> None:
    from psycopg import sql

    with pg_admin(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def run_manage(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check and result.returncode:
        # pytrace-free failure: subprocess's own error would print the environment (it holds SECRET_KEY).
        pytest.fail(f"manage.py {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class OpsDatabase:
    url: str
    env: dict[str, str] = field(repr=False)
    workdir: Path
    org_id: str = ""
    key_id: str = ""
    key_value: str = field(default="", repr=False)

    def query(self, code: str):
        """Run Python against this database in ``manage.py shell``; it must print one JSON value last."""
        return json.loads(run_manage(self.env, "shell", "-v0", "-c", code).stdout.strip().splitlines()[-1])

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run_manage(self.env, *args, check=check)


def base_env(database_url: str, workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="portal.settings",
        DEBUG="0",
        SECRET_KEY="ops-" + secrets.token_urlsafe(40),
        API_KEY_PEPPERS="1:" + secrets.token_urlsafe(40),  # DEBUG=0 refuses to start without one
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        STATIC_ROOT=str(workdir / "static"),
        OIDC_SIGNING_KEYS_FILE=str(workdir / "oidc-keys.json"),
        PYTHONUNBUFFERED="1",
        EMAIL_URL="consolemail://",
    )
    return env


@pytest.fixture(scope="session")
def ops_db(tmp_path_factory) -> Iterator[OpsDatabase]:
    workdir = tmp_path_factory.mktemp("ops")
    configured = os.environ.get("DATABASE_URL", "")
    name = f"fleetadmin_ops_{os.getpid()}"
    url = with_dbname(configured, name) if IS_POSTGRES else f"sqlite:///{workdir / 'ops.sqlite3'}"
    if IS_POSTGRES:
        pg_create(configured, name)
    database = OpsDatabase(url=url, env=base_env(url, workdir), workdir=workdir)
    try:
        database.manage("migrate", "--noinput", "-v0")
        database.manage("oidc_rotate_key")
        database.manage("collectstatic", "--noinput", "-v0")
        database.manage("seed_demo", "--password", DEMO_PASSWORD)
        database.org_id = database.query(
            "import json; from fleetadmin.fleet.models import Organization; "
            "print(json.dumps(str(Organization.objects.get(name='Acme Robotics').pk)))"
        )
        created = database.manage("create_api_key", "--org-id", database.org_id, "--name", "ops-owner").stdout
        database.key_id = re.search(r"Key ID: (\S+)", created).group(1)
        database.key_value = re.search(r"Key Value: (\S+)", created).group(1)
        yield database
    finally:
        if IS_POSTGRES:
            pg_drop(configured, name)


@dataclass
class Portal:
    base_url: str
    process: subprocess.Popen = field(repr=False)
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def request(
        self, method: str, path: str, body: dict | None = None, headers: dict | None = None, timeout: float = 30
    ) -> tuple[int, dict[str, str], bytes]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers or {})
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture
def start_portal(tmp_path) -> Iterator[Callable[..., Portal]]:
    """Start gunicorn (stopped after the test) with the given environment; waits for /healthz."""
    started: list[Portal] = []

    def start(env: dict[str, str], workers: int = 1, extra: tuple[str, ...] = ()) -> Portal:
        port = free_port()
        log_path = tmp_path / f"gunicorn-{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "portal.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(workers),
                    "--timeout",
                    "60",
                    "--no-control-socket",
                    *extra,
                ],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        portal = Portal(base_url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
        started.append(portal)

        def healthy() -> bool:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited {process.returncode}:\n{portal.log_text()}")
            try:
                return portal.request("GET", "/healthz", timeout=2)[0] == 200
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                return False

        wait_until(healthy, 30, "gunicorn to answer /healthz")
        return portal

    yield start
    for portal in started:
        portal.process.terminate()
        try:
            portal.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            portal.process.kill()
            portal.process.wait(timeout=10)
