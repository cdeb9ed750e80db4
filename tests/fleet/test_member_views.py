"""The view-test matrix for the people screens (anonymous, another organization's owner, operator, owner;
with and without htmx), then each screen's own behaviour."""

import re

import pytest
from django.urls import reverse

from fleetadmin.audit.models import AuditEvent
from fleetadmin.fleet import members
from fleetadmin.fleet.models import Invitation, Membership, Organization, Role
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
BASE = "http://testserver"


def paths(fleet):
    operator = Membership.objects.get(user=fleet.operator, organization=fleet.org)
    return {
        "members": reverse("fleet:members", args=[fleet.org.pk]),
        "edit": reverse("fleet:member_edit", args=[fleet.org.pk, operator.pk]),
        "remove": reverse("fleet:member_remove", args=[fleet.org.pk, operator.pk]),
        "settings": reverse("fleet:settings", args=[fleet.org.pk]),
        "delete": reverse("fleet:organization_delete", args=[fleet.org.pk]),
        "leave": reverse("fleet:member_leave", args=[fleet.org.pk]),
    }


# who -> screen -> status
EXPECTED = {
    "outsider": {"members": 404, "edit": 404, "remove": 404, "settings": 404, "delete": 404, "leave": 404},
    "operator": {"members": 200, "edit": 403, "remove": 403, "settings": 403, "delete": 403, "leave": 200},
    "location_owner": {"members": 200, "edit": 403, "remove": 403, "settings": 403, "delete": 403, "leave": 200},
    "owner": {"members": 200, "edit": 200, "remove": 200, "settings": 200, "delete": 200, "leave": 200},
}
SCREENS = ["members", "edit", "remove", "settings", "delete", "leave"]


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("screen", SCREENS)
def test_anonymous_is_sent_to_sign_in(fleet, client, screen, htmx):
    path = paths(fleet)[screen]
    response = client.get(path, **(HTMX if htmx else {}))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("who", list(EXPECTED))
@pytest.mark.parametrize("screen", SCREENS)
def test_read_matrix(fleet, client_for, who, screen, htmx):
    response = client_for(getattr(fleet, who)).get(paths(fleet)[screen], **(HTMX if htmx else {}))
    assert response.status_code == EXPECTED[who][screen]


WRITES = {
    "invite": lambda f, p: (
        reverse("fleet:member_invite", args=[f.org.pk]),
        {"email": "new@example.com", "role": "organization_operator", "location_id": ""},
    ),
    "edit": lambda f, p: (p["edit"], {"role": "organization_owner", "location_id": ""}),
    "remove": lambda f, p: (p["remove"], {}),
    "rename": lambda f, p: (p["settings"], {"action": "rename", "name": "Acme Two"}),
    "two_factor": lambda f, p: (p["settings"], {"action": "two_factor", "require_two_factor": "on"}),
    "delete": lambda f, p: (p["delete"], {"confirm_name": "Acme Robotics"}),
}


@pytest.mark.parametrize("who", ["outsider", "operator"])
@pytest.mark.parametrize("case", list(WRITES))
def test_writes_beyond_reach_or_role_change_nothing(fleet, client_for, who, case):
    path, data = WRITES[case](fleet, paths(fleet))
    before = AuditEvent.objects.count()
    response = client_for(getattr(fleet, who)).post(path, data)
    assert response.status_code == (404 if who == "outsider" else 403)
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("case", list(WRITES))
def test_owner_writes_record_exactly_one_event(fleet, client_for, case, htmx):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=fleet.owner, name="Authenticator app", confirmed=True)  # needed to require it
    path, data = WRITES[case](fleet, paths(fleet))
    before = AuditEvent.objects.count()
    response = client_for(fleet.owner).post(path, data, **(HTMX if htmx else {}))
    assert response.status_code in (200, 302), response.content.decode()[:500]
    assert AuditEvent.objects.count() == before + 1


# ---- the Members page -------------------------------------------------------------------------------


def test_members_page_lists_people_with_role_scope_and_two_factor(fleet, client_for):
    content = client_for(fleet.owner).get(paths(fleet)["members"]).content.decode()
    for person in (fleet.owner, fleet.operator, fleet.location_owner):
        assert person.email in content
    assert "Headquarters" in content  # the location owner's scope
    assert "Send invitation" in content and "Change role" in content
    assert content.count('class="status status-disabled">Off<') == 3


