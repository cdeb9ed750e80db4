"""Services for an organization's people: invitations (tokens, expiry, mail), roles, the last-owner rule."""

import re
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from fleetadmin.accounts.models import User
from fleetadmin.audit.models import AuditEvent
from fleetadmin.audit.services import SYSTEM
from fleetadmin.fleet import members, rules
from fleetadmin.fleet.models import Invitation, Membership, Organization, Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.mailserver import html_body, text_body

pytestmark = pytest.mark.django_db
BASE = "https://fleet.example.com"


def token_of(issued) -> str:
    return issued.url.rsplit("/", 2)[-2]


def invite(fleet, email="new.person@example.com", role=Role.ORGANIZATION_OPERATOR, location=None):
    return members.invitation_create(
        actor=fleet.owner, organization=fleet.org, email=email, role=role, location=location, base_url=BASE
    )


# ---- invitations ------------------------------------------------------------------------------------


def test_invitation_is_mailed_after_commit_in_text_and_html(fleet, smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        issued = invite(fleet, email="New.Person@Example.com")
    (message,) = smtp_server.wait_for("new.person@example.com")
    assert message["Subject"] == f"{fleet.owner.display_name} invited you to Acme Robotics on fleetadmin"
    assert issued.url in text_body(message)
    assert issued.url in html_body(message)
    assert "Organization operator".lower() in text_body(message)
    invitation = Invitation.objects.get()
    assert invitation.email == "new.person@example.com"
    assert invitation.mail_status == Invitation.MailStatus.SENT


def test_token_is_stored_hashed_and_never_audited(fleet, smtp_server):
    issued = invite(fleet)
    token = token_of(issued)
    invitation = Invitation.objects.get()
    assert invitation.token_hash == members.hash_token(token) and token not in invitation.token_hash
    event = AuditEvent.objects.get(action="fleet.membership.invite")
    assert token not in str(event.changes) and token not in event.target_name
    assert event.changes == {
        "after": {"email": "new.person@example.com", "role": "organization_operator", "scope": "organization"}
    }


def test_failed_send_keeps_the_invitation_and_says_not_sent(
    fleet, unreachable_smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite(fleet)
    invitation = Invitation.objects.get()
    assert invitation.mail_status == Invitation.MailStatus.FAILED
    assert Invitation.objects.pending(invitation.created_at).count() == 1


def test_invitation_expires_after_seven_days(fleet, clock, smtp_server):
    issued = invite(fleet)
    clock.advance(days=7, seconds=-1)
    assert members.invitation_for_token(token_of(issued)).email == "new.person@example.com"
    clock.advance(seconds=1)
    with pytest.raises(ValidationError, match=re.escape("This invitation has expired. Ask an owner of Acme Robotics")):
        members.invitation_for_token(token_of(issued))
    with pytest.raises(ValidationError, match="expired"):
        members.invitation_accept_as_new_user(token=token_of(issued), full_name="Late", password="a-long-passphrase-1")
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_resend_replaces_the_link_and_restarts_the_clock(fleet, clock, smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = invite(fleet)
    clock.advance(days=6)
    with django_capture_on_commit_callbacks(execute=True):
        second = members.invitation_resend(actor=fleet.owner, invitation=Invitation.objects.get(), base_url=BASE)
    with pytest.raises(ValidationError, match="not valid"):
        members.invitation_for_token(token_of(first))
    clock.advance(days=6)
    assert members.invitation_for_token(token_of(second))
    smtp_server.wait_for("new.person@example.com", count=2)


def test_new_person_accepts_once(fleet, smtp_server):
    issued = invite(fleet, role=Role.LOCATION_OWNER, location=fleet.hq)
    membership = members.invitation_accept_as_new_user(
        token=token_of(issued), full_name="Ada Lovelace", password="a-long-passphrase-1"
    )
    assert membership.role == Role.LOCATION_OWNER and membership.location == fleet.hq
    assert membership.invited_by == fleet.owner
    assert membership.user.check_password("a-long-passphrase-1") and membership.user.full_name == "Ada Lovelace"
    with pytest.raises(ValidationError, match="not valid"):
        members.invitation_accept_as_new_user(token=token_of(issued), full_name="Again", password="a-long-passphrase-1")
    assert AuditEvent.objects.filter(action="fleet.membership.accept", actor_name=membership.user.email).count() == 1


def test_existing_account_must_match_the_invited_email(fleet, smtp_server):
    someone = UserFactory(email="someone@example.com")
    issued = invite(fleet, email="someone@example.com")
    with pytest.raises(
        ValidationError, match=re.escape("This invitation is for someone@example.com, and you are signed in as")
    ):
        members.invitation_accept(actor=fleet.outsider, token=token_of(issued))
    with pytest.raises(ValidationError, match="An account with this email already exists; sign in"):
        members.invitation_accept_as_new_user(token=token_of(issued), full_name="X", password="a-long-passphrase-1")
    membership = members.invitation_accept(actor=someone, token=token_of(issued))
    assert membership.organization == fleet.org and membership.role == Role.ORGANIZATION_OPERATOR


def test_weak_password_is_refused_naming_the_field(fleet, smtp_server):
    issued = invite(fleet)
    with pytest.raises(ValidationError) as error:
        members.invitation_accept_as_new_user(token=token_of(issued), full_name="Ada", password="short")
    assert "password1" in error.value.message_dict
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_revoked_invitation_cannot_be_accepted(fleet, smtp_server):
    issued = invite(fleet)
    members.invitation_revoke(actor=fleet.owner, invitation=Invitation.objects.get())
    with pytest.raises(ValidationError, match="not valid"):
        members.invitation_for_token(token_of(issued))
    assert AuditEvent.objects.filter(action="fleet.membership.revoke").count() == 1


@pytest.mark.parametrize(
    ("email", "role", "location", "field", "message"),
    [
        ("not-an-email", "organization_operator", None, "email", "Enter an email address like name@example.com"),
        (
            "a@example.com",
            "robot_owner",
            None,
            "role",
            rules.unknown_role("robot_owner"),
        ),
        ("a@example.com", "location_owner", None, "location_id", "The location_owner role needs a location"),
        ("a@example.com", "organization_owner", "hq", "location_id", "covers the whole organization"),
    ],
)
def test_bad_invitations_name_the_field(fleet, email, role, location, field, message):
    with pytest.raises(ValidationError) as error:
        members.invitation_create(
            actor=fleet.owner,
            organization=fleet.org,
            email=email,
            role=role,
            location=fleet.hq if location else None,
            base_url=BASE,
        )
    assert message in " ".join(error.value.message_dict[field])
    assert not Invitation.objects.exists()


def test_members_and_pending_invitees_are_not_invited_twice(fleet, smtp_server):
    with pytest.raises(ValidationError, match="already a member of Acme Robotics"):
        invite(fleet, email=fleet.operator.email.upper())
    invite(fleet)
    with pytest.raises(ValidationError, match="already has a pending invitation; resend or revoke it"):
        invite(fleet)


def test_only_owners_invite(fleet):
    with pytest.raises(PermissionDenied):
        members.invitation_create(
            actor=fleet.operator,
            organization=fleet.org,
            email="x@example.com",
            role="organization_operator",
            base_url=BASE,
        )


# ---- the last-owner rule ----------------------------------------------------------------------------


def owner_membership(fleet):
    return Membership.objects.get(user=fleet.owner, organization=fleet.org)


def test_last_owner_cannot_be_demoted_removed_or_leave(fleet):
    membership = owner_membership(fleet)
    expected = f"{fleet.owner.display_name} is the last owner of Acme Robotics; make another member an owner first."
    with pytest.raises(ValidationError, match=expected):
        members.membership_change_role(actor=fleet.owner, membership=membership, role="organization_operator")
    with pytest.raises(ValidationError, match="is the last owner"):
        members.membership_remove(actor=fleet.owner, membership=membership)
    with pytest.raises(ValidationError, match="is the last owner"):
        members.membership_leave(actor=fleet.owner, organization=fleet.org)
    assert owner_membership(fleet).role == Role.ORGANIZATION_OWNER


def test_with_a_second_owner_the_first_may_step_down(fleet):
    operator = Membership.objects.get(user=fleet.operator, organization=fleet.org)
    members.membership_change_role(actor=fleet.owner, membership=operator, role="organization_owner")
    members.membership_change_role(actor=fleet.owner, membership=owner_membership(fleet), role="organization_operator")
    assert owner_membership(fleet).role == Role.ORGANIZATION_OPERATOR
    events = AuditEvent.objects.filter(action="fleet.membership.change_role").order_by("id")
    assert [e.changes["after"]["role"] for e in events] == ["organization_owner", "organization_operator"]


def test_change_scope_to_a_location_and_remove(fleet):
    operator = Membership.objects.get(user=fleet.operator, organization=fleet.org)
    members.membership_change_role(actor=fleet.owner, membership=operator, role="location_operator", location=fleet.hq)
    operator.refresh_from_db()
    assert operator.location == fleet.hq
    members.membership_remove(actor=fleet.owner, membership=operator)
    assert not Membership.objects.filter(user=fleet.operator).exists()
    assert AuditEvent.objects.filter(action="fleet.membership.remove").count() == 1


def test_a_member_leaves(fleet):
    assert members.membership_leave(actor=fleet.operator, organization=fleet.org) == 1
    assert AuditEvent.objects.get(action="fleet.membership.leave").actor_name == fleet.operator.email
    with pytest.raises(ValidationError, match="You are not a member of Acme Robotics"):
        members.membership_leave(actor=fleet.operator, organization=fleet.org)


# ---- organizations ----------------------------------------------------------------------------------


def test_organization_creation_setting(fleet, settings):
    org, membership = members.organization_create_with_owner(
        actor=fleet.outsider, name="  New  Co ", owner=fleet.outsider
    )
    assert org.name == "New Co" and membership.role == Role.ORGANIZATION_OWNER
    assert set(AuditEvent.objects.filter(organization=org).values_list("action", flat=True)) == {
        "fleet.organization.create",
        "fleet.membership.grant",
    }
    settings.ORGANIZATION_CREATION = "staff"
    with pytest.raises(PermissionDenied, match="Only staff may create organizations"):
        members.organization_create_with_owner(actor=fleet.outsider, name="Another", owner=fleet.outsider)
    staff = UserFactory(is_staff=True)
    members.organization_create_with_owner(actor=staff, name="Staff Co", owner=staff)


def test_create_organization_command_prints_a_one_time_link(db, client):
    out = StringIO()
    call_command("create_organization", "--name", "First Co", "--owner-email", "Boss@Example.com", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Created organization First Co (id: ")
    assert lines[1] == "Owner: boss@example.com (new account)."
    assert lines[2] == "Set-password link for boss@example.com, valid for 24 hours and usable once:"
    link = lines[3]
    assert link.startswith("http://127.0.0.1:8000/accounts/password/reset/")
    owner = User.objects.get(email="boss@example.com")
    assert not owner.has_usable_password()
    org = Organization.objects.get(name="First Co")
    assert Membership.objects.get(organization=org).user == owner
    assert AuditEvent.objects.filter(organization=org, actor_type="system").count() == 2

    path = link.removeprefix("http://127.0.0.1:8000")
    form_page = client.get(path, follow=True)
    assert b"Choose a password" in form_page.content
    set_url = form_page.redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": "first-co-passphrase", "new_password2": "first-co-passphrase"})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("first-co-passphrase")
    assert b"This link does not work" in client.get(path, follow=True).content  # used once


def test_create_organization_command_refuses_a_bad_email(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--owner-email must be an email address"):
        call_command("create_organization", "--name", "X", "--owner-email", "nope", stdout=StringIO())


def test_delete_needs_the_name_and_keeps_the_audit_chain(fleet):
    from fleetadmin.audit.integrity import verify_chain

    with pytest.raises(ValidationError, match=re.escape("Type the organization's name, Acme Robotics, to delete it.")):
        members.organization_delete(actor=fleet.owner, organization=fleet.org, confirm_name="acme")
    with pytest.raises(PermissionDenied):
        members.organization_delete(actor=fleet.operator, organization=fleet.org, confirm_name="Acme Robotics")
    org_id = fleet.org.pk
    events_before = AuditEvent.objects.filter(organization_id=org_id).count()
    members.organization_delete(actor=fleet.owner, organization=fleet.org, confirm_name="Acme Robotics")
    assert not Organization.objects.filter(pk=org_id).exists()
    assert AuditEvent.objects.filter(organization_id=org_id).count() == events_before + 1
    assert verify_chain(org_id).ok


def test_delete_is_refused_with_billing_customers(fleet):
    from fleetadmin.billing.models import Customer

    other = OrganizationFactory(name="Customer Co")
    Customer.objects.create(billing_organization=fleet.org, organization=other, attached_at=fleet.org.created_at)
    with pytest.raises(ValidationError, match=r"Acme Robotics cannot be deleted while it has 1 billing customer"):
        members.organization_delete(actor=fleet.owner, organization=fleet.org, confirm_name="Acme Robotics")
    assert Organization.objects.filter(pk=fleet.org.pk).exists()


def test_rename_and_two_factor_policy_are_audited(fleet):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    members.organization_rename(actor=fleet.owner, organization=fleet.org, name="Acme Robotics GmbH")
    with pytest.raises(ValidationError, match="Turn on two-factor sign-in for your own account first"):
        members.organization_set_two_factor(actor=fleet.owner, organization=fleet.org, required=True)
    TOTPDevice.objects.create(user=fleet.owner, name="Authenticator app", confirmed=True)
    members.organization_set_two_factor(actor=fleet.owner, organization=fleet.org, required=True)
    actions = list(AuditEvent.objects.filter(organization=fleet.org).values_list("action", flat=True).order_by("id"))
    assert actions[-2:] == ["fleet.organization.rename", "fleet.organization.require_two_factor"]
    with pytest.raises(PermissionDenied):
        members.organization_rename(actor=fleet.operator, organization=fleet.org, name="Mine")


def test_system_actor_membership_for_bootstrap(db):
    owner = UserFactory()
    org, _ = members.organization_create_with_owner(actor=SYSTEM, name="Boot", owner=owner)
    assert MembershipFactory._meta.model.objects.get(organization=org).user == owner
