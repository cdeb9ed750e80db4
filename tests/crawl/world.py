"""The crawl's world: two organizations with one of everything, and every kind of caller.

Everything in the foreign organization carries FOREIGN in its name, so a page that shows
any of it to a caller outside that organization is a leak the crawl can see.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from django.db.models import Model
from django.test import Client
from django.urls import URLResolver, get_resolver

from fleetadmin.audit.models import AuditEvent
from fleetadmin.billing import services as billing
from fleetadmin.billing.models import BillingService, Customer, CustomerInvitation, Invoice
from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet import members
from fleetadmin.fleet.models import Invitation, Location, Machine, Membership, Organization, Role
from fleetadmin.keys.models import ApiKey, ApiKeyAuthorization
from fleetadmin.oauth import services as oauth
from fleetadmin.oauth.models import AuthService, OAuthApplication
from fleetadmin.support import services as support
from tests.factories import LocationFactory, MachineFactory, MembershipFactory, OrganizationFactory, UserFactory
from tests.keys.factories import issue

FOREIGN = "Zq9Foreign"
ADDRESS = "123 Main St, Springfield, IL, 62704"
APP = {
    "client_authentication": "required",
    "pkce": "required",
    "url_validation": "exact_match",
    "enabled_grants": ["authorization_code", "refresh_token"],
    "redirect_uris": ["https://dashboard.example.com/callback"],
    "logout_uri": "https://dashboard.example.com/logout",
}
# Web callers: a signed-in user each. Key callers: the Authorization header.
WEB_CALLERS = ("anonymous", "owner", "operator", "outsider", "location_owner", "support_granted", "support_no_grant")
KEY_CALLERS = ("owner_key", "operator_key", "location_key")
CALLERS = WEB_CALLERS + KEY_CALLERS
# Callers that may see the foreign organization: its owner only.
SEES_FOREIGN = {"outsider"}
# Rows a refused write must leave exactly as they were.
FINGERPRINT_MODELS: tuple[type[Model], ...] = (
    Organization,
    Location,
    Machine,
    Membership,
    Invitation,
    ApiKey,
    ApiKeyAuthorization,
    AuthService,
    OAuthApplication,
    BillingService,
    Customer,
    CustomerInvitation,
    Invoice,
)


@dataclass
class Side:
    org: Organization
    location: Location
    child: Location
    machine: Machine
    key: ApiKey
    app: OAuthApplication
    invoice: Invoice
    customer: Organization
    billing_invitation: CustomerInvitation
    member_invitation: Invitation
    membership: Membership
    event: AuditEvent
    grant_id: uuid.UUID | None = None  # the support grant on this side, once opened


@dataclass
class World:
    own: Side
    foreign: Side
    users: dict[str, object]
    keys: dict[str, str] = field(default_factory=dict)  # caller -> Authorization header

    def client(self, caller: str) -> Client:
        if caller in self.keys:
            return Client(HTTP_AUTHORIZATION=self.keys[caller], raise_request_exception=False)
        client = Client(raise_request_exception=False)
        if caller != "anonymous":
            client.force_login(self.users[caller])
        return client


def _side(label: str, owner) -> Side:
    org = OrganizationFactory(name=f"{label} Org")
    membership = MembershipFactory(organization=org, user=owner, role=Role.ORGANIZATION_OWNER)
    location = LocationFactory(organization=org, name=f"{label} HQ")
    child = LocationFactory(organization=org, parent=location, name=f"{label} Line")
    machine = MachineFactory(location=child, name=f"{label}-arm")
    key = issue(owner, org, name=f"{label} deploy key").key
    app = oauth.oauth_app_create(actor=SYSTEM, organization=org, client_name=f"{label} dashboard", **APP).app
    oauth.auth_service_enable(actor=SYSTEM, organization=org)
    billing.billing_service_enable(actor=SYSTEM, organization=org, address=ADDRESS)
    customer = OrganizationFactory(name=f"{label} Customer")
    billing.customer_attach(actor=SYSTEM, billing_organization=org, customer_id=customer.pk)
    invoice = billing.invoice_create(
        actor=SYSTEM,
        billing_organization=org,
        customer=customer,
        description=f"{label} hosting",
        subtotal="100.00",
        tax="8.00",
    )
    prospect = OrganizationFactory(name=f"{label} Prospect")
    billing_invitation = billing.customer_invite(actor=SYSTEM, billing_organization=org, customer_id=prospect.pk)
    member_invitation = members.invitation_create(
        actor=SYSTEM,
        organization=org,
        email=f"{label.lower()}-invitee@example.com",
        role=Role.ORGANIZATION_OPERATOR,
        base_url="http://testserver",
    ).invitation
    event = AuditEvent.objects.filter(organization=org).latest("id")
    return Side(
        org,
        location,
        child,
        machine,
        key,
        app,
        invoice,
        customer,
        billing_invitation,
        member_invitation,
        membership,
        event,
    )


def build_world() -> World:
    owner = UserFactory(email="owner@crawl.test")
    outsider = UserFactory(email="outsider@crawl.test", full_name=f"{FOREIGN} Owner")
    own = _side("Acme", owner)
    foreign = _side(FOREIGN, outsider)
    operator = MembershipFactory(organization=own.org, role=Role.ORGANIZATION_OPERATOR).user
    location_owner = MembershipFactory(organization=own.org, location=own.location, role=Role.LOCATION_OWNER).user
    support_granted = UserFactory(email="granted@crawl.test", support=True)
    support_no_grant = UserFactory(email="nogrant@crawl.test", support=True)
    own.grant_id = support.support_grant_open(
        actor=support_granted, organization=own.org, ticket="SUP-1", reason="Crawl test"
    ).pk
    foreign.grant_id = support.support_grant_open(
        actor=UserFactory(email="other-support@crawl.test", support=True),
        organization=foreign.org,
        ticket="SUP-2",
        reason="Crawl test",
    ).pk
    world = World(
        own=own,
        foreign=foreign,
        users={
            "owner": owner,
            "operator": operator,
            "outsider": outsider,
            "location_owner": location_owner,
            "support_granted": support_granted,
            "support_no_grant": support_no_grant,
        },
    )
    for caller, resource, role in (
        ("owner_key", own.org, Role.ORGANIZATION_OWNER),
        ("operator_key", own.org, Role.ORGANIZATION_OPERATOR),
        ("location_key", own.location, Role.LOCATION_OWNER),
    ):
        issued = issue(SYSTEM, resource, role=role, name=f"crawl {caller}")
        world.keys[caller] = f"ApiKey {issued.key.pk}:{issued.value}"
    return world


# ---- URL patterns ---------------------------------------------------------------------------------


def url_patterns() -> list[str]:
    """Every route of the portal (Django admin aside: it is Django's own, for superusers only)."""

    def walk(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    return sorted({p for p in walk(get_resolver()) if not p.startswith("admin/")})


PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


def _value(pattern: str, name: str, side: Side):
    if name in {"org_id", "organization_id"}:
        return side.org.pk
    if name == "billing_org_id":
        return side.org.pk
    if name == "invitation_id":
        return side.billing_invitation.pk if "/billing/" in pattern else side.member_invitation.pk
    values = {
        "location_id": side.location.pk,
        "machine_id": side.machine.pk,
        "key_id": side.key.pk,
        "client_id": side.app.pk,
        "invoice_id": side.invoice.pk,
        "customer_id": side.customer.pk,
        "grant_id": side.grant_id,
        "authorization_id": side.key.authorizations.first().pk,
        "event_id": side.event.pk,
        "membership_id": side.membership.pk,
        "session_id": 1,
        "fmt": "csv",
        "token": "not-a-real-token",
        "uidb64": "MQ",
    }
    if name not in values:
        raise AssertionError(f"The crawl does not know how to fill <{name}> in {pattern}; teach tests/crawl/world.py")
    return values[name]


def fill(pattern: str, side: Side, overrides: dict[str, str] | None = None) -> str:
    overrides = overrides or {}

    def value(match):
        name = match.group(1)
        return str(overrides[name]) if name in overrides else str(_value(pattern, name, side))

    return "/" + PARAMETER.sub(value, pattern).replace("^", "").replace("$", "")


def fingerprint() -> list:
    return [sorted(map(repr, model.objects.values_list())) for model in FINGERPRINT_MODELS]