def test_members_page_is_read_only_below_owner(fleet, client_for):
    content = client_for(fleet.operator).get(paths(fleet)["members"]).content.decode()
    assert fleet.owner.email in content
    assert "Send invitation" not in content and "Change role" not in content and "Pending invitations" not in content


def test_members_nav_entry_and_settings_for_owners_only(fleet, client_for):
    overview = reverse("fleet:organization", args=[fleet.org.pk])
    owner_page = client_for(fleet.owner).get(overview).content.decode()
    operator_page = client_for(fleet.operator).get(overview).content.decode()
    assert ">Members</a>" in owner_page and ">Members</a>" in operator_page
    assert ">Settings</a>" in owner_page and ">Settings</a>" not in operator_page


def test_invite_through_htmx_answers_the_people_partial(fleet, client_for):
    path, data = WRITES["invite"](fleet, paths(fleet))
    response = client_for(fleet.owner).post(path, data, **HTMX)
    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<div id="people"') and "<html" not in content
    assert "new@example.com" in content and "Invitation sent to new@example.com" in content
    assert response["Vary"] == "HX-Request" or "HX-Request" in response["Vary"]


def test_invalid_invitation_is_422_naming_the_field(fleet, client_for):
    path = reverse("fleet:member_invite", args=[fleet.org.pk])
    data = {"email": "x@example.com", "role": "location_owner", "location_id": ""}
    response = client_for(fleet.owner).post(path, data, **HTMX)
    assert response.status_code == 422
    assert "The location_owner role needs a location of Acme Robotics." in response.content.decode()
    assert not Invitation.objects.exists()


def test_last_owner_removal_is_refused_on_the_page(fleet, client_for):
    owner = Membership.objects.get(user=fleet.owner, organization=fleet.org)
    response = client_for(fleet.owner).post(reverse("fleet:member_remove", args=[fleet.org.pk, owner.pk]))
    assert response.status_code == 422
    assert "is the last owner of Acme Robotics; make another member an owner first." in response.content.decode()


def test_resend_and_revoke(fleet, client_for):
    issued = members.invitation_create(
        actor=fleet.owner, organization=fleet.org, email="p@example.com", role="organization_operator", base_url=BASE
    )
    client = client_for(fleet.owner)
    invitation = issued.invitation
    response = client.post(reverse("fleet:invitation_resend", args=[fleet.org.pk, invitation.pk]), **HTMX)
    assert "Sent a new invitation link to p@example.com" in response.content.decode()
    response = client.post(reverse("fleet:invitation_revoke", args=[fleet.org.pk, invitation.pk]))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    other = client_for(fleet.outsider).post(reverse("fleet:invitation_revoke", args=[fleet.org.pk, invitation.pk]))
    assert other.status_code == 404


def test_not_sent_invitation_says_resend(fleet, client_for):
    issued = members.invitation_create(
        actor=fleet.owner, organization=fleet.org, email="p@example.com", role="organization_operator", base_url=BASE
    )
    Invitation.objects.filter(pk=issued.invitation.pk).update(mail_status=Invitation.MailStatus.FAILED)
    assert "Not sent — resend" in client_for(fleet.owner).get(paths(fleet)["members"]).content.decode()


# ---- accepting --------------------------------------------------------------------------------------


def issue(fleet, email="colleague@example.com", role="organization_operator"):
    issued = members.invitation_create(actor=fleet.owner, organization=fleet.org, email=email, role=role, base_url=BASE)
    return issued.url.removeprefix(BASE)


def test_link_moves_the_token_off_the_url_and_a_new_person_joins(fleet, client):
    link = issue(fleet)
    response = client.get(link)
    assert response.status_code == 302 and response["Location"] == reverse("fleet:invitation_accept")
    page = client.get(response["Location"]).content.decode()
    assert "Join Acme Robotics" in page and "colleague@example.com" in page
    data = {"full_name": "Grace Hopper", "password1": "cobol-was-fun-1959", "password2": "cobol-was-fun-1959"}
    response = client.post(reverse("fleet:invitation_accept"), data)
    assert response.status_code == 302 and response["Location"] == reverse("fleet:organization", args=[fleet.org.pk])
    overview = client.get(response["Location"]).content.decode()
    assert "Welcome to Acme Robotics. You are organization operator." in overview
    assert Membership.objects.get(user__email="colleague@example.com").invited_by == fleet.owner
    again = client_for_new_session(client).get(link, follow=True)
    assert again.status_code == 410 and "This invitation link is not valid" in again.content.decode()


