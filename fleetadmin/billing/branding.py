"""The billing organization's brand, read from the auth-service app when it is installed.

The logo and the support email belong to the auth service (``fleetadmin.oauth``):
billing only reads them, through that app's selectors, and falls back to "none"
(a neutral placeholder on the pages) when the app, its rows or its fields are
absent. Nothing else in billing imports ``fleetadmin.oauth``.

Read: ``oauth.selectors.get_auth_service(organization)`` for ``support_email``,
``logo_sha256``, ``logo_width`` and ``logo_height``; ``oauth.selectors.get_logo(organization)``
for the logo's bytes; the URL named ``oauth:logo`` for the logo URL.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.urls import NoReverseMatch, reverse

from fleetadmin.fleet.models import Organization

OAUTH_APP = "fleetadmin.oauth"


@dataclass(frozen=True)
class Branding:
    name: str
    logo_url: str | None  # the auth service's logo URL (path), versioned by content
    support_email: str | None
    logo_sha256: str | None = None
    logo_width: int | None = None
    logo_height: int | None = None

    @property
    def has_logo(self) -> bool:
        return bool(self.logo_sha256)

    @property
    def initial(self) -> str:
        return (self.name.strip()[:1] or "?").upper()


@dataclass(frozen=True)
class LogoImage:
    data: bytes
    sha256: str
    width: int | None
    height: int | None


def _oauth_selectors():
    if not apps.is_installed(OAUTH_APP):
        return None
    try:
        from fleetadmin.oauth import selectors
    except ImportError:
        return None
    return selectors


def _auth_service(organization: Organization):
    selectors = _oauth_selectors()
    get_auth_service = getattr(selectors, "get_auth_service", None)
    if get_auth_service is None:
        return None
    return get_auth_service(organization)


def branding_for(organization: Organization) -> Branding:
    """The organization's name, logo URL and support email; None for whatever is not set (or not available)."""
    service = _auth_service(organization)
    support_email = (getattr(service, "support_email", "") or "").strip() or None
    sha256 = (getattr(service, "logo_sha256", "") or "").strip() or None
    logo_url = None
    if sha256:
        try:
            logo_url = f"{reverse('oauth:logo', args=[organization.pk])}?v={sha256[:16]}"
        except NoReverseMatch:
            logo_url = None
    return Branding(
        name=organization.name,
        logo_url=logo_url,
        support_email=support_email,
        logo_sha256=sha256,
        logo_width=getattr(service, "logo_width", None) if sha256 else None,
        logo_height=getattr(service, "logo_height", None) if sha256 else None,
    )


def logo_image(organization: Organization, branding: Branding | None = None) -> LogoImage | None:
    """The logo's bytes (for an invoice snapshot or the customer-facing dashboard), or None."""
    selectors = _oauth_selectors()
    get_logo = getattr(selectors, "get_logo", None)
    if get_logo is None:
        return None
    stored = get_logo(organization)
    data = getattr(stored, "data", None)
    sha256 = getattr(stored, "sha256", None)
    if not data or not sha256:
        return None
    branding = branding or branding_for(organization)
    return LogoImage(data=bytes(data), sha256=sha256, width=branding.logo_width, height=branding.logo_height)
