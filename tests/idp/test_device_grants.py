"""The device flow's writes and reads, as the /device pages use them (the browser side is in tests/e2e)."""

from __future__ import annotations

import pytest

from fleetadmin.audit.models import AuditEvent
from fleetadmin.core.actors import SYSTEM
from fleetadmin.idp import selectors, services
from fleetadmin.idp.models import DeviceGrant

pytestmark = pytest.mark.django_db


@pytest.fixture
def end_user(fleet):
    return services.end_user_create(
        actor=SYSTEM, organization=fleet.org, email="ana@example.com", password="long-password-1"
    )


def _start(fleet, *, user_code="ABCD-EFGH", expires_in=600):
    return services.device_grant_start(
        organization=fleet.org,
        client_id="11111111-1111-1111-1111-111111111111",
        device_code=f"device-{user_code}",
        user_code=user_code,
        scope="openid",
        interval=5,
        expires_in=expires_in,
    )


def test_a_pending_code_is_found_as_typed_in_its_organization_only(fleet):
    grant = _start(fleet)
    assert grant.status == DeviceGrant.AUTHORIZATION_PENDING
    assert selectors.pending_device_grant(fleet.org, " abcd-efgh ") == grant
    assert selectors.pending_device_grant(fleet.org, "ABCD-EFGX") is None
    other = fleet.outsider.memberships.get().organization
    assert selectors.pending_device_grant(other, "ABCD-EFGH") is None
    assert selectors.pending_device_grant(fleet.org, "") is None
    assert selectors.pending_device_grant(fleet.org, "A" * 101) is None


def test_an_expired_code_is_not_pending(fleet):
    _start(fleet, expires_in=-1)
    assert selectors.pending_device_grant(fleet.org, "ABCD-EFGH") is None


@pytest.mark.parametrize(("approve", "status", "verb"), [(True, "authorized", "approve"), (False, "denied", "deny")])
def test_the_end_users_decision_is_stored_and_audited(fleet, end_user, approve, status, verb):
    grant = _start(fleet)
    before = AuditEvent.objects.count()
    services.device_grant_decide(end_user=end_user, grant=grant, approve=approve, client_name="Kiosk")
    grant.refresh_from_db()
    assert grant.status == status
    assert grant.user == end_user
    assert selectors.pending_device_grant(fleet.org, "ABCD-EFGH") is None  # decided: the code is spent
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.get(action=f"idp.device_grant.{verb}")
    assert event.organization_id == fleet.org.pk
    assert event.actor_type == "system"
    assert event.target_id == str(end_user.pk)
    assert event.changes == {"after": {"client": "Kiosk", "by": "end user"}}


def test_starting_a_device_authorization_is_not_audited(fleet):
    before = AuditEvent.objects.count()
    _start(fleet)
    assert AuditEvent.objects.count() == before
