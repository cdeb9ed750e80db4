"""The writers of an organization's people: invitations, memberships, and the organization's own lifecycle.

Every function is a service in the project's sense: keyword-only, atomic, authorized through
``fleet.authz``, and recording one audit event per change in the same transaction. Mail leaves
after the commit (``core.mail.send_after_commit``); a failed send marks the invitation
"not sent" and never undoes it.

Invitation tokens are random (``secrets``), stored only as SHA-256, never logged or audited, and
single-use: accepting, revoking or resending an invitation ends the old link.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from fleetadmin import audit, clock
from fleetadmin.audit.services import diff
from fleetadmin.core.mail import Mail, send_after_commit
from fleetadmin.fleet import authz, rules
from fleetadmin.fleet.models import (
    LOCATION_ROLES,
    ORGANIZATION_ROLES,
    Invitation,
    Location,
    Membership,
    Organization,
    Role,
)
from fleetadmin.fleet.services import clean_name

INVITABLE_ROLES = rules.INVITABLE_ROLES
LAST_OWNER_MESSAGE = "{name} is the last owner of {org}; make another member an owner first."


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{reverse('fleet:invitation_open', args=[token])}"


def _scope_label(membership_or_invitation) -> str:
    location = membership_or_invitation.location
    return location.name if location is not None else "organization"


def _check_role_and_scope(organization: Organization, role: str, location: Location | None) -> Role:
    if role not in INVITABLE_ROLES:
        raise ValidationError({"role": rules.unknown_role(role)})
    if role in ORGANIZATION_ROLES and location is not None:
        raise ValidationError({"location_id": f"The {role} role covers the whole organization; leave location empty."})
    if role in LOCATION_ROLES and location is None:
        raise ValidationError({"location_id": f"The {role} role needs a location of {organization.name}."})
    if location is not None and location.organization_id != organization.pk:
        raise ValidationError({"location_id": f"That location is not part of {organization.name}."})
    return Role(role)


def _lock(organization: Organization) -> None:
    """Serialize membership changes of one organization (the last-owner rule counts, then writes)."""
    Organization.objects.select_for_update().filter(pk=organization.pk).values_list("pk").first()


def _owner_count(organization: Organization) -> int:
    return Membership.objects.filter(organization=organization, role=Role.ORGANIZATION_OWNER).count()


def _refuse_losing_last_owner(membership: Membership) -> None:
    if membership.role == Role.ORGANIZATION_OWNER and _owner_count(membership.organization) <= 1:
        raise ValidationError(
            LAST_OWNER_MESSAGE.format(name=membership.user.display_name, org=membership.organization.name)
        )


# ---- organizations ----------------------------------------------------------------------------------


@transaction.atomic
def organization_create_with_owner(*, actor, name: str, owner) -> tuple[Organization, Membership]:
    """A new organization whose first owner is ``owner`` (the signed-in user, or the bootstrap account)."""
    from fleetadmin.fleet.services import organization_create

    if not authz.can(actor, "fleet.create_organization", None):
        raise PermissionDenied("Only staff may create organizations on this portal (ORGANIZATION_CREATION=staff).")
    organization = organization_create(actor=actor, name=name)
    membership = Membership.objects.create(user=owner, organization=organization, role=Role.ORGANIZATION_OWNER)
    audit.record(
        actor=actor,
        action="fleet.membership.grant",
        organization=organization,
        target=membership,
        changes={"after": {"user": owner.email, "role": Role.ORGANIZATION_OWNER, "scope": "organization"}},
    )
    return organization, membership


@transaction.atomic
def organization_rename(*, actor, organization: Organization, name: str) -> Organization:
    authz.require(actor, "fleet.manage_organization", organization)
    name = clean_name(name, what="organization name")
    before = organization.name
    if name == before:
        return organization
    organization.name = name
    organization.save(update_fields=["name"])
    audit.record(
        actor=actor,
        action="fleet.organization.rename",
        organization=organization,
        target=organization,
        changes=diff({"name": before}, {"name": name}),
    )
    return organization


@transaction.atomic
def organization_set_two_factor(*, actor, organization: Organization, required: bool) -> Organization:
    authz.require(actor, "fleet.manage_organization", organization)
    before = organization.require_two_factor
    if before == required:
        return organization
    if required and isinstance(actor, get_user_model()):
        from fleetadmin.accounts.two_factor import has_two_factor

        if not has_two_factor(actor):
            message = "Turn on two-factor sign-in for your own account first; then require it of others."
            raise ValidationError({"require_two_factor": message})
    organization.require_two_factor = required
    organization.save(update_fields=["require_two_factor"])
    audit.record(
        actor=actor,
        action="fleet.organization.require_two_factor",
        organization=organization,
        target=organization,
        changes=diff({"require_two_factor": before}, {"require_two_factor": required}),
    )
    return organization


def deletion_blockers(organization: Organization) -> list[str]:
    """Why the organization cannot be deleted now (empty when it can)."""

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'s' if n != 1 else ''}"

    # Billing's invoices protect the organization (on_delete=PROTECT); they are reached through the
    # relations billing declares on Organization, because billing imports fleet and not the reverse.
    invoice_model = organization.issued_invoices.model
    invoices = invoice_model.objects.filter(Q(billing_organization=organization) | Q(customer=organization))
    open_status = "open"  # billing.models.InvoiceStatus.OPEN
    unpaid = invoices.filter(status=open_status).count()
    settled = invoices.exclude(status=open_status).count()
    customers = organization.billing_customers.count()
    blockers = []
    if unpaid:
        blockers.append(f"{plural(unpaid, 'unpaid invoice')} (mark them paid or void them)")
    if customers:
        blockers.append(f"{plural(customers, 'billing customer')} (detach them)")
    if settled and not unpaid:
        blockers.append(f"{plural(settled, 'settled invoice')}, which are kept as records")
    return blockers


@transaction.atomic
def organization_delete(*, actor, organization: Organization, confirm_name: str) -> None:
    """Delete the organization and everything in it. Its audit events stay, and their chain still verifies."""
    authz.require(actor, "fleet.manage_organization", organization)
    _lock(organization)
    if (confirm_name or "").strip() != organization.name:
        raise ValidationError({"confirm_name": f"Type the organization's name, {organization.name}, to delete it."})
    blockers = deletion_blockers(organization)
    if blockers:
        raise ValidationError(f"{organization.name} cannot be deleted while it has " + " and ".join(blockers) + ".")
    audit.record(
        actor=actor,
        action="fleet.organization.delete",
        organization=organization,
        target=organization,
        changes={"before": {"name": organization.name}},
    )
    # Machines and nested locations are PROTECTed from accidental cascades; take them down leaves first.
    organization.machines.all().delete()
    locations = list(Location.objects.filter(organization=organization).values_list("pk", "path"))
    for depth in sorted({path.count("/") for _, path in locations}, reverse=True):
        Location.objects.filter(pk__in=[pk for pk, path in locations if path.count("/") == depth]).delete()
    organization.delete()


# ---- invitations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    url: str  # holds the token: shown to nobody but the invitee's mailbox (and the CLI/API caller never)


def _mail_invitation(invitation: Invitation, url: str) -> None:
    inviter = invitation.invited_by.display_name if invitation.invited_by else settings.PORTAL_NAME
    mail = Mail(
        to=[invitation.email],
        template="mail/fleet/invitation",
        context={
            "organization": invitation.organization.name,
            "inviter": inviter,
            "role": Role(invitation.role).label,
            "scope": _scope_label(invitation),
            "url": url,
            "expires_at": invitation.expires_at,
        },
    )

    def remember(sent: bool) -> None:
        status = Invitation.MailStatus.SENT if sent else Invitation.MailStatus.FAILED
        Invitation.objects.filter(pk=invitation.pk).update(mail_status=status, sent_at=clock.now() if sent else None)

    send_after_commit(mail, on_result=remember)


def _new_token(invitation: Invitation) -> str:
    token = secrets.token_urlsafe(32)
    invitation.token_hash = hash_token(token)
    return token


def _normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": f"Enter an email address like name@example.com; got {email!r}."}) from None
    return email


@transaction.atomic
def invitation_create(
    *, actor, organization: Organization, email: str, role: str, location: Location | None = None, base_url: str
) -> IssuedInvitation:
    authz.require(actor, "fleet.manage_members", organization)
    email = _normalize_email(email)
    role = _check_role_and_scope(organization, role, location)
    _lock(organization)
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ValidationError(
            {"email": f"{email} is already a member of {organization.name}; change their role instead."}
        )
    now = clock.now()
    if Invitation.objects.filter(organization=organization, email__iexact=email).pending(now).exists():
        raise ValidationError({"email": f"{email} already has a pending invitation; resend or revoke it."})
    invitation = Invitation(
        organization=organization,
        email=email,
        role=role,
        location=location,
        invited_by=actor if isinstance(actor, get_user_model()) else None,
        created_at=now,
        expires_at=now + timedelta(days=settings.INVITATION_DAYS),
    )
    token = _new_token(invitation)
    invitation.save(force_insert=True)
    audit.record(
        actor=actor,
        action="fleet.membership.invite",
        organization=organization,
        target=invitation,
        changes={"after": {"email": email, "role": role, "scope": _scope_label(invitation)}},
    )
    url = invitation_url(base_url, token)
    _mail_invitation(invitation, url)
    return IssuedInvitation(invitation, url)


@transaction.atomic
def invitation_resend(*, actor, invitation: Invitation, base_url: str) -> IssuedInvitation:
    """A fresh link (the old one stops working) and a fresh 7 days."""
    authz.require(actor, "fleet.manage_members", invitation.organization)
    if invitation.accepted_at or invitation.revoked_at:
        raise ValidationError("This invitation was already accepted or revoked; send a new one.")
    now = clock.now()
    token = _new_token(invitation)
    invitation.expires_at = now + timedelta(days=settings.INVITATION_DAYS)
    invitation.mail_status = Invitation.MailStatus.QUEUED
    invitation.save(update_fields=["token_hash", "expires_at", "mail_status"])
    audit.record(
        actor=actor,
        action="fleet.membership.resend",
        organization=invitation.organization,
        target=invitation,
        changes={"after": {"email": invitation.email, "expires_at": invitation.expires_at.isoformat()}},
    )
    url = invitation_url(base_url, token)
    _mail_invitation(invitation, url)
    return IssuedInvitation(invitation, url)


@transaction.atomic
def invitation_revoke(*, actor, invitation: Invitation) -> None:
    authz.require(actor, "fleet.manage_members", invitation.organization)
    if invitation.accepted_at:
        raise ValidationError("This invitation was already accepted; remove the member instead.")
    if invitation.revoked_at:
        return
    invitation.revoked_at = clock.now()
    invitation.save(update_fields=["revoked_at"])
    audit.record(
        actor=actor,
        action="fleet.membership.revoke",
        organization=invitation.organization,
        target=invitation,
        changes={"before": {"email": invitation.email, "role": invitation.role}},
    )


INVALID_LINK = "This invitation link is not valid: it was already used, revoked, replaced by a newer one, or mistyped."
EXPIRED_LINK = "This invitation has expired. Ask an owner of {org} to send a new one."


def invitation_for_token(token: str) -> Invitation:
    """The pending invitation a link names; ValidationError saying why not otherwise."""
    invitation = (
        Invitation.objects.select_related("organization", "location", "invited_by")
        .filter(token_hash=hash_token(token or ""))
        .first()
    )
    if invitation is None or invitation.accepted_at or invitation.revoked_at:
        raise ValidationError(INVALID_LINK)
    if invitation.expires_at <= clock.now():
        raise ValidationError(EXPIRED_LINK.format(org=invitation.organization.name))
    return invitation


def _accept(invitation: Invitation, user) -> Membership:
    now = clock.now()
    # Lock the invitation: two tabs accepting at once make one membership, not two events.
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise ValidationError(INVALID_LINK)
    if invitation.expires_at <= now:
        raise ValidationError(EXPIRED_LINK.format(org=invitation.organization.name))
    membership, _ = Membership.objects.update_or_create(
        user=user,
        organization=invitation.organization,
        location=invitation.location,
        defaults={"role": invitation.role, "invited_by": invitation.invited_by},
    )
    invitation.accepted_at = now
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit.record(
        actor=user,
        action="fleet.membership.accept",
        organization=invitation.organization,
        target=membership,
        changes={"after": {"user": user.email, "role": invitation.role, "scope": _scope_label(invitation)}},
    )
    return membership


@transaction.atomic
def invitation_accept(*, actor, token: str) -> Membership:
    """A signed-in account accepts; only the account whose email the invitation names may."""
    invitation = invitation_for_token(token)
    if actor.email.lower() != invitation.email.lower():
        raise ValidationError(
            f"This invitation is for {invitation.email}, and you are signed in as {actor.email}. "
            "Sign out and sign in with the invited address."
        )
    return _accept(invitation, actor)


@transaction.atomic
def invitation_accept_as_new_user(*, token: str, full_name: str, password: str):
    """A person without an account: the invitation's email becomes their account, with this name and password."""
    invitation = invitation_for_token(token)
    User = get_user_model()
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ValidationError("An account with this email already exists; sign in to accept the invitation.")
    full_name = clean_name(full_name, field="full_name", what="name")
    user = User(email=invitation.email, full_name=full_name)
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password1": error.messages}) from None
    user.set_password(password)
    user.save()
    return _accept(invitation, user)


