"""The billing organization's brand, read from the auth service.

The logo and the support email belong to the auth service (``fleetadmin.oauth``):
billing only reads them, through that app's selectors, and falls back to "none"
(a neutral placeholder on the pages) when they are not set. Nothing else in
billing imports ``fleetadmin.oauth``.

Read: ``oauth.selectors.get_auth_service(organization)`` for ``support_email``,
``logo_sha256``, ``logo_width`` and ``logo_height``; ``oauth.selectors.get_logo(organization)``
for the logo's bytes; the URL named ``oauth:logo`` for the logo URL.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from fleetadmin.fleet.models import Organization
from fleetadmin.oauth import selectors as oauth_selectors


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


def branding_for(organization: Organization) -> Branding:
    """The organization's name, logo URL and support email; None for whatever is not set."""
    service = oauth_selectors.get_auth_service(organization)
    support_email = (service.support_email or "").strip() or None
    sha256 = (service.logo_sha256 or "").strip() or None
    logo_url = f"{reverse('oauth:logo', args=[organization.pk])}?v={sha256[:16]}" if sha256 else None
    return Branding(
        name=organization.name,
        logo_url=logo_url,
        support_email=support_email,
        logo_sha256=sha256,
        logo_width=service.logo_width if sha256 else None,
        logo_height=service.logo_height if sha256 else None,
    )


def logo_image(organization: Organization, branding: Branding | None = None) -> LogoImage | None:
    """The logo's bytes (for an invoice snapshot or the customer-facing dashboard), or None."""
    stored = oauth_selectors.get_logo(organization)
    if stored is None or not stored.data:
        return None
    branding = branding or branding_for(organization)
    return LogoImage(data=stored.data, sha256=stored.sha256, width=branding.logo_width, height=branding.logo_height)
