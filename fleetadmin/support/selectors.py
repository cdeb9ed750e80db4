"""Reads for support: the console's search, grants, and the customer's "Support access" history.

Search answers with indexed lookups only: primary-key lookups for every id in the
query, an exact lookup for an email (stored lowercased, unique), and a name match
with a LIMIT.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse

from fleetadmin import clock
from fleetadmin.audit.models import ActorType, AuditEvent
from fleetadmin.audit.selectors import EVENT_LIST_FIELDS
from fleetadmin.billing.models import BillingService, Invoice
from fleetadmin.fleet.models import Location, Machine, Membership, Organization, Role
from fleetadmin.keys import rules as key_rules
from fleetadmin.keys.models import ApiKey
from fleetadmin.oauth import rules as oauth_rules
from fleetadmin.oauth.models import OAuthApplication
from fleetadmin.support.models import SupportGrant
from fleetadmin.support.payloads import AccessEnded, AccessOpened, AccessViewed, grant_of

NAME_LIMIT = 20
MEMBER_LIMIT = 20
ID_LIMIT = 5  # ids looked up from one query
QUERY_MAX_LENGTH = 200
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
EMAIL_RE = re.compile(r"[^\s@<>(),;:\"']+@[^\s@<>(),;:\"']+\.[A-Za-z]{2,}")
INVOICE_RE = re.compile(r"\bINV-?(\d{1,9})\b", re.IGNORECASE)
SECRET_PLACEHOLDER = "[secret removed]"  # noqa: S105 -- what replaces a pasted secret, not a secret
SECRET_RE = key_rules.secret_pattern(key_rules.KEY_PREFIX, oauth_rules.CLIENT_SECRET_PREFIX)


# ---- search ----------------------------------------------------------------------------------------


@dataclass
class Match:
    """One thing the query matched, and the organization it belongs to."""

    kind: str  # a label: "Organization", "API key", ...
    organization: Organization
    name: str = ""
    object_id: str = ""
    where: str = ""  # e.g. "under Headquarters", "role organization_owner"
    path: str = ""  # the customer page to land on once access is open

    @property
    def sort_key(self) -> tuple:
        return (self.organization.name.lower(), str(self.organization.pk), self.kind, self.name)


@dataclass
class SearchResult:
    query: str
    matches: list[Match] = field(default_factory=list)
    more_names: bool = False  # the name search hit its limit
    notes: list[str] = field(default_factory=list)
    searched: list[str] = field(default_factory=list)  # what kinds of id the query was checked against


def _org_match(org: Organization) -> Match:
    return Match(kind="Organization", organization=org, name=org.name, object_id=str(org.pk))


def _by_id(value: uuid.UUID) -> list[Match]:
    """Everything whose primary key is ``value``: one indexed lookup per kind of object."""
    matches: list[Match] = []
    org = Organization.objects.filter(pk=value).first()
    if org is not None:
        matches.append(_org_match(org))
    location = Location.objects.select_related("organization", "parent").filter(pk=value).first()
    if location is not None:
        matches.append(
            Match(
                kind="Location",
                organization=location.organization,
                name=location.name,
                object_id=str(location.pk),
                where=f"under {location.parent.name}" if location.parent else "top-level location",
                path=reverse("fleet:organization", args=[location.organization_id]) + f"#node-{location.pk}",
            )
        )
    machine = Machine.objects.select_related("organization", "location").filter(pk=value).first()
    if machine is not None:
        matches.append(
            Match(
                kind="Machine",
                organization=machine.organization,
                name=machine.name,
                object_id=str(machine.pk),
                where=f"in {machine.location.name}",
                path=reverse("fleet:organization", args=[machine.organization_id]) + f"#node-{machine.pk}",
            )
        )
    key = ApiKey.objects.select_related("organization").filter(pk=value).first()
    if key is not None:
        matches.append(
            Match(
                kind="API key",
                organization=key.organization,
                name=key.name,
                object_id=str(key.pk),
                where="deleted" if key.deleted_at else "",
                path="" if key.deleted_at else reverse("keys:detail", args=[key.organization_id, key.pk]),
            )
        )
    app = OAuthApplication.objects.select_related("organization").filter(pk=value).first()
    if app is not None:
        matches.append(
            Match(
                kind="OAuth client",
                organization=app.organization,
                name=str(app),
                object_id=str(app.pk),
                path=reverse("oauth:app_detail", args=[app.organization_id, app.pk]),
            )
        )
    invoice = Invoice.objects.select_related("billing_organization", "customer").filter(pk=value).first()
    if invoice is not None:
        matches.extend(_invoice_matches(invoice))
    return matches


def _invoice_matches(invoice: Invoice) -> list[Match]:
    """An invoice concerns two organizations: the one that issued it and the one it bills."""
    number = invoice.display_number
    return [
        Match(
            kind="Invoice",
            organization=invoice.billing_organization,
            name=number,
            object_id=str(invoice.pk),
            where=f"issued to {invoice.customer.name}",
            path=reverse("billing:invoice", args=[invoice.billing_organization_id, invoice.pk]),
        ),
        Match(
            kind="Invoice",
            organization=invoice.customer,
            name=number,
            object_id=str(invoice.pk),
            where=f"received from {invoice.billing_organization.name}",
        ),
    ]


def _by_invoice_number(number: int) -> list[Match]:
    """Invoice numbers count from 1 in each billing organization, so one number can match several invoices.

    Looked up per billing organization (the (billing_organization, number) index),
    never by number alone, which has no index of its own.
    """
    invoices = (
        Invoice.objects.filter(billing_organization__in=BillingService.objects.values("organization_id"), number=number)
        .select_related("billing_organization", "customer")
        .order_by("billing_organization_id")[:NAME_LIMIT]
    )
    return [match for invoice in invoices for match in _invoice_matches(invoice)]


def _by_email(email: str) -> list[Match]:
    user = get_user_model().objects.filter(email=email.lower()).first()
    if user is None:
        return []
    memberships = (
        Membership.objects.filter(user=user).select_related("organization", "location").order_by("organization__name")
    )[:MEMBER_LIMIT]
    return [
        Match(
            kind="Member",
            organization=m.organization,
            name=user.email,
            object_id=str(user.pk),
            where=f"{m.role}" + (f" of {m.location.name}" if m.location_id else ""),
        )
        for m in memberships
    ]


def search(query: str) -> SearchResult:
    """The organizations behind whatever a customer pasted: names, ids of any kind, invoice numbers, emails."""
    query = " ".join((query or "").split())[:QUERY_MAX_LENGTH]
    result = SearchResult(query=query)
    if not query:
        return result
    if SECRET_RE.search(query):
        result.notes.append(
            "The query contains what looks like a key value or client secret; it was not searched. "
            "Ask the customer for the key or client ID only, and to rotate that secret."
        )
        query = SECRET_RE.sub(" ", query)
        # What the page shows back (the search box, "matches for …") never holds the secret.
        result.query = SECRET_RE.sub(SECRET_PLACEHOLDER, result.query)
    ids = []
    for raw in UUID_RE.findall(query):
        try:
            value = uuid.UUID(raw)
        except ValueError:
            continue
        if value not in ids:
            ids.append(value)
    searched_ids = bool(ids)
    for value in ids[:ID_LIMIT]:
        result.matches.extend(_by_id(value))
    if len(ids) > ID_LIMIT:
        result.notes.append(f"Only the first {ID_LIMIT} ids in the query were looked up.")
    rest = UUID_RE.sub(" ", query)
    emails = {email.lower() for email in EMAIL_RE.findall(rest)}
    for email in sorted(emails)[:ID_LIMIT]:
        result.matches.extend(_by_email(email))
    rest = EMAIL_RE.sub(" ", rest)
    numbers = {int(n) for n in INVOICE_RE.findall(rest)}
    for number in sorted(numbers)[:ID_LIMIT]:
        result.matches.extend(_by_invoice_number(number))
    rest = INVOICE_RE.sub(" ", rest).strip()
    if rest and not (searched_ids or emails or numbers):
        names = list(Organization.objects.filter(name__icontains=rest).order_by("name", "id")[: NAME_LIMIT + 1])
        result.more_names = len(names) > NAME_LIMIT
        result.matches.extend(_org_match(org) for org in names[:NAME_LIMIT])
    result.searched = searchable_kinds()
    return result


def searchable_kinds() -> list[str]:
    return [
        "organization name",
        "organization ID",
        "location ID",
        "machine ID",
        "API key ID",
        "OAuth client ID",
        "invoice number or ID",
        "member email",
    ]


# ---- grants ----------------------------------------------------------------------------------------


def owner_emails(organization: Organization, *, limit: int = 5) -> list[str]:
    """Who can do what support cannot (enable billing, say): the organization's owners, first few."""
    owners = Membership.objects.filter(organization=organization, role=Role.ORGANIZATION_OWNER, location=None)
    return list(owners.order_by("user__email").values_list("user__email", flat=True)[:limit])


