import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.test import Client

from fleetadmin.fleet.models import Role
from tests.factories import LocationFactory, MachineFactory, MembershipFactory, OrganizationFactory, UserFactory
from tests.mailserver import smtp_server, smtp_session_server, unreachable_smtp  # noqa: F401 -- fixtures for every test module


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 is the production hasher; tests need speed, not strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# A fixed instant with non-zero fields everywhere, so a formatting slip shows.
T0 = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


class FixedClock:
    """Stands in for fleetadmin.clock.now, the one clock every service reads (audit.record included).

    Returns ``now`` until a test moves it; with a ``step``, each reading moves it on by that much
    (zero: every reading is the same instant).
    """

    def __init__(self, now: datetime, step: timedelta = timedelta(0)):
        self.now = now
        self.step = step

    def __call__(self) -> datetime:
        current = self.now
        self.now += self.step
        return current

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, now: datetime, step: timedelta | None = None) -> None:
        self.now = now
        if step is not None:
            self.step = step


@pytest.fixture
def clock(monkeypatch) -> FixedClock:
    fixed = FixedClock(T0)
    monkeypatch.setattr("fleetadmin.clock.now", fixed)
    return fixed


@pytest.fixture(autouse=True)
def _empty_cache():
    # Throttling counters and once-a-minute deduplication live in the cache; no test inherits another's.
    cache.clear()
    yield
    cache.clear()


@dataclass
class Fleet:
    """One organization with a small nested fleet and a member of every kind."""

    org: object
    hq: object
    line_a: object
    warehouse: object
    arm: object
    forklift: object
    owner: object
    operator: object
    location_owner: object  # owns Headquarters (and Line A under it), not Warehouse
    outsider: object  # owns another organization


@pytest.fixture
def fleet(db) -> Fleet:
    org = OrganizationFactory(name="Acme Robotics")
    hq = LocationFactory(organization=org, name="Headquarters")
    line_a = LocationFactory(organization=org, parent=hq, name="Line A")
    warehouse = LocationFactory(organization=org, name="Warehouse")
    arm = MachineFactory(location=line_a, name="arm-01")
    forklift = MachineFactory(location=warehouse, name="forklift-01")
    owner = MembershipFactory(organization=org, role=Role.ORGANIZATION_OWNER).user
    operator = MembershipFactory(organization=org, role=Role.ORGANIZATION_OPERATOR).user
    location_owner = MembershipFactory(organization=org, location=hq, role=Role.LOCATION_OWNER).user
    other_org = OrganizationFactory(name="Globex")
    outsider = MembershipFactory(organization=other_org, role=Role.ORGANIZATION_OWNER).user
    return Fleet(org, hq, line_a, warehouse, arm, forklift, owner, operator, location_owner, outsider)


def verify_second_factor(client, user) -> None:
    """A user with an authenticator signs in with it: mark the test client's session verified, as the code step does."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is not None:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()


@pytest.fixture
def client_for():
    def make(user=None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
            verify_second_factor(client, user)
        return client

    return make


@pytest.fixture
def user(db):
    return UserFactory()


def pytest_sessionfinish(session, exitstatus):
    """Under CI, a skipped test is a failed run: green must mean every test ran."""
    if os.environ.get("CI") != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        reporter.write_line(f"CI=true: {skipped} test(s) were skipped; failing the run.", red=True)
        session.exitstatus = 1
    if session.testscollected == 0:
        session.exitstatus = 1
