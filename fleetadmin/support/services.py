"""The only writers of support access, and the support actions taken on a customer's behalf.

Opening and ending a grant, and every page a support engineer views under one,
record an event in the *customer's* audit log with the ticket reference. An action
on the customer's behalf calls the customer's own service once, through
``access.acting_for``, so it records exactly one event: that service's own, with
actor type ``support`` and the ticket.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse

from fleetadmin import audit, clock
from fleetadmin.audit.models import AuditEvent
from fleetadmin.billing.services import billing_service_update
from fleetadmin.core.links import absolute_url, portal_base_url
from fleetadmin.core.mail import Mail, send_after_commit
from fleetadmin.fleet import authz
from fleetadmin.fleet.models import Membership, Organization, Role
from fleetadmin.keys.services import api_key_delete
from fleetadmin.oauth.services import auth_service_disable, auth_service_enable, oauth_app_rotate_secret
from fleetadmin.support.access import SupportActor, acting_for
from fleetadmin.support.models import SupportGrant
from fleetadmin.support.payloads import AccessEnded, AccessOpened, AccessViewed

logger = logging.getLogger(__name__)

REASON_MAX_LENGTH = 1000
TICKET_MAX_LENGTH = 64  # AuditEvent.ticket
VIEW_WINDOW_SECONDS = 60
REASON_REQUIRED = "Say why you need access; the customer reads this."


class GrantAlreadyActive(Exception):
    def __init__(self, grant: SupportGrant):
        super().__init__(f"You already have access to this organization for ticket {grant.ticket}.")
        self.grant = grant


def clean_ticket(value: str) -> str:
    """A ticket reference as the ticket system writes it, checked against SUPPORT_TICKET_PATTERN."""
    ticket = (value or "").strip()
    pattern = settings.SUPPORT_TICKET_PATTERN
    if not ticket:
        raise ValidationError({"ticket": f"Enter the ticket reference; it must match {pattern}."})
    if len(ticket) > TICKET_MAX_LENGTH or not re.fullmatch(pattern, ticket):
        shown = ticket if len(ticket) <= 40 else ticket[:39] + "…"
        raise ValidationError(
            {"ticket": f"The ticket reference must match {pattern} (for example SUP-1234); got {shown!r}."}
        )
    return ticket


def clean_reason(value: str) -> str:
    reason = " ".join((value or "").split())
    if not reason:
        raise ValidationError({"reason": REASON_REQUIRED})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": f"A reason has at most {REASON_MAX_LENGTH} characters; this one has {len(reason)}."}
        )
    return reason


def _require_may_open_grant(user, organization: Organization) -> None:
    if not authz.may_open_grant(user, organization):
        raise PermissionDenied("Only support staff can open an organization with a ticket.")


@transaction.atomic
def support_grant_open(
    *, actor, organization: Organization, ticket: str, reason: str, base_url: str | None = None
) -> SupportGrant:
    """Give a support engineer read-only access to one organization for SUPPORT_GRANT_MINUTES.

    Refused while the engineer already holds an active grant there: a grant is
    never extended or changed, only ended and opened again, each time on the record.
    """
    _require_may_open_grant(actor, organization)
    errors = {}
    try:
        ticket = clean_ticket(ticket)
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        reason = clean_reason(reason)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    # Serialize opens for this organization so two tabs cannot both open a grant.
    Organization.objects.select_for_update().filter(pk=organization.pk).values_list("pk").first()
    now = clock.now()
    active = (
        SupportGrant.objects.filter(staff=actor, organization=organization, ended_at=None, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )
    if active is not None:
        raise GrantAlreadyActive(active)
    grant = SupportGrant.objects.create(
        staff=actor,
        organization=organization,
        ticket=ticket,
        reason=reason,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.SUPPORT_GRANT_MINUTES),
    )
    audit.record(
        actor=SupportActor(actor, grant),
        action=AccessOpened.ACTION,
        organization=organization,
        target=grant,
        changes=AccessOpened(grant=str(grant.pk), reason=reason, expires_at=grant.expires_at).to_payload(),
        ticket=ticket,
    )
    _mail_owners_access_opened(grant, base_url or portal_base_url())
    return grant


def _mail_owners_access_opened(grant: SupportGrant, base_url: str) -> None:
    """Tell the organization's owners, after the commit, who opened access, for which ticket and until when."""
    owners = Membership.objects.filter(
        organization=grant.organization, role=Role.ORGANIZATION_OWNER, location=None
    ).values_list("user__email", flat=True)
    context = {
        "organization": grant.organization.name,
        "staff": grant.staff.email,
        "ticket": grant.ticket,
        "reason": grant.reason,
        "expires_at": grant.expires_at,
        "url": absolute_url(base_url, reverse("support_access:list", args=[grant.organization_id])),
    }
    for email in sorted(set(owners)):  # one message each: owners do not see each other's addresses
        send_after_commit(Mail(to=[email], template="mail/support/access_opened", context=context))


