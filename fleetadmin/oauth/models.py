"""The end-user auth service of an organization: its state, its branding and its OAuth applications."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from oauth2_provider.models import AbstractApplication

from fleetadmin.fleet.models import Organization
from fleetadmin.oauth.rules import ClientAuthentication, Grant, Pkce, UrlValidation


class AuthService(models.Model):
    """The sign-in service an organization offers its own end users, with its white-label branding.

    One row per organization, created the first time an owner changes anything.
    Disabling flips ``enabled`` and keeps everything else, so enabling again
    restores the same branding and applications.

    The logo lives in the database (it is small, at most 200 KB, and this keeps
    web workers stateless with no shared media volume). ``logo_sha256`` gives
    the stable logo URL its cache-busting ``?v=`` and its ETag. Selectors defer
    ``logo`` so that pages never load the bytes they do not serve.
    """

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="auth_service"
    )
    enabled = models.BooleanField(default=False)
    enabled_changed_at = models.DateTimeField(null=True, blank=True)
    support_email = models.EmailField(max_length=254, blank=True)
    logo = models.BinaryField(null=True, blank=True, editable=False)
    logo_sha256 = models.CharField(max_length=64, blank=True)
    logo_size = models.PositiveIntegerField(default=0)
    logo_width = models.PositiveSmallIntegerField(null=True, blank=True)
    logo_height = models.PositiveSmallIntegerField(null=True, blank=True)
    logo_updated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(logo_sha256="", logo_size=0) | (~Q(logo_sha256="") & Q(logo_size__gt=0)),
                name="oauth_auth_service_logo_hash_matches_size",
            ),
        ]

    def __str__(self) -> str:
        return f"Auth service of {self.organization.name}"

    @property
    def has_logo(self) -> bool:
        return bool(self.logo_sha256)

    @property
    def logo_version(self) -> str:
        """A short, content-derived token for the logo URL's ``?v=``."""
        return self.logo_sha256[:16]


