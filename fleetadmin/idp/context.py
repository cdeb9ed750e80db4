"""Which organization's issuer the current request speaks for.

django-oauth-toolkit and oauthlib call the validator with an oauthlib request that
knows nothing of the URL's ``<org-id>``; the OIDC views set this for the duration
of the call, and the validator scopes every lookup to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import Http404, HttpRequest

from fleetadmin.fleet.models import Organization
from fleetadmin.oauth import selectors as oauth_selectors
from fleetadmin.oauth.models import AuthService


@dataclass
class Issuer:
    organization: Organization
    service: AuthService
    url: str
    endpoint: str = ""

    @property
    def enabled(self) -> bool:
        return self.service.enabled

    def endpoint_url(self, name: str) -> str:
        return f"{self.url}/{name}"


_current: ContextVar[Issuer | None] = ContextVar("idp_issuer", default=None)


def issuer_url(request: HttpRequest, org_id) -> str:
    return f"{request.scheme}://{request.get_host()}/oidc/{org_id}"


def resolve(request: HttpRequest, org_id) -> Issuer:
    """The issuer for ``org_id``, or 404: an unknown organization has no OIDC endpoints at all."""
    try:
        organization = Organization.objects.get(pk=uuid.UUID(str(org_id)))
    except (Organization.DoesNotExist, ValueError):
        raise Http404("No such issuer.") from None
    return Issuer(
        organization=organization,
        service=oauth_selectors.get_auth_service(organization),
        url=issuer_url(request, organization.pk),
    )


@contextmanager
def using(issuer: Issuer, endpoint: str = "") -> Iterator[Issuer]:
    issuer.endpoint = endpoint
    token = _current.set(issuer)
    try:
        yield issuer
    finally:
        _current.reset(token)


def current() -> Issuer:
    issuer = _current.get()
    if issuer is None:
        raise RuntimeError("No OIDC issuer is set for this request (use idp.context.using).")
    return issuer
