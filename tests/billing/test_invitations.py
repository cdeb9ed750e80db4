"""Billing a stranger needs its consent: an invitation that an owner of the invited organization answers.

Before the answer the biller learns nothing about the id it pasted: not whether it names an
organization, not its name, not whether another organization already bills it.
"""

import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from fleetadmin.audit.integrity import verify_chain
from fleetadmin.audit.models import AuditEvent
from fleetadmin.billing import services
from fleetadmin.billing.models import Customer, CustomerInvitation
from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet.models import Role
from tests.billing.conftest import SEED_ADDRESS
from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(fleet):
    services.billing_service_enable(actor=SYSTEM, organization=fleet.org, address=SEED_ADDRESS)
    prospect = OrganizationFactory(name="Prospect LLC")
    owner = MembershipFactory(organization=prospect, role=Role.ORGANIZATION_OWNER).user
    operator = MembershipFactory(organization=prospect, role=Role.ORGANIZATION_OPERATOR).user
    billed_elsewhere = OrganizationFactory(name="Billed Elsewhere Ltd")
    other_biller = OrganizationFactory(name="Other Biller")
    services.billing_service_enable(actor=SYSTEM, organization=other_biller, address=SEED_ADDRESS)
    services.customer_attach(actor=SYSTEM, billing_organization=other_biller, customer_id=billed_elsewhere.pk)
    return fleet, prospect, owner, operator, billed_elsewhere


def invite_page(client, fleet, customer_id):
    return client.post(f"/orgs/{fleet.org.pk}/billing/customers/invite/", {"customer_id": str(customer_id)})


def test_the_answer_to_an_invitation_is_the_same_whatever_the_id_names(world, client_for):
    fleet, prospect, _, _, billed_elsewhere = world
    client = client_for(fleet.owner)
    pages = {}
    for label, org_id in {"prospect": prospect.pk, "nobody": uuid.uuid4(), "billed": billed_elsewhere.pk}.items():
        response = invite_page(client, fleet, org_id)
        assert response.status_code == 302
        page = client.get(response["Location"]).content.decode()
        pages[label] = page.replace(str(org_id), "<ID>")
        assert "Invitation sent for <ID>" in pages[label]
    for name in ("Prospect LLC", "Billed Elsewhere Ltd", "Other Biller"):
        assert all(name not in page for page in pages.values())
    assert not Customer.objects.filter(organization=prospect).exists()
    biller_events = AuditEvent.objects.filter(organization=fleet.org, action="billing.customer.invite")
    assert biller_events.count() == 3
    assert all(set(event.changes["after"]) == {"customer_id", "status"} for event in biller_events)
    assert all("Prospect" not in event.target_name for event in biller_events)


def test_an_owner_of_the_invited_organization_accepts_and_both_logs_say_so(world, client_for):
    fleet, prospect, owner, operator, _ = world
    invite_page(client_for(fleet.owner), fleet, prospect.pk)
    received = AuditEvent.objects.get(organization=prospect, action="billing.invitation.receive")
    assert received.changes["after"]["billing_organization"] == "Acme Robotics"

    # Operators of the invited organization cannot answer, and see no buttons.
    page = client_for(operator).get(f"/orgs/{prospect.pk}/billing/").content.decode()
    assert "Billing invitations" not in page
    invitation = CustomerInvitation.objects.get()
    refused = client_for(operator).post(f"/orgs/{prospect.pk}/billing/invitations/{invitation.pk}/accept/")
    assert refused.status_code == 403
    # The inviter cannot accept on the stranger's behalf: the invitation is not in its reach.
    assert (
        client_for(fleet.owner).post(f"/orgs/{prospect.pk}/billing/invitations/{invitation.pk}/accept/").status_code
        == 404
    )

    page = client_for(owner).get(f"/orgs/{prospect.pk}/billing/").content.decode()
    assert "Billing invitations" in page and "Acme Robotics" in page and "wants to bill Prospect LLC" in page
    response = client_for(owner).post(f"/orgs/{prospect.pk}/billing/invitations/{invitation.pk}/accept/")
    assert response.status_code == 302
    assert Customer.objects.filter(billing_organization=fleet.org, organization=prospect).exists()
    invitation.refresh_from_db()
    assert invitation.status == "accepted" and invitation.decided_at is not None
    attach = AuditEvent.objects.get(organization=fleet.org, action="billing.customer.attach")
    assert attach.changes["after"]["customer"] == "Prospect LLC" and attach.actor_id == str(owner.pk)
    assert AuditEvent.objects.filter(organization=prospect, action="billing.invitation.accept").count() == 1
    # Now, and only now, the biller's page names the customer.
    assert "Prospect LLC" in client_for(fleet.owner).get(f"/orgs/{fleet.org.pk}/billing/").content.decode()
    assert verify_chain(fleet.org.pk).ok and verify_chain(prospect.pk).ok