def active_grants_of(user) -> QuerySet[SupportGrant]:
    return (
        SupportGrant.objects.filter(staff=user, ended_at=None, expires_at__gt=clock.now())
        .select_related("organization")
        .order_by("-created_at")
    )


def active_grant_on(user, organization) -> SupportGrant | None:
    """The staff member's newest open grant on this organization, or None."""
    return active_grants_of(user).filter(organization=organization).first()


def recent_grants_of(user, *, limit: int = 8) -> list[SupportGrant]:
    return list(SupportGrant.objects.filter(staff=user).select_related("organization").order_by("-created_at")[:limit])


def get_own_grant(user, grant_id) -> SupportGrant:
    """A grant of this support engineer, or 404 (another engineer's grant is as good as missing)."""
    try:
        return SupportGrant.objects.select_related("organization", "staff").get(pk=grant_id, staff=user)
    except (SupportGrant.DoesNotExist, ValueError, TypeError):
        raise Http404("No such grant.") from None


def active_grants_on(organization: Organization) -> list[SupportGrant]:
    return list(
        SupportGrant.objects.filter(organization=organization, ended_at=None, expires_at__gt=clock.now())
        .select_related("staff")
        .order_by("-created_at")
    )


def get_grant_on(organization: Organization, grant_id) -> SupportGrant:
    try:
        return SupportGrant.objects.select_related("organization", "staff").get(pk=grant_id, organization=organization)
    except (SupportGrant.DoesNotExist, ValueError, TypeError):
        raise Http404("No such grant.") from None


