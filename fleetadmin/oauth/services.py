"""The only writers of the auth service, its branding and its OAuth applications.

Each change checks ``oauth.manage``, validates with ``fleetadmin.oauth.validation``
(the rules the web form shows inline, so the API gets the same ones) and records
one audit event in its transaction. A call that changes nothing records nothing.
The client secret exists only in the ``IssuedClient`` returned by create and
rotate; the database and the audit log see its hash or ``[redacted]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from fleetadmin import audit, clock
from fleetadmin.audit.services import REDACTED, diff
from fleetadmin.core.errors import DuplicateSubmission
from fleetadmin.fleet import authz
from fleetadmin.fleet.models import Organization
from fleetadmin.keys import tokens
from fleetadmin.oauth import dot, validation
from fleetadmin.oauth.models import AuthService, OAuthApplication
from fleetadmin.oauth.rules import CLIENT_SECRET_PREFIX


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class IssuedClient:
    """An application together with its client secret. The secret exists only in this object; show it once."""

    app: OAuthApplication
    client_secret: str

    @property
    def warnings(self) -> list[str]:
        return validation.grant_warnings(self.app.enabled_grants)


# ---- auth service and branding ---------------------------------------------------------------------


def _locked_service(organization: Organization) -> AuthService:
    """The organization's auth service row, created on first change, locked for this transaction."""
    service, _ = AuthService.objects.defer("logo").get_or_create(organization=organization)
    service = AuthService.objects.defer("logo").select_for_update().get(pk=service.pk)
    service.organization = organization
    return service


def _service_state(service: AuthService) -> dict[str, Any]:
    return {"enabled": service.enabled}


def _set_enabled(*, actor, organization: Organization, enabled: bool) -> AuthService:
    authz.require(actor, "oauth.manage", organization)
    service = _locked_service(organization)
    if service.enabled == enabled:
        return service
    before = _service_state(service)
    now = clock.now()
    service.enabled = enabled
    service.enabled_changed_at = now
    service.updated_at = now
    service.save(update_fields=["enabled", "enabled_changed_at", "updated_at"])
    audit.record(
        actor=actor,
        action=f"oauth.auth_service.{'enable' if enabled else 'disable'}",
        organization=organization,
        target=service,
        changes=diff(before, _service_state(service)),
    )
    return service


@transaction.atomic
def auth_service_enable(*, actor, organization: Organization) -> AuthService:
    """Let the organization's end users sign in; branding and applications are as they were left."""
    return _set_enabled(actor=actor, organization=organization, enabled=True)


@transaction.atomic
def auth_service_disable(*, actor, organization: Organization) -> AuthService:
    """Stop end-user sign-in. Nothing is deleted: enabling again restores the same configuration."""
    return _set_enabled(actor=actor, organization=organization, enabled=False)


LOGO_FIELDS = ["logo", "logo_sha256", "logo_size", "logo_width", "logo_height", "logo_updated_at", "updated_at"]


def _logo_facts(service: AuthService) -> dict[str, Any]:
    if not service.has_logo:
        return {"logo_sha256": None}
    return {
        "logo_sha256": service.logo_sha256,
        "logo_size": service.logo_size,
        "logo_width": service.logo_width,
        "logo_height": service.logo_height,
    }


@transaction.atomic
def logo_set(*, actor, organization: Organization, data: bytes) -> AuthService:
    """Store a new logo: a PNG proven by decoding, at most 200 KB, 16 to 4096 pixels a side."""
    authz.require(actor, "oauth.manage", organization)
    logo = validation.clean_logo(data)
    service = _locked_service(organization)
    if service.logo_sha256 == logo.sha256:
        return service
    before = _logo_facts(service)
    now = clock.now()
    service.logo = logo.data
    service.logo_sha256 = logo.sha256
    service.logo_size = logo.size
    service.logo_width = logo.width
    service.logo_height = logo.height
    service.logo_updated_at = now
    service.updated_at = now
    service.save(update_fields=LOGO_FIELDS)
    audit.record(
        actor=actor,
        action="oauth.logo.set",
        organization=organization,
        target=service,
        changes={"before": before, "after": _logo_facts(service)},
    )
    return service