def test_decline_keeps_the_organization_unbilled_and_is_logged_on_both_sides(world):
    fleet, prospect, owner, _, _ = world
    invitation = services.customer_invite(actor=fleet.owner, billing_organization=fleet.org, customer_id=prospect.pk)
    services.customer_invitation_decline(actor=owner, organization=prospect, invitation=invitation)
    assert not Customer.objects.filter(organization=prospect).exists()
    assert AuditEvent.objects.filter(organization=fleet.org, action="billing.customer.invitation_decline").count() == 1
    assert AuditEvent.objects.filter(organization=prospect, action="billing.invitation.decline").count() == 1
    with pytest.raises(ValidationError, match="already answered"):
        services.customer_invitation_accept(actor=owner, organization=prospect, invitation=invitation)


def test_accepting_while_billed_elsewhere_tells_the_invited_owner_only(world):
    fleet, _, _, _, billed_elsewhere = world
    owner = MembershipFactory(organization=billed_elsewhere, role=Role.ORGANIZATION_OWNER).user
    invitation = services.customer_invite(
        actor=fleet.owner, billing_organization=fleet.org, customer_id=billed_elsewhere.pk
    )
    with pytest.raises(ValidationError, match="already billed by Other Biller"):
        services.customer_invitation_accept(actor=owner, organization=billed_elsewhere, invitation=invitation)
    invitation.refresh_from_db()
    assert invitation.status == "pending"


def test_invitation_refusals(world):
    fleet, prospect, _, _, _ = world
    services.customer_invite(actor=fleet.owner, billing_organization=fleet.org, customer_id=prospect.pk)
    with pytest.raises(ValidationError, match="already invited"):
        services.customer_invite(actor=fleet.owner, billing_organization=fleet.org, customer_id=prospect.pk)
    with pytest.raises(ValidationError, match="cannot be its own customer"):
        services.customer_invite(actor=fleet.owner, billing_organization=fleet.org, customer_id=fleet.org.pk)
    with pytest.raises(PermissionDenied):
        services.customer_invite(actor=fleet.operator, billing_organization=fleet.org, customer_id=uuid.uuid4())


def test_the_biller_cancels_a_pending_invitation(world, client_for):
    fleet, prospect, _, _, _ = world
    invitation = services.customer_invite(actor=fleet.owner, billing_organization=fleet.org, customer_id=prospect.pk)
    response = client_for(fleet.owner).post(
        f"/orgs/{fleet.org.pk}/billing/customers/invitations/{invitation.pk}/cancel/"
    )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == "cancelled"
    assert AuditEvent.objects.filter(organization=prospect, action="billing.invitation.cancel").count() == 1


def test_the_same_flow_through_the_api(world):
    from django.test import Client

    from tests.keys.factories import issue

    fleet, prospect, owner, _, billed_elsewhere = world

    def key(actor, org):
        issued = issue(actor, org)
        return Client(HTTP_AUTHORIZATION=f"ApiKey {issued.key.pk}:{issued.value}")

    biller = key(fleet.owner, fleet.org)
    bodies = []
    for org_id in (prospect.pk, uuid.uuid4(), billed_elsewhere.pk):
        response = biller.post(
            f"/api/v1/organizations/{fleet.org.pk}/billing-service/customer-invitations",
            {"customer_id": str(org_id)},
            content_type="application/json",
        )
        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"id", "customer_id", "status", "created_at"} and body["status"] == "pending"
        bodies.append(body)
    invited = key(owner, prospect)
    listed = invited.get(f"/api/v1/organizations/{prospect.pk}/billing-invitations").json()
    assert [(item["billing_organization_name"], item["status"]) for item in listed] == [("Acme Robotics", "pending")]
    response = invited.post(f"/api/v1/organizations/{prospect.pk}/billing-invitations/{listed[0]['id']}/accept")
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert Customer.objects.filter(billing_organization=fleet.org, organization=prospect).exists()
    # The biller cannot answer for the invited organization: outside its reach.
    assert (
        biller.post(f"/api/v1/organizations/{prospect.pk}/billing-invitations/{bodies[0]['id']}/decline").status_code
        == 404
    )