class OAuthApplication(models.Model):
    """An OAuth client of an organization's auth service. Its primary key is the client ID.

    The client secret is never stored: only HMAC-SHA256 under a server-side
    pepper (``secret_hash`` + ``pepper_id``, the API-key scheme of
    ``fleetadmin.keys.tokens``), so it is shown once, at creation or rotation.

    Serving these clients with django-oauth-toolkit later (its Application model is
    swappable through ``OAUTH2_PROVIDER_APPLICATION_MODEL``), field by field:

    ==============================  ==============================================================
    django-oauth-toolkit            this model
    ==============================  ==============================================================
    ``client_id``                   ``str(id)``: the UUID the platform prints as the client ID
    ``client_secret`` (hashed)      ``secret_hash``/``pepper_id``; verified with ``tokens.verify``
    ``hash_client_secret``          always true
    ``name``                        ``client_name``
    ``redirect_uris`` (space-sep.)  ``redirect_uris`` (JSON list, already validated, normalized)
    ``post_logout_redirect_uris``   ``logout_uri``
    ``allowed_origins``             ``origin_uris``
    ``authorization_grant_type``    ``enabled_grants``: a *list* here, one value there
    ``client_type``                 ``confidential`` when ``client_authentication`` is ``required``,
                                    else ``public``
    PKCE_REQUIRED (setting)         ``pkce``: the setting accepts a callable of the client id
    ``user``, ``skip_authorization``, ``algorithm``: not modelled yet (null / false / "")
    ==============================  ==============================================================

    How to connect them: add a model ``DotApplication(AbstractApplication)`` with a
    OneToOne to this one (``client_id`` = this id), kept in sync by the oauth services
    in the same transaction, and point ``OAUTH2_PROVIDER_APPLICATION_MODEL`` at it.
    Its overrides: ``allows_grant_type`` reads ``enabled_grants``;
    ``redirect_uri_allowed`` / ``origin_allowed`` apply this app's ``url_validation``
    (exact match, or one leftmost-label wildcard); and a custom ``OAUTH2_VALIDATOR_CLASS``
    authenticates clients with ``tokens.verify`` instead of Django's password hashers
    and applies the client_authentication/PKCE matrix. This model stays the single
    source of truth, audited by the services; the toolkit's tables only serve tokens.
    (Making this model itself the swapped-in Application is the alternative: it would
    need the toolkit's string-typed columns, duplicated from the JSON lists.)
    """

    id = models.UUIDField("client ID", primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="oauth_applications")
    client_name = models.CharField(max_length=100, blank=True)
    client_authentication = models.CharField(max_length=32, choices=ClientAuthentication.choices)
    pkce = models.CharField("PKCE", max_length=48, choices=Pkce.choices)
    url_validation = models.CharField("URL validation policy", max_length=24, choices=UrlValidation.choices)
    enabled_grants = models.JSONField(default=list)
    redirect_uris = models.JSONField(default=list)
    origin_uris = models.JSONField(default=list, blank=True)
    logout_uri = models.CharField(max_length=2048)
    invite_redirect_uri = models.CharField(max_length=2048, blank=True)
    secret_hash = models.CharField(max_length=64)
    pepper_id = models.CharField(max_length=16)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by_name = models.CharField(max_length=255, blank=True)
    # A creation form's one-time token: submitting the same form twice creates one app, not two.
    creation_token = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at", "-id"], name="oauth_app_org_newest")]
        constraints = [
            models.CheckConstraint(
                condition=Q(client_authentication__in=ClientAuthentication.values),
                name="oauth_app_client_authentication_valid",
            ),
            models.CheckConstraint(condition=Q(pkce__in=Pkce.values), name="oauth_app_pkce_valid"),
            models.CheckConstraint(
                condition=Q(url_validation__in=UrlValidation.values), name="oauth_app_url_validation_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.client_name or f"OAuth app {self.pk}"

    @property
    def client_id(self) -> str:
        return str(self.pk)

    @property
    def display_name(self) -> str:
        return self.client_name or "Unnamed application"


class DotApplication(AbstractApplication):
    """What django-oauth-toolkit serves for one ``OAuthApplication`` (``OAUTH2_PROVIDER_APPLICATION_MODEL``).

    ``OAuthApplication`` stays the audited source of truth; the oauth services write this
    row in the same transaction (``fleetadmin.oauth.dot.sync``), so the toolkit's string
    columns always mirror it. The behaviour the toolkit takes from global settings is
    per application here, read from ``source``: enabled grants, URL validation, origins,
    the post-logout URI, and the auth service being enabled at all.
    """

    source = models.OneToOneField(OAuthApplication, on_delete=models.CASCADE, related_name="dot")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")

    class Meta(AbstractApplication.Meta):
        pass

    # Grants the toolkit asks about, by the toolkit's names, mapped to the platform's.
    _GRANTS = {
        AbstractApplication.GRANT_AUTHORIZATION_CODE: Grant.AUTHORIZATION_CODE,
        AbstractApplication.GRANT_IMPLICIT: Grant.IMPLICIT,
        AbstractApplication.GRANT_PASSWORD: Grant.PASSWORD,
        AbstractApplication.GRANT_DEVICE_CODE: Grant.DEVICE_CODE,
    }

    def allows_grant_type(self, *grant_types: str) -> bool:
        enabled = set(self.source.enabled_grants)
        return any(self._GRANTS.get(grant) in enabled for grant in grant_types)

    def allows_refresh(self) -> bool:
        return Grant.REFRESH_TOKEN in self.source.enabled_grants

    def redirect_uri_allowed(self, uri: str) -> bool:
        from fleetadmin.oauth.dot import uri_allowed

        return uri_allowed(uri, self.source.redirect_uris, self.source.url_validation)

    def post_logout_redirect_uri_allowed(self, uri: str) -> bool:
        from fleetadmin.oauth.dot import uri_allowed

        return bool(self.source.logout_uri) and uri_allowed(uri, [self.source.logout_uri], UrlValidation.EXACT_MATCH)

    def origin_allowed(self, origin: str) -> bool:
        return origin in self.source.origin_uris

    def is_usable(self, request) -> bool:
        service = AuthService.objects.filter(organization_id=self.organization_id).values_list("enabled", flat=True)
        return bool(service.first())

    @property
    def jwk_key(self):
        from fleetadmin.oauth.signing import current_key

        return current_key().jwk
