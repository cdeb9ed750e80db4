"""Browser (end-to-end) harness: a real Chromium against the real app in its own process.

The app runs under gunicorn on a fresh database (a SQLite file, or a throwaway
PostgreSQL database when DATABASE_URL points at PostgreSQL), migrated and seeded
with ``seed_demo``. Django's ``live_server`` is not used: its TransactionTestCase
flush deletes every row, which the append-only audit table refuses.

Tests share one server and one database for the session, so every test creates
the names it changes (see ``unique``) and never relies on another test's writes.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import string
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django would otherwise
# refuse ORM calls made later in the same session (e.g. by other test modules).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

E2E_DIR = Path(__file__).resolve().parent
REPO_ROOT = E2E_DIR.parent.parent
CHROMIUM = "/usr/bin/chromium"
DEMO_PASSWORD = "e2e-demo-password-1"
OWNER = "owner@example.com"
OPERATOR = "operator@example.com"
DEMO_ORG = "Acme Robotics"
SERVER_START_TIMEOUT = 30.0


# --------------------------------------------------------------------------- collection


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


# --------------------------------------------------------------------------- the server


@dataclass
class PortalServer:
    base_url: str
    env: dict[str, str] = field(repr=False)  # never printed: it is a copy of os.environ
    password: str = field(repr=False)
    log_path: Path = field(repr=False)
    clock_file: Path = field(repr=False)
    process: subprocess.Popen | None = field(default=None, repr=False)

    def advance_clock(self, seconds: float) -> None:
        """Move the server process's clock (fleetadmin.clock) forward; 0 puts it back."""
        self.clock_file.write_text(str(seconds))

    def query(self, code: str):
        """Run Python in ``manage.py shell`` against the server's database; it must print one JSON value."""
        import json

        return json.loads(self.manage("shell", "-v0", "-c", code).stdout.strip().splitlines()[-1])

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        """Run ``manage.py <args>`` against the server's database; raise CalledProcessError on failure."""
        command = [sys.executable, "manage.py", *args]
        # Not check=True: its traceback would pass through subprocess.run, whose arguments
        # (pytest prints them) include the environment. The error raised here carries the output.
        result = subprocess.run(
            command, cwd=REPO_ROOT, env=self.env, check=False, capture_output=True, text=True, timeout=300
        )
        if result.returncode:
            error = subprocess.CalledProcessError(result.returncode, command, result.stdout, result.stderr)
            error.add_note(f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
            raise error
        return result

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_text(self, offset: int = 0) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                return log.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _random_secret_key() -> str:
    alphabet = string.ascii_letters + string.digits + "!#%^&*()-_=+"
    return "".join(secrets.choice(alphabet) for _ in range(50))


def _pg_connect_kwargs(url: str, dbname: str) -> dict:
    parts = urllib.parse.urlsplit(url)
    kwargs = {"dbname": dbname, "autocommit": True, "connect_timeout": 10}
    if parts.hostname:
        kwargs["host"] = urllib.parse.unquote(parts.hostname)
    if parts.port:
        kwargs["port"] = parts.port
    if parts.username:
        kwargs["user"] = urllib.parse.unquote(parts.username)
    if parts.password:
        kwargs["password"] = urllib.parse.unquote(parts.password)
    return kwargs


def _with_dbname(url: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + dbname))


