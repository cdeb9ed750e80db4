"""Reads of the auth service and its applications, scoped to what the actor may see."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from fleetadmin.audit.models import target_type_of
from fleetadmin.audit.query import AuditFilters
from fleetadmin.audit.timeline import Timeline, object_timeline, timeline
from fleetadmin.fleet import authz
from fleetadmin.fleet.models import Organization
from fleetadmin.oauth.models import AuthService, OAuthApplication


def get_auth_service(organization: Organization) -> AuthService:
    """The organization's auth service without its logo bytes; an unsaved, disabled one if never configured."""
    service = AuthService.objects.defer("logo").filter(organization=organization).first()
    if service is None:
        service = AuthService(organization=organization)
    service.organization = organization
    return service


@dataclass(frozen=True)
class StoredLogo:
    data: bytes
    sha256: str


def get_logo(organization: Organization) -> StoredLogo | None:
    """The logo's bytes and hash, or None. The only read that loads the bytes."""
    row = (
        AuthService.objects.filter(organization=organization)
        .exclude(logo_sha256="")
        .values_list("logo", "logo_sha256")
        .first()
    )
    if row is None or row[0] is None:
        return None
    return StoredLogo(data=bytes(row[0]), sha256=row[1])  # PostgreSQL returns a memoryview


def visible_apps(actor, organization: Organization) -> QuerySet[OAuthApplication]:
    if not authz.can(actor, "oauth.view", organization):
        return OAuthApplication.objects.none()
    return OAuthApplication.objects.filter(organization=organization)


def get_app_for(actor, organization: Organization, client_id) -> OAuthApplication:
    """The application, if it belongs to the organization and the actor may read it; otherwise 404."""
    try:
        app = visible_apps(actor, organization).get(pk=client_id)
    except (OAuthApplication.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("No such OAuth application.") from None
    app.organization = organization
    return app


def app_timeline(actor, organization: Organization, app: OAuthApplication) -> Timeline:
    """The application's own newest events, and the audit log filtered to it."""
    return object_timeline(organization, app, links=authz.can(actor, "audit.view_log", organization))


def service_timeline(actor, organization: Organization, service: AuthService) -> Timeline:
    """Recent changes to the auth service and its branding (enable, disable, logo, support email: the events
    whose target is the organization's one auth service), and the audit log filtered to them."""
    links = authz.can(actor, "audit.view_log", organization)
    if service.pk is None:  # never configured: nothing recorded yet
        return timeline(organization, AuditFilters(target_type=target_type_of(service)), links=links)
    return object_timeline(organization, service, links=links)