# ---- what the customer sees: the support access history --------------------------------------------

SESSIONS_PER_PAGE = 20
SESSION_EVENT_LIMIT = 2000


@dataclass
class ViewedPage:
    page: str
    path: str
    count: int
    first: datetime
    last: datetime
    object_id: str = ""
    link: str = ""  # the customer's own page, when it is one (support console pages are not theirs)


@dataclass
class AccessSession:
    """One grant as the audit log tells it: opened, what was viewed and done, and how it ended."""

    opened: AuditEvent
    ended: AuditEvent | None = None
    views: dict[str, ViewedPage] = field(default_factory=dict)
    actions: list[AuditEvent] = field(default_factory=list)

    @cached_property
    def opening(self) -> AccessOpened:
        return AccessOpened.from_payload(self.opened.changes)

    @property
    def grant_id(self) -> str:
        return self.opening.grant

    @property
    def reason(self) -> str:
        return self.opening.reason

    @property
    def expires_at(self) -> datetime | None:
        return self.opening.expires_at

    @property
    def viewed(self) -> list[ViewedPage]:
        return sorted(self.views.values(), key=lambda v: v.first)

    def status(self, now: datetime) -> str:
        if self.ended is not None:
            return "ended"
        if self.expires_at is not None and self.expires_at > now:
            return "active"
        return "expired"