@transaction.atomic
def support_grant_switch(
    *, actor, grant: SupportGrant, ticket: str, reason: str, base_url: str | None = None
) -> SupportGrant:
    """Work on another ticket in the same organization: end ``grant`` and open a new one, both on the record.

    All or nothing: a ticket or reason that is refused leaves the current grant open.
    """
    support_grant_end(actor=actor, grant=grant)
    return support_grant_open(
        actor=actor, organization=grant.organization, ticket=ticket, reason=reason, base_url=base_url
    )


@transaction.atomic
def support_grant_end(*, actor, grant: SupportGrant) -> SupportGrant:
    """End a grant now: by the engineer who holds it, or by an owner of the organization. Idempotent."""
    grant = SupportGrant.objects.select_for_update().select_related("organization", "staff").get(pk=grant.pk)
    if getattr(actor, "pk", None) == grant.staff_id:
        recorded_as = SupportActor(grant.staff, grant)  # the engineer's own grant: recorded as support
    else:
        authz.require(actor, "support.end_access", grant.organization)
        recorded_as = actor
    now = clock.now()
    if not grant.is_active(now):
        return grant
    grant.ended_at = now
    grant.save(update_fields=["ended_at"])
    audit.record(
        actor=recorded_as,
        action=AccessEnded.ACTION,
        organization=grant.organization,
        target=grant,
        changes=AccessEnded(grant=str(grant.pk), ended_at=now).to_payload(),
        ticket=grant.ticket,
    )
    return grant


def _view_cache_key(grant: SupportGrant, path: str, minute: int) -> str:
    digest = hashlib.sha256(path.encode()).hexdigest()[:32]
    return f"support-view:{grant.pk}:{minute}:{digest}"


def support_page_view_record(
    *, actor: SupportActor, path: str, page: str, query: str = "", object_id: str = ""
) -> AuditEvent | None:
    """Record that a support engineer viewed a page, at most once per grant, page and minute.

    The minute is the portal clock's, so the cache (shared between workers when
    CACHE_URL points at Redis) only has to remember a key for that minute.
    """
    grant = actor.grant
    minute = int(clock.now().timestamp() // VIEW_WINDOW_SECONDS)
    key = _view_cache_key(grant, path, minute)
    try:
        first_this_minute = cache.add(key, 1, timeout=VIEW_WINDOW_SECONDS * 2)
    except Exception as error:  # the cache is down: record every view rather than lose one
        logger.warning("support view de-duplication unavailable (%s); recording this view", type(error).__name__)
        first_this_minute = True
    if not first_this_minute:
        return None
    viewed = AccessViewed.of(grant=str(grant.pk), page=page, path=path, object_id=object_id, query=query)
    try:
        with transaction.atomic():
            return audit.record(
                actor=actor,
                action=AccessViewed.ACTION,
                organization=grant.organization,
                changes=viewed.to_payload(),
                ticket=grant.ticket,
            )
    except Exception:
        try:
            cache.delete(key)  # not recorded, so the next view must try again
        except Exception:
            logger.warning("support view de-duplication: could not forget %s after a failed record", key)
        raise


# ---- actions on the customer's behalf --------------------------------------------------------------


@transaction.atomic
def support_api_key_delete(*, actor: SupportActor, key) -> None:
    """Delete a (leaked) API key of the customer. One event: ``keys.api_key.delete`` by support, with the ticket."""
    authz.require(actor, "support.delete_key", key)
    with acting_for(actor, key.organization) as agent:
        api_key_delete(actor=agent, key=key)


@transaction.atomic
def support_oauth_app_rotate_secret(*, actor: SupportActor, app) -> None:
    """Rotate an OAuth application's client secret and discard the new one: nobody sees it.

    The old secret stops working at once; the customer rotates again to get a value.
    """
    authz.require(actor, "support.rotate_oauth_secret", app.organization)
    with acting_for(actor, app.organization) as agent:
        oauth_app_rotate_secret(actor=agent, app=app)  # the IssuedClient (and its secret) is dropped here


@transaction.atomic
def support_auth_service_set_enabled(*, actor: SupportActor, organization: Organization, enabled: bool) -> None:
    """Enable or disable the customer's auth service (its configuration is kept either way)."""
    authz.require(actor, "support.toggle_auth_service", organization)
    with acting_for(actor, organization) as agent:
        (auth_service_enable if enabled else auth_service_disable)(actor=agent, organization=organization)


@transaction.atomic
def support_billing_address_update(*, actor: SupportActor, organization: Organization, address: str):
    """Change the customer's billing address, given in the one-line form the billing app accepts everywhere."""
    authz.require(actor, "support.update_billing_address", organization)
    with acting_for(actor, organization) as agent:
        return billing_service_update(actor=agent, organization=organization, address=address)