class _PostgresDatabase:
    """A throwaway database on the server DATABASE_URL points at."""

    def __init__(self, url: str):
        import psycopg
        from psycopg import sql

        self._psycopg, self._sql = psycopg, sql
        self.url = url
        self.name = f"fleetadmin_e2e_{os.getpid()}"
        self.test_url = _with_dbname(url, self.name)
        self._admin_db = urllib.parse.urlsplit(url).path.lstrip("/") or "postgres"

    def _admin(self):
        # Connect to the database DATABASE_URL names; if it does not exist (yet), to "postgres".
        try:
            return self._psycopg.connect(**_pg_connect_kwargs(self.url, self._admin_db))
        except self._psycopg.OperationalError:
            return self._psycopg.connect(**_pg_connect_kwargs(self.url, "postgres"))

    def create(self) -> None:
        name = self._sql.Identifier(self.name)
        with self._admin() as conn:
            conn.execute(self._sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            conn.execute(self._sql.SQL("CREATE DATABASE {}").format(name))

    def drop(self) -> None:
        with self._admin() as conn:
            conn.execute(
                self._sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(self._sql.Identifier(self.name))
            )


@pytest.fixture(scope="session")
def portal_server(tmp_path_factory, request, smtp_session_server) -> Iterator[PortalServer]:
    workdir = tmp_path_factory.mktemp("portal-e2e")
    static_root = workdir / "static"
    log_path = workdir / "gunicorn.log"
    clock_file = workdir / "clock-offset"
    clock_file.write_text("0")

    postgres = None
    configured_url = os.environ.get("DATABASE_URL", "")
    if configured_url.startswith("postgres"):
        postgres = _PostgresDatabase(configured_url)
        postgres.create()
        database_url = postgres.test_url
    else:
        database_url = f"sqlite:///{workdir / 'e2e.sqlite3'}"

    env = dict(os.environ)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # the server is an ordinary process
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="tests.server_settings",  # portal.settings plus the clock-offset file
        DEBUG="0",
        SECRET_KEY=_random_secret_key(),
        API_KEY_PEPPERS=f"1:{_random_secret_key()}",  # DEBUG=0 refuses to start without one
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        STATIC_ROOT=str(static_root),
        AXES_ENABLED="1",  # sign-in throttling stays on, as in production
        PYTHONUNBUFFERED="1",
        API_KEY_FAILURE_LIMIT="500",  # the CLI tests fail on purpose; throttling has its own tests
        FLEETADMIN_CLOCK_OFFSET_FILE=str(clock_file),  # lets tests move the server's clock, never sleep
        EMAIL_URL=smtp_session_server.url,  # mail really leaves, to an SMTP server this run started
        # The demo support account has no authenticator; the console's two-factor rule has its own tests.
        SUPPORT_REQUIRE_TWO_FACTOR="0",
        OIDC_SIGNING_KEYS_FILE=str(workdir / "oidc-keys.json"),  # made by oidc_rotate_key below
    )
    port = _free_port()
    env["PORTAL_BASE_URL"] = f"http://127.0.0.1:{port}"  # links in mail and in create_organization's output
    server = PortalServer(
        base_url=f"http://127.0.0.1:{port}", env=env, password=DEMO_PASSWORD, log_path=log_path, clock_file=clock_file
    )
    server.smtp = smtp_session_server  # the messages the server sent

    try:
        try:
            server.manage("migrate", "--noinput")
            server.manage("oidc_rotate_key")
            server.manage("collectstatic", "--noinput", "-v0")
            server.manage("seed_demo", "--password", DEMO_PASSWORD)
        except subprocess.CalledProcessError as error:
            # pytrace=False: the traceback would print the environment, which may hold secrets.
            pytest.fail(f"Preparing the e2e database failed: {error}\n{error.stdout}\n{error.stderr}", pytrace=False)

        log_file = log_path.open("wb")
        server.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
                # gunicorn 27 otherwise opens ~/.gunicorn/gunicorn.ctl, shared by every run on the machine.
                "--no-control-socket",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        log_file.close()  # the child holds its own descriptor
        _wait_until_healthy(server)
        yield server
    finally:
        if server.process is not None:
            server.process.terminate()
            try:
                server.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(timeout=10)
        if request.session.testsfailed:
            _report_server_log(request.config, server)
        if postgres is not None:
            postgres.drop()


def _wait_until_healthy(server: PortalServer) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    last_error = "no attempt"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"gunicorn exited with status {server.process.returncode} before serving /healthz.\n"
                f"--- server output ---\n{server.log_text()}",
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(f"{server.base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
                last_error = f"HTTP {response.status}"
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
            last_error = repr(error)
        time.sleep(0.1)
    pytest.fail(
        f"gunicorn did not answer GET /healthz with 200 within {SERVER_START_TIMEOUT:.0f}s "
        f"(last: {last_error}).\n--- server output ---\n{server.log_text()}",
        pytrace=False,
    )


_ACCESS_LOG_LINE = re.compile(r"^\S+ - \S+ \[[^\]]+\] \"")


def _report_server_log(config, server: PortalServer) -> None:
    """After a failed run: the server's own log lines (access-log lines are in each failed test's report)."""
    lines = [line for line in server.log_text().splitlines() if not _ACCESS_LOG_LINE.match(line)]
    text = "\n".join(lines[-400:]) or "(nothing besides the access log)"
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("-", "e2e server log (gunicorn, without access-log lines)")
        reporter.write_line(text)
    else:
        sys.stderr.write(text + "\n")


@pytest.fixture(autouse=True)
def _server_log_section(request, portal_server):
    """Remember where the server log stood when the test began (see pytest_runtest_makereport)."""
    request.node._e2e_server = portal_server
    request.node._e2e_log_offset = portal_server.log_size()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    server = getattr(item, "_e2e_server", None)
    if server is not None and report.failed and call.when in ("call", "setup"):
        text = server.log_text(getattr(item, "_e2e_log_offset", 0))
        report.sections.append(("e2e server output during this test", text[-20000:] or "(empty)"))


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        # A failure, not a skip: a suite that goes green without its browser tests has not tested the UI.
        # `make test` installs Chromium when it can (root or sudo); otherwise it says how.
        pytest.fail(f"{CHROMIUM} not found: the browser tests need Debian's Chromium (apt-get install chromium).")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def base_url(portal_server) -> str:
    """pytest-playwright gives every context this base URL, so tests can page.goto("/orgs/")."""
    return portal_server.base_url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, base_url):
    return {**browser_context_args, "base_url": base_url, "viewport": {"width": 1400, "height": 900}}