@dataclass
class SessionPage:
    sessions: list[AccessSession]
    next_before: int | None
    truncated: bool = False  # some events of these sessions are only in the audit log
    now: datetime | None = None


def access_sessions(organization: Organization, *, before: int | None = None) -> SessionPage:
    """Support sessions of the organization, newest first, in pages of opens (keyset on the event id).

    Three indexed queries whatever the history's length: the page of ``support.access.open``
    events (audit_org_action), the support staff's events since the oldest of them
    (audit_org_actor), and the ends recorded since then by anyone (audit_org_action).
    """
    opens_qs = AuditEvent.objects.filter(organization=organization, action=AccessOpened.ACTION)
    if before is not None:
        opens_qs = opens_qs.filter(id__lt=before)
    opens = list(opens_qs.only(*EVENT_LIST_FIELDS).order_by("-id")[: SESSIONS_PER_PAGE + 1])
    more = len(opens) > SESSIONS_PER_PAGE
    opens = opens[:SESSIONS_PER_PAGE]
    now = clock.now()
    if not opens:
        return SessionPage(sessions=[], next_before=None, now=now)
    customer_prefix = f"/orgs/{organization.pk}/"
    sessions = {event.id: AccessSession(opened=event) for event in opens}
    by_grant = {session.grant_id: session for session in sessions.values() if session.grant_id}
    oldest = opens[-1].id
    actor_ids = {event.actor_id for event in opens}
    events = list(
        AuditEvent.objects.filter(
            organization=organization, actor_type=ActorType.SUPPORT, actor_id__in=actor_ids, id__gte=oldest
        )
        .only(*EVENT_LIST_FIELDS)
        .order_by("id")[:SESSION_EVENT_LIMIT]
    )
    truncated = len(events) >= SESSION_EVENT_LIMIT
    # Events carry no grant id when they are the customer's own services' (an action), so they
    # belong to the latest session the same engineer opened for the same ticket before them.
    current: dict[tuple[str, str], AccessSession | None] = defaultdict(lambda: None)
    for event in events:
        if event.action == AccessOpened.ACTION:
            current[(event.actor_id, event.ticket)] = sessions.get(event.id)
            continue
        session = by_grant.get(grant_of(event.changes)) or current[(event.actor_id, event.ticket)]
        if session is None:
            continue
        if event.action == AccessViewed.ACTION:
            viewed = AccessViewed.from_payload(event.changes)
            path = viewed.path
            seen = session.views.get(path)
            if seen is None:
                session.views[path] = ViewedPage(
                    page=viewed.page,
                    path=path,
                    count=1,
                    first=event.created_at,
                    last=event.created_at,
                    object_id=viewed.object_id,
                    link=path if path.startswith(customer_prefix) else "",
                )
            else:
                seen.count += 1
                seen.last = event.created_at
        elif event.action == AccessEnded.ACTION:
            session.ended = event
        else:
            session.actions.append(event)
    for end in AuditEvent.objects.filter(organization=organization, action=AccessEnded.ACTION, id__gte=oldest).exclude(
        actor_type=ActorType.SUPPORT
    ):
        session = by_grant.get(AccessEnded.from_payload(end.changes).grant)
        if session is not None and session.ended is None:
            session.ended = end
    return SessionPage(
        sessions=[sessions[event.id] for event in opens],
        next_before=opens[-1].id if more else None,
        truncated=truncated,
        now=now,
    )


# ---- what support may look up without a grant -------------------------------------------------------


def get_organization(organization_id) -> Organization:
    """Any organization by id (support finds them all, before any grant): 404 when there is none."""
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        raise Http404("No such organization.")
    return organization


def billing_service_of(organization: Organization) -> BillingService | None:
    return BillingService.objects.filter(organization=organization).first()
