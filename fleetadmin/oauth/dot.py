"""django-oauth-toolkit's view of the OAuth applications: the mirror row and the redirect-URI rules.

``sync`` runs inside the oauth services' transactions, so ``DotApplication`` never
disagrees with the audited ``OAuthApplication`` it mirrors.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from fleetadmin.oauth import validation
from fleetadmin.oauth.models import ClientAuthentication, DotApplication, OAuthApplication, UrlValidation

# The platform leaves "unspecified" to its default; these are the defaults this server applies.
DEFAULT_URL_VALIDATION = UrlValidation.EXACT_MATCH


def client_type(app: OAuthApplication) -> str:
    if app.client_authentication in (ClientAuthentication.REQUIRED, ClientAuthentication.UNSPECIFIED):
        return DotApplication.CLIENT_CONFIDENTIAL
    return DotApplication.CLIENT_PUBLIC


def sync(app: OAuthApplication) -> DotApplication:
    """Create or update the toolkit's row for ``app``; call inside the service's transaction."""
    values = {
        "client_id": str(app.pk),
        "organization_id": app.organization_id,
        "name": app.client_name,
        "redirect_uris": " ".join(app.redirect_uris),
        "post_logout_redirect_uris": app.logout_uri,
        "allowed_origins": " ".join(app.origin_uris),
        "client_type": client_type(app),
        "authorization_grant_type": DotApplication.GRANT_AUTHORIZATION_CODE,
        "client_secret": "",  # never stored here: the token endpoint checks OAuthApplication's HMAC
        "hash_client_secret": False,
        "skip_authorization": True,  # the organization's own applications are first-party
        "algorithm": DotApplication.RS256_ALGORITHM,
    }
    dot, _ = DotApplication.objects.update_or_create(source=app, defaults=values)
    return dot


def _matches_wildcard(registered: str, presented: str) -> bool:
    """``https://*.example.com/cb`` matches ``https://eu.example.com/cb``: one whole leftmost label, nothing else."""
    want, got = urlsplit(registered), urlsplit(presented)
    if (want.scheme, want.port, want.path, want.query) != (got.scheme, got.port, got.path, got.query):
        return False
    parent = (want.hostname or "")[2:]
    host = got.hostname or ""
    label, _, rest = host.partition(".")
    return bool(label) and rest == parent and validation.DNS_LABEL.match(label) is not None


def uri_allowed(presented: str, registered: list[str], url_validation: str) -> bool:
    """Is ``presented`` one of ``registered`` under the application's URL-validation policy?

    The presented URI is normalized by the same rules that accepted the registered ones
    (``oauth.validation.clean_uri``), so a URI the portal would refuse to register is never matched.
    """
    if url_validation == UrlValidation.UNSPECIFIED:
        url_validation = DEFAULT_URL_VALIDATION
    try:
        normalized = validation.clean_uri(presented, field="redirect_uri", url_validation=UrlValidation.EXACT_MATCH)
    except ValidationError:
        return False
    for uri in registered:
        if uri == normalized:
            return True
        if url_validation == UrlValidation.ALLOW_WILDCARDS and "://*." in uri and _matches_wildcard(uri, normalized):
            return True
    return False