@pytest.fixture
def grant_clipboard(portal_server) -> Callable:
    def grant(context) -> None:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=portal_server.base_url)

    return grant


# --------------------------------------------------------------------------- console errors


# Chromium logs every 4xx/5xx response as a console error. 422 is how the app answers an
# invalid form (and htmx is configured to swap it), so that one is expected; anything else is not.
_EXPECTED_CONSOLE_ERRORS = re.compile(r"^Failed to load resource: the server responded with a status of 422\b")
_CSP_WORDS = ("Content Security Policy", "Refused")


class ConsoleErrors(list):
    """Console errors, CSP warnings and uncaught exceptions of every page it is attached to.

    Collected: every ``pageerror``; every console message of type "error" (htmx reports its
    own failures, e.g. an out-of-band target that does not exist, with console.error) except
    the expected 422 resource notice; console warnings mentioning a CSP refusal.
    """

    def attach(self, page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.append(f"pageerror on {page.url}: {error}"))

    def _on_console(self, message) -> None:
        text = message.text
        if message.type == "error" and not _EXPECTED_CONSOLE_ERRORS.match(text):
            self.append(f"console.error: {text} ({message.location.get('url', '')})")
        elif message.type == "warning" and any(word in text for word in _CSP_WORDS):
            self.append(f"console.warning: {text} ({message.location.get('url', '')})")


@pytest.fixture
def console_errors(request) -> ConsoleErrors:
    """Collector attached to the test's ``page`` (if it uses one); attach others with ``.attach(p)``."""
    errors = ConsoleErrors()
    if "page" in request.fixturenames:
        errors.attach(request.getfixturevalue("page"))
    return errors


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def login(portal_server) -> Callable:
    """``login(page, email)``: sign in through the real form, as a person would."""

    def sign_in(page, email: str) -> None:
        page.goto("/accounts/sign-in/")
        page.locator("#id_username").fill(email)
        page.locator("#id_password").fill(portal_server.password)
        page.locator("form").get_by_role("button", name="Sign in").click()
        try:
            page.wait_for_url(lambda url: "/accounts/sign-in/" not in url, timeout=10_000)
        except Exception as error:
            errors = page.locator(".form-errors, .field-error").all_inner_texts()
            raise AssertionError(f"Signing in as {email} failed; the page says: {errors}") from error

    return sign_in


# htmx processes swapped-in content in a settle step (a 20 ms timer in htmx 2): until then the new
# elements carry no hx-* listeners, and a change made by a test in that window is silently lost.
HTMX_IDLE = "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"


@pytest.fixture
def htmx_idle() -> Callable:
    """``htmx_idle(page)``: wait until no htmx request, swap or settle is in progress on the page."""

    def wait(page) -> None:
        page.wait_for_function(HTMX_IDLE, polling=50)

    return wait


@pytest.fixture
def unique() -> Callable[[str], str]:
    """``unique("Lab")`` -> ``"Lab 3f9a1c"``: names no other test (or run) uses."""

    def make(prefix: str) -> str:
        return f"{prefix} {uuid.uuid4().hex[:6]}"

    return make


@pytest.fixture
def server_clock(portal_server):
    """Move the server's clock within one test; it is put back afterwards."""
    yield portal_server
    portal_server.advance_clock(0)


@pytest.fixture(scope="session")
def demo_ids(portal_server) -> dict:
    """Ids of the demo organization and some of its locations and machines."""
    return portal_server.query(
        "import json; from fleetadmin.fleet.models import Organization, Location, Machine; "
        "o = Organization.objects.get(name='Acme Robotics'); "
        "print(json.dumps({'org': str(o.pk), "
        "'hq': str(Location.objects.get(organization=o, name='Headquarters').pk), "
        "'line_a': str(Location.objects.get(organization=o, name='Assembly Line A').pk), "
        "'arm': str(Machine.objects.get(organization=o, name='arm-01').pk)}))"
    )