# ---- memberships ----------------------------------------------------------------------------------


@transaction.atomic
def membership_change_role(*, actor, membership: Membership, role: str, location: Location | None = None) -> Membership:
    organization = membership.organization
    authz.require(actor, "fleet.manage_members", organization)
    role = _check_role_and_scope(organization, role, location)
    _lock(organization)
    if role == membership.role and location == membership.location:
        return membership
    if role != Role.ORGANIZATION_OWNER:
        _refuse_losing_last_owner(membership)
    clash = Membership.objects.filter(user=membership.user, organization=organization, location=location).exclude(
        pk=membership.pk
    )
    if clash.exists():
        where = location.name if location else "the organization"
        raise ValidationError({"role": f"{membership.user.email} already has a role on {where}; change that one."})
    before = {"role": membership.role, "scope": _scope_label(membership)}
    membership.role = role
    membership.location = location
    membership.save(update_fields=["role", "location"])
    audit.record(
        actor=actor,
        action="fleet.membership.change_role",
        organization=organization,
        target=membership,
        changes=diff(before, {"role": role, "scope": _scope_label(membership)}),
    )
    return membership


@transaction.atomic
def membership_remove(*, actor, membership: Membership) -> None:
    organization = membership.organization
    authz.require(actor, "fleet.manage_members", organization)
    _lock(organization)
    _refuse_losing_last_owner(membership)
    audit.record(
        actor=actor,
        action="fleet.membership.remove",
        organization=organization,
        target=membership,
        changes={"before": {"user": membership.user.email, "role": membership.role, "scope": _scope_label(membership)}},
    )
    membership.delete()


@transaction.atomic
def membership_leave(*, actor, organization: Organization) -> int:
    """The actor gives up every role they hold in the organization. The last owner cannot leave."""
    if not isinstance(actor, get_user_model()):  # an API key or support staff under a grant holds no membership
        raise PermissionDenied("Only a member can leave an organization.")
    _lock(organization)
    memberships = list(Membership.objects.filter(user=actor, organization=organization).select_related("location"))
    if not memberships:
        raise ValidationError(f"You are not a member of {organization.name}.")
    for membership in memberships:
        _refuse_losing_last_owner(membership)
    for membership in memberships:
        audit.record(
            actor=actor,
            action="fleet.membership.leave",
            organization=organization,
            target=membership,
            changes={"before": {"user": actor.email, "role": membership.role, "scope": _scope_label(membership)}},
        )
        membership.delete()
    return len(memberships)
