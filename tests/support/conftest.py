"""Support-access fixtures: support staff, grants opened through the service, a controllable clock,
and a customer organization with one of every object a customer may paste an id of.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from fleetadmin.audit.models import AuditEvent
from fleetadmin.billing.services import billing_service_enable, customer_attach, invoice_create
from fleetadmin.core.actors import SYSTEM
from fleetadmin.oauth.services import auth_service_enable, oauth_app_create
from fleetadmin.support import services
from tests.factories import OrganizationFactory, UserFactory
from tests.keys.factories import issue

ADDRESS = "123 Main St, Springfield, IL, 62704"
NEW_ADDRESS = "500 Market St, Suite 2, San Francisco, CA, 94105"
OAUTH_APP = {
    "client_name": "Fleet dashboard",
    "client_authentication": "required",
    "pkce": "required",
    "url_validation": "exact_match",
    "enabled_grants": ["authorization_code", "refresh_token"],
    "redirect_uris": ["https://dashboard.example.com/callback"],
    "logout_uri": "https://dashboard.example.com/logout",
}
KEY_VALUE_PREFIX = "fak_"
CLIENT_SECRET_PREFIX = "fas_"


@pytest.fixture
def support(db):
    return UserFactory(email="sam.support@example.com", support=True)


@pytest.fixture
def other_support(db):
    return UserFactory(email="sue.support@example.com", support=True)


@pytest.fixture
def staff(db):
    """Staff, but not in the support group."""
    user = UserFactory(email="stan.staff@example.com")
    user.is_staff = True
    user.save()
    return user


@pytest.fixture
def open_grant(clock):
    def make(user, organization, ticket="SUP-1234", reason="Customer reports key stopped working"):
        return services.support_grant_open(actor=user, organization=organization, ticket=ticket, reason=reason)

    return make


@dataclass
class Customer:
    """What a customer organization holds that support may be asked about."""

    key: object
    key_value: str
    app: object | None = None
    client_secret: str = ""
    invoice: object | None = None
    billed: object | None = None  # the organization the invoice was sent to


@pytest.fixture
def customer(fleet, clock) -> Customer:
    issued = issue(fleet.owner, fleet.org, name="deploy-bot")
    result = Customer(key=issued.key, key_value=issued.value)
    client = oauth_app_create(actor=SYSTEM, organization=fleet.org, **OAUTH_APP)
    auth_service_enable(actor=SYSTEM, organization=fleet.org)
    result.app, result.client_secret = client.app, client.client_secret
    billing_service_enable(actor=SYSTEM, organization=fleet.org, address=ADDRESS)
    billed = OrganizationFactory(name="Initech")
    customer_attach(actor=SYSTEM, billing_organization=fleet.org, customer_id=billed.pk)
    result.invoice = invoice_create(
        actor=SYSTEM,
        billing_organization=fleet.org,
        customer=billed,
        description="Fleet hosting, March",
        subtotal="100.00",
        tax="8.00",
    )
    result.billed = billed
    return result


def events(organization, **filters):
    return list(AuditEvent.objects.filter(organization=organization, **filters).order_by("id"))
