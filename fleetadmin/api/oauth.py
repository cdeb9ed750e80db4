"""The auth service, its branding and its OAuth applications, over the same services as the web UI."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

from django.core.exceptions import ValidationError
from django.urls import reverse
from ninja import Router, Schema, Status

from fleetadmin.api.scope import organization_act, organization_for
from fleetadmin.api.types import one_of
from fleetadmin.oauth import rules, selectors, services
from fleetadmin.oauth.models import OAuthApplication

router = Router(tags=["Auth service and OAuth applications"])


ClientAuthentication = one_of(rules.ClientAuthentication.values)
Pkce = one_of(rules.Pkce.values)
UrlValidation = one_of(rules.UrlValidation.values)
GrantName = one_of(rules.Grant.values)


class AuthServiceOut(Schema):
    organization_id: uuid.UUID
    enabled: bool
    support_email: str
    logo_url: str | None


class LogoIn(Schema):
    png_base64: str


class LogoOut(Schema):
    url: str | None
    size: int | None = None
    width: int | None = None
    height: int | None = None


class SupportEmailIn(Schema):
    support_email: str


class SupportEmailOut(Schema):
    support_email: str | None


class AppIn(Schema):
    client_name: str = ""
    client_authentication: ClientAuthentication
    pkce: Pkce
    url_validation: UrlValidation
    enabled_grants: list[GrantName]
    redirect_uris: list[str]
    logout_uri: str
    origin_uris: list[str] = []
    invite_redirect_uri: str = ""


class AppUpdateIn(Schema):
    client_name: str | None = None
    client_authentication: ClientAuthentication | None = None
    pkce: Pkce | None = None
    url_validation: UrlValidation | None = None
    enabled_grants: list[GrantName] | None = None
    redirect_uris: list[str] | None = None
    logout_uri: str | None = None
    origin_uris: list[str] | None = None
    invite_redirect_uri: str | None = None


class AppOut(Schema):
    client_id: uuid.UUID
    organization_id: uuid.UUID
    client_name: str
    client_authentication: str
    pkce: str
    url_validation: str
    enabled_grants: list[str]
    redirect_uris: list[str]
    logout_uri: str
    origin_uris: list[str]
    invite_redirect_uri: str
    created_at: datetime
    updated_at: datetime


class AppCreatedOut(AppOut):
    client_secret: str
    warnings: list[str]


class SecretOut(Schema):
    client_id: uuid.UUID
    client_secret: str


def _logo_url(request, service) -> str | None:
    if not service.has_logo:
        return None
    path = reverse("oauth:logo", args=[service.organization_id])
    return request.build_absolute_uri(f"{path}?v={service.logo_version}")


def _service_out(request, organization) -> dict:
    service = selectors.get_auth_service(organization)
    return {
        "organization_id": organization.pk,
        "enabled": service.enabled,
        "support_email": service.support_email,
        "logo_url": _logo_url(request, service),
    }


def _app_out(app: OAuthApplication) -> dict:
    return {
        "client_id": app.pk,
        "organization_id": app.organization_id,
        **services.app_config(app),
        "created_at": app.created_at,
        "updated_at": app.updated_at,
    }


def _readable(request, org_id):
    return organization_for(request, org_id, "oauth.view")


@router.get("/organizations/{org_id}/auth-service", response=AuthServiceOut, summary="The auth service's state")
def get_auth_service(request, org_id: uuid.UUID):
    return _service_out(request, _readable(request, org_id))


@router.post("/organizations/{org_id}/auth-service/enable", response=AuthServiceOut, summary="Enable the auth service")
def enable(request, org_id: uuid.UUID):
    return _service_out(request, organization_act(request, org_id, services.auth_service_enable))


@router.post(
    "/organizations/{org_id}/auth-service/disable",
    response=AuthServiceOut,
    summary="Disable the auth service (configuration kept)",
)
def disable(request, org_id: uuid.UUID):
    return _service_out(request, organization_act(request, org_id, services.auth_service_disable))


@router.put("/organizations/{org_id}/logo", response=LogoOut, summary="Set the logo (PNG, at most 200 KB)")
def set_logo(request, org_id: uuid.UUID, body: LogoIn):
    organization = organization_for(request, org_id)
    try:
        data = base64.b64decode(body.png_base64, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError({"png_base64": "must be the PNG file's bytes in base64"}) from None
    service = services.logo_set(actor=request.auth, organization=organization, data=data)
    return {
        "url": _logo_url(request, service),
        "size": service.logo_size,
        "width": service.logo_width,
        "height": service.logo_height,
    }


@router.get("/organizations/{org_id}/logo", response=LogoOut, summary="The logo's URL, or null")
def get_logo(request, org_id: uuid.UUID):
    service = selectors.get_auth_service(_readable(request, org_id))
    if not service.has_logo:
        return {"url": None}
    return {
        "url": _logo_url(request, service),
        "size": service.logo_size,
        "width": service.logo_width,
        "height": service.logo_height,
    }


@router.delete("/organizations/{org_id}/logo", response={204: None}, summary="Remove the logo")
def remove_logo(request, org_id: uuid.UUID):
    organization_act(request, org_id, services.logo_remove)
    return Status(204, None)


@router.put("/organizations/{org_id}/support-email", response=SupportEmailOut, summary="Set the support email")
def set_support_email(request, org_id: uuid.UUID, body: SupportEmailIn):
    organization = organization_for(request, org_id)
    service = services.support_email_set(actor=request.auth, organization=organization, email=body.support_email)
    return {"support_email": service.support_email}


@router.get("/organizations/{org_id}/support-email", response=SupportEmailOut, summary="The support email")
def get_support_email(request, org_id: uuid.UUID):
    service = selectors.get_auth_service(_readable(request, org_id))
    return {"support_email": service.support_email or None}


@router.get("/organizations/{org_id}/oauth-apps", response=list[AppOut], summary="List OAuth applications")
def list_apps(request, org_id: uuid.UUID):
    organization = _readable(request, org_id)
    return [_app_out(app) for app in selectors.visible_apps(request.auth, organization).order_by("created_at")]


@router.post("/organizations/{org_id}/oauth-apps", response={201: AppCreatedOut}, summary="Create an OAuth application")
def create_app(request, org_id: uuid.UUID, body: AppIn):
    organization = organization_for(request, org_id)
    issued = services.oauth_app_create(actor=request.auth, organization=organization, **body.dict())
    return Status(201, {**_app_out(issued.app), "client_secret": issued.client_secret, "warnings": issued.warnings})


@router.get("/organizations/{org_id}/oauth-apps/{client_id}", response=AppOut, summary="Read an OAuth application")
def read_app(request, org_id: uuid.UUID, client_id: uuid.UUID):
    organization = _readable(request, org_id)
    return _app_out(selectors.get_app_for(request.auth, organization, client_id))


@router.patch(
    "/organizations/{org_id}/oauth-apps/{client_id}",
    response=AppOut,
    summary="Update any subset of an OAuth application's fields",
)
def update_app(request, org_id: uuid.UUID, client_id: uuid.UUID, body: AppUpdateIn):
    organization = _readable(request, org_id)
    app = selectors.get_app_for(request.auth, organization, client_id)
    changes = body.dict(exclude_unset=True, exclude_none=True)
    app = services.oauth_app_update(actor=request.auth, app=app, **changes)
    return _app_out(app)


@router.delete("/organizations/{org_id}/oauth-apps/{client_id}", response={204: None}, summary="Delete an OAuth app")
def delete_app(request, org_id: uuid.UUID, client_id: uuid.UUID):
    organization = _readable(request, org_id)
    services.oauth_app_delete(actor=request.auth, app=selectors.get_app_for(request.auth, organization, client_id))
    return Status(204, None)


@router.post(
    "/organizations/{org_id}/oauth-apps/{client_id}/rotate-secret",
    response={201: SecretOut},
    summary="Issue a new client secret (shown once)",
)
def rotate_secret(request, org_id: uuid.UUID, client_id: uuid.UUID):
    organization = _readable(request, org_id)
    app = selectors.get_app_for(request.auth, organization, client_id)
    issued = services.oauth_app_rotate_secret(actor=request.auth, app=app)
    return Status(201, {"client_id": issued.app.pk, "client_secret": issued.client_secret})