@transaction.atomic
def logo_remove(*, actor, organization: Organization) -> AuthService:
    authz.require(actor, "oauth.manage", organization)
    service = _locked_service(organization)
    if not service.has_logo:
        return service
    before = _logo_facts(service)
    now = clock.now()
    service.logo = None
    service.logo_sha256 = ""
    service.logo_size = 0
    service.logo_width = None
    service.logo_height = None
    service.logo_updated_at = now
    service.updated_at = now
    service.save(update_fields=LOGO_FIELDS)
    audit.record(
        actor=actor,
        action="oauth.logo.remove",
        organization=organization,
        target=service,
        changes={"before": before, "after": _logo_facts(service)},
    )
    return service


@transaction.atomic
def support_email_set(*, actor, organization: Organization, email: str) -> AuthService:
    """The address end users write to for help; shown on the sign-in page. It cannot be empty."""
    authz.require(actor, "oauth.manage", organization)
    email = validation.clean_support_email(email)
    service = _locked_service(organization)
    before = service.support_email
    if email == before:
        return service
    service.support_email = email
    service.updated_at = clock.now()
    service.save(update_fields=["support_email", "updated_at"])
    audit.record(
        actor=actor,
        action="oauth.support_email.set",
        organization=organization,
        target=service,
        changes=diff({"support_email": before or None}, {"support_email": email}),
    )
    return service


# ---- OAuth applications ----------------------------------------------------------------------------


def app_config(app: OAuthApplication) -> dict[str, Any]:
    """The application's configuration, as the CLI's ``read`` shows it and the audit log records it."""
    return {name: getattr(app, name) for name in validation.APP_FIELDS}


def _creator(actor):
    from django.contrib.auth import get_user_model

    return actor if isinstance(actor, get_user_model()) else None


@transaction.atomic
def oauth_app_create(
    *,
    actor,
    organization: Organization,
    client_authentication: str,
    pkce: str,
    url_validation: str,
    enabled_grants: Iterable[str],
    redirect_uris: Iterable[str] | str,
    logout_uri: str,
    client_name: str = "",
    origin_uris: Iterable[str] | str = (),
    invite_redirect_uri: str = "",
    creation_token: str | None = None,
) -> IssuedClient:
    """Register an application. Returns it with its client secret, which is not stored and cannot be shown again."""
    authz.require(actor, "oauth.manage", organization)
    config = validation.validate_app_config(
        {
            "client_name": client_name,
            "client_authentication": client_authentication,
            "pkce": pkce,
            "url_validation": url_validation,
            "enabled_grants": enabled_grants,
            "redirect_uris": redirect_uris,
            "logout_uri": logout_uri,
            "origin_uris": origin_uris,
            "invite_redirect_uri": invite_redirect_uri,
        }
    )
    if creation_token:
        existing = OAuthApplication.objects.filter(creation_token=creation_token).first()
        if existing is not None:
            raise DuplicateSubmission(existing, f"OAuth application {existing.pk}")
    now = clock.now()
    secret = tokens.generate(CLIENT_SECRET_PREFIX)
    stored = tokens.hash_secret(secret)
    creator = _creator(actor)
    app = OAuthApplication(
        organization=organization,
        **config.as_dict(),
        secret_hash=stored.hash,
        pepper_id=stored.pepper_id,
        created_at=now,
        updated_at=now,
        created_by=creator,
        created_by_name=actor.audit_identity().name,
        creation_token=creation_token or None,
    )
    try:
        with transaction.atomic():
            app.save(force_insert=True)
    except IntegrityError:
        existing = OAuthApplication.objects.filter(creation_token=creation_token).first() if creation_token else None
        if existing is None:
            raise
        raise DuplicateSubmission(existing, f"OAuth application {existing.pk}") from None
    dot.sync(app)
    audit.record(
        actor=actor,
        action="oauth.oauth_app.create",
        organization=organization,
        target=app,
        changes={"after": {**app_config(app), "client_secret": REDACTED}},
    )
    return IssuedClient(app=app, client_secret=secret)