def client_for_new_session(client):
    from django.test import Client

    return Client()


def test_password_mismatch_names_the_field(fleet, client):
    client.get(issue(fleet))
    data = {"full_name": "Grace", "password1": "cobol-was-fun-1959", "password2": "cobol-was-fun-1960"}
    response = client.post(reverse("fleet:invitation_accept"), data)
    assert response.status_code == 422
    assert "The two passwords differ" in response.content.decode()


def test_signed_in_account_with_another_email_cannot_accept(fleet, client_for):
    client = client_for(fleet.outsider)
    client.get(issue(fleet))
    page = client.get(reverse("fleet:invitation_accept")).content.decode()
    assert f"you are signed in as {fleet.outsider.email}" in page
    response = client.post(reverse("fleet:invitation_accept"))
    assert response.status_code == 422
    assert not Membership.objects.filter(user=fleet.outsider, organization=fleet.org).exists()


def test_existing_account_signs_in_then_accepts(fleet, client):
    person = UserFactory(email="colleague@example.com")
    client.get(issue(fleet, role="organization_owner"))
    login = client.post(
        reverse("accounts:login") + "?next=" + reverse("fleet:invitation_accept"),
        {"username": person.email, "password": TEST_PASSWORD, "next": reverse("fleet:invitation_accept")},
    )
    assert login["Location"] == reverse("fleet:invitation_accept")
    response = client.post(reverse("fleet:invitation_accept"))
    assert response.status_code == 302
    assert Membership.objects.get(user=person, organization=fleet.org).role == Role.ORGANIZATION_OWNER


def test_token_never_reaches_the_audit_log(fleet, client):
    link = issue(fleet)
    token = link.rstrip("/").rsplit("/", 1)[-1]
    client.get(link)
    client.post(
        reverse("fleet:invitation_accept"),
        {"full_name": "Grace", "password1": "cobol-was-fun-1959", "password2": "cobol-was-fun-1959"},
    )
    for event in AuditEvent.objects.all():
        assert token not in str(event.changes) and token not in (event.target_name or "")
    assert not re.search(re.escape(token), str(list(Invitation.objects.values())))


# ---- creating and deleting organizations ------------------------------------------------------------


def test_create_an_organization_from_the_list(fleet, client_for, settings):
    client = client_for(fleet.operator)
    assert "New organization" in client.get(reverse("fleet:organizations")).content.decode()
    response = client.post(reverse("fleet:organization_create"), {"name": "Operator's Own"})
    org = Organization.objects.get(name="Operator's Own")
    assert response["Location"] == reverse("fleet:organization", args=[org.pk])
    assert Membership.objects.get(organization=org).user == fleet.operator
    bad = client.post(reverse("fleet:organization_create"), {"name": "   "})
    assert bad.status_code == 422 and "Enter an organization name; it cannot be empty." in bad.content.decode()
    settings.ORGANIZATION_CREATION = "staff"
    assert "New organization" not in client.get(reverse("fleet:organizations")).content.decode()
    assert client.get(reverse("fleet:organization_create")).status_code == 403


def test_delete_requires_the_exact_name(fleet, client_for):
    client = client_for(fleet.owner)
    response = client.post(paths(fleet)["delete"], {"confirm_name": "Acme"})
    assert response.status_code == 422
    assert "Type the organization&#x27;s name, Acme Robotics, to delete it." in response.content.decode()
    assert Organization.objects.filter(pk=fleet.org.pk).exists()
    response = client.post(paths(fleet)["delete"], {"confirm_name": "Acme Robotics"})
    assert response["Location"] == reverse("fleet:organizations")
    assert not Organization.objects.filter(pk=fleet.org.pk).exists()


def test_support_staff_under_a_grant_cannot_leave_for_a_member(fleet, client_for):
    from fleetadmin.support import services as support

    staff = UserFactory(support=True)
    support.support_grant_open(actor=staff, organization=fleet.org, ticket="SUP-7", reason="Customer asked")
    response = client_for(staff).post(reverse("fleet:member_leave", args=[fleet.org.pk]))
    assert response.status_code == 403
    assert Membership.objects.filter(organization=fleet.org).count() == 3
