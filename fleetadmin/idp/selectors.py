"""Reads of end users, scoped to what the actor may see; keyset pages that stay fast at 100,000 rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import QuerySet
from django.http import Http404

from fleetadmin import clock
from fleetadmin.fleet import authz
from fleetadmin.fleet.models import Organization
from fleetadmin.idp.models import DeviceGrant, EndUser, SignInDay
from fleetadmin.oauth.models import DotApplication

PAGE_SIZE = 50
LIST_FIELDS = (
    "id",
    "organization_id",
    "email",
    "name",
    "email_verified",
    "is_disabled",
    "created_at",
    "last_sign_in_at",
    "sign_in_count",
    "failed_sign_in_count",
    "last_failed_sign_in_at",
    "invitation_hash",
    "invited_at",
    "password",
)


def visible_end_users(actor, organization: Organization) -> QuerySet[EndUser]:
    if not authz.can(actor, "oauth.view", organization):
        return EndUser.objects.none()
    return EndUser.objects.filter(organization=organization)


def get_end_user_for(actor, organization: Organization, end_user_id) -> EndUser:
    try:
        user = visible_end_users(actor, organization).get(pk=uuid.UUID(str(end_user_id)))
    except (EndUser.DoesNotExist, ValueError):
        raise Http404("No such end user.") from None
    user.organization = organization
    return user


@dataclass(frozen=True)
class Page:
    rows: list[EndUser]
    next_after: str | None


def end_user_page(actor, organization: Organization, *, query: str = "", after: str = "") -> Page:
    """One page ordered by email (unique per organization), after ``after``; ``query`` is an email prefix."""
    rows = visible_end_users(actor, organization).only(*LIST_FIELDS).order_by("email")
    query = query.strip().lower()
    if query:
        rows = rows.filter(email__startswith=query)
    if after:
        rows = rows.filter(email__gt=after)
    found = list(rows[: PAGE_SIZE + 1])
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    return Page(rows=found, next_after=found[-1].email if more and found else None)


def sign_ins_per_day(organization: Organization, days: int = 30) -> list[tuple]:
    today = clock.now().date()
    start = today - timedelta(days=days - 1)
    counts = dict(SignInDay.objects.filter(organization=organization, day__gte=start).values_list("day", "count"))
    return [(start + timedelta(days=i), counts.get(start + timedelta(days=i), 0)) for i in range(days)]


# ---- the issuer's side: clients and device codes, read by the OIDC endpoints ------------------------


def issuer_client(organization: Organization, client_id: str) -> DotApplication | None:
    """The organization's OAuth client with this id (and its configuration), or None; a non-UUID id is None."""
    try:
        uuid.UUID(str(client_id))
    except (TypeError, ValueError):
        return None
    return (
        DotApplication.objects.select_related("source")
        .filter(client_id=client_id, organization_id=organization.pk)
        .first()
    )


def redirect_targets(organization: Organization) -> list[tuple[list[str], str]]:
    """Each application's (redirect URIs, invitation redirect URI): where the sign-in pages may send a browser."""
    return list(organization.oauth_applications.values_list("redirect_uris", "invite_redirect_uri"))


def allowed_origins(organization: Organization) -> set[str]:
    """Every origin the organization's applications allow to call the issuer from a browser."""
    origins = set()
    for uris in organization.oauth_applications.values_list("origin_uris", flat=True):
        origins.update(uris or [])
    return origins


def pending_device_grant(organization: Organization, user_code: str) -> DeviceGrant | None:
    """The unexpired, undecided device authorization with this user code (as typed: any case, spaces), or None."""
    code = (user_code or "").strip().upper().replace(" ", "")
    if not code or len(code) > 100:
        return None
    return DeviceGrant.objects.filter(
        organization=organization,
        user_code__iexact=code,
        status=DeviceGrant.AUTHORIZATION_PENDING,
        expires__gt=clock.now(),
    ).first()