@transaction.atomic
def oauth_app_update(
    *,
    actor,
    app: OAuthApplication,
    client_name: str = UNSET,
    client_authentication: str = UNSET,
    pkce: str = UNSET,
    url_validation: str = UNSET,
    enabled_grants: Iterable[str] = UNSET,
    redirect_uris: Iterable[str] | str = UNSET,
    logout_uri: str = UNSET,
    origin_uris: Iterable[str] | str = UNSET,
    invite_redirect_uri: str = UNSET,
) -> OAuthApplication:
    """Change any subset of the configuration; fields not given keep their values.

    The merged configuration is validated as a whole, so changing ``pkce`` alone is
    refused when it clashes with the stored ``client_authentication``.
    """
    authz.require(actor, "oauth.manage", app.organization)
    app = OAuthApplication.objects.select_for_update().select_related("organization").get(pk=app.pk)
    given = {
        "client_name": client_name,
        "client_authentication": client_authentication,
        "pkce": pkce,
        "url_validation": url_validation,
        "enabled_grants": enabled_grants,
        "redirect_uris": redirect_uris,
        "logout_uri": logout_uri,
        "origin_uris": origin_uris,
        "invite_redirect_uri": invite_redirect_uri,
    }
    before = app_config(app)
    merged = {name: before[name] if value is UNSET else value for name, value in given.items()}
    after = validation.validate_app_config(merged).as_dict()
    changed = [name for name in validation.APP_FIELDS if after[name] != before[name]]
    if not changed:
        return app
    for name in changed:
        setattr(app, name, after[name])
    app.updated_at = clock.now()
    app.save(update_fields=[*changed, "updated_at"])
    dot.sync(app)
    audit.record(
        actor=actor,
        action="oauth.oauth_app.update",
        organization=app.organization,
        target=app,
        changes=diff(before, after),
    )
    return app


@transaction.atomic
def oauth_app_rotate_secret(*, actor, app: OAuthApplication) -> IssuedClient:
    """Issue a new client secret. The old one stops working at once, as on the platform."""
    authz.require(actor, "oauth.manage", app.organization)
    app = OAuthApplication.objects.select_for_update().select_related("organization").get(pk=app.pk)
    secret = tokens.generate(CLIENT_SECRET_PREFIX)
    stored = tokens.hash_secret(secret)
    now = clock.now()
    previous_rotation = app.secret_rotated_at
    app.secret_hash = stored.hash
    app.pepper_id = stored.pepper_id
    app.secret_rotated_at = now
    app.updated_at = now
    app.save(update_fields=["secret_hash", "pepper_id", "secret_rotated_at", "updated_at"])
    audit.record(
        actor=actor,
        action="oauth.oauth_app.rotate",
        organization=app.organization,
        target=app,
        changes={
            "before": {
                "client_secret": REDACTED,
                "secret_rotated_at": previous_rotation.isoformat() if previous_rotation else None,
            },
            "after": {"client_secret": REDACTED, "secret_rotated_at": now.isoformat()},
        },
    )
    return IssuedClient(app=app, client_secret=secret)


@transaction.atomic
def oauth_app_delete(*, actor, app: OAuthApplication) -> None:
    """Delete the application: its client ID and secret stop working at once. The audit log keeps its configuration."""
    authz.require(actor, "oauth.manage", app.organization)
    audit.record(
        actor=actor,
        action="oauth.oauth_app.delete",
        organization=app.organization,
        target=app,
        changes={"before": app_config(app)},
    )
    app.delete()


def client_secret_matches(app: OAuthApplication, presented: str) -> bool:
    """For the future token endpoint: a constant-time check of a presented client secret."""
    if not tokens.is_well_formed(presented, CLIENT_SECRET_PREFIX):
        return False
    return tokens.verify(presented, tokens.StoredSecret(hash=app.secret_hash, pepper_id=app.pepper_id))
