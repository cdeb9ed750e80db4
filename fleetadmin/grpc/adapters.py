"""One translation per RPC: protobuf request -> the existing selector or service -> protobuf response.

Nothing here decides: reach is the selectors' (404 -> NOT_FOUND), permission is
``fleet.authz`` inside the services (PERMISSION_DENIED), validation and its messages are the
services' (INVALID_ARGUMENT), and every write is audited by the service it calls. Each adapter
runs synchronously in a worker thread with the caller's request context bound (see server.py).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urljoin

from django.db.models import Count, Exists, OuterRef
from django.http import Http404
from django.urls import reverse
from google.protobuf.timestamp_pb2 import Timestamp
from viam.proto import app as pb

from fleetadmin.billing import branding
from fleetadmin.billing import selectors as billing_selectors
from fleetadmin.billing import services as billing_services
from fleetadmin.billing.address import Address
from fleetadmin.fleet import authz
from fleetadmin.fleet import selectors as fleet_selectors
from fleetadmin.grpc.errors import invalid, parse_uuid
from fleetadmin.keys import selectors as key_selectors
from fleetadmin.keys import services as key_services
from fleetadmin.keys.models import ApiKey, ApiKeyAuthorization, ResourceType
from fleetadmin.oauth import selectors as oauth_selectors
from fleetadmin.oauth import services as oauth_services
from fleetadmin.oauth.models import ClientAuthentication, Grant, Pkce, UrlValidation

# ListKeys has no page token in the platform's proto; it answers with the newest keys, at most this many
# (serve_grpc --list-keys-limit).
LIST_KEYS_LIMIT = 1000
AUTHORIZATION_TYPE = "role"


# ---- enums: the platform's proto enums are ours, prefixed and upper-cased -----------------------------


def _enum_table(proto_enum, prefix: str, ours) -> tuple[dict[int, str], dict[str, int]]:
    """proto number -> our value and back; fails at import if the two ever stop matching one to one."""
    to_ours = {number: name.removeprefix(prefix).lower() for name, number in proto_enum.items()}
    # The proto's grant 0 is "unspecified"; a grant set has no such member (the service refuses it).
    expected = {*ours.values, "unspecified"} if prefix == "ENABLED_GRANT_" else set(ours.values)
    if set(to_ours.values()) != expected:
        raise ImportError(f"{proto_enum.DESCRIPTOR.full_name} no longer matches {ours.__name__}")
    return to_ours, {value: number for number, value in to_ours.items()}


CLIENT_AUTHENTICATION = _enum_table(pb.ClientAuthentication, "CLIENT_AUTHENTICATION_", ClientAuthentication)
PKCE = _enum_table(pb.PKCE, "PKCE_", Pkce)
URL_VALIDATION = _enum_table(pb.URLValidation, "URL_VALIDATION_", UrlValidation)
ENABLED_GRANT = _enum_table(pb.EnabledGrant, "ENABLED_GRANT_", Grant)


def _ours(table, number: int) -> str:
    """Our value for a proto enum number; an unknown number is passed on as text for the service to refuse."""
    return table[0].get(number, str(number))


def _timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


class Adapters:
    """The RPCs fleetadmin serves, by their proto names. ``portal_url`` makes the web URLs absolute."""

    def __init__(self, portal_url: str, list_keys_limit: int = LIST_KEYS_LIMIT):
        self.portal_url = portal_url.rstrip("/") + "/"
        self.list_keys_limit = list_keys_limit

    def _absolute(self, path: str) -> str:
        return urljoin(self.portal_url, path.lstrip("/"))

    # ---- fleet ---------------------------------------------------------------------------------------

    def ListOrganizations(self, actor, request: pb.ListOrganizationsRequest) -> pb.ListOrganizationsResponse:
        organizations = fleet_selectors.visible_organizations(actor).order_by("name", "id")
        return pb.ListOrganizationsResponse(
            organizations=[
                pb.Organization(id=str(o.pk), name=o.name, created_on=_timestamp(o.created_at)) for o in organizations
            ]
        )

    def ListLocations(self, actor, request: pb.ListLocationsRequest) -> pb.ListLocationsResponse:
        organization = fleet_selectors.get_organization_for(
            actor, parse_uuid(request.organization_id, "organization_id")
        )
        locations = (
            fleet_selectors.visible_locations(actor, organization).annotate(robots=Count("machines")).order_by("path")
        )
        return pb.ListLocationsResponse(
            locations=[
                pb.Location(
                    id=str(location.pk),
                    name=location.name,
                    parent_location_id=str(location.parent_id or ""),
                    organizations=[pb.LocationOrganization(organization_id=str(organization.pk), primary=True)],
                    created_on=_timestamp(location.created_at),
                    robot_count=location.robots,
                )
                for location in locations
            ]
        )

    def _robots(self, machines) -> list[pb.Robot]:
        return [
            pb.Robot(id=str(m.pk), name=m.name, location=str(m.location_id), created_on=_timestamp(m.created_at))
            for m in machines
        ]

    def ListRobots(self, actor, request: pb.ListRobotsRequest) -> pb.ListRobotsResponse:
        location = fleet_selectors.find_location_for(actor, parse_uuid(request.location_id, "location_id"))
        machines = fleet_selectors.visible_machines(actor, location.organization).filter(location=location)
        return pb.ListRobotsResponse(robots=self._robots(machines.order_by("name", "id")))

    def ListRobotsForOrg(self, actor, request: pb.ListRobotsForOrgRequest) -> pb.ListRobotsForOrgResponse:
        organization = fleet_selectors.get_organization_for(actor, parse_uuid(request.org_id, "org_id"))
        machines = fleet_selectors.visible_machines(actor, organization).order_by("location__path", "name")
        return pb.ListRobotsForOrgResponse(robots=self._robots(machines))

    # ---- API keys ------------------------------------------------------------------------------------

    def _grant(self, actor, authorization: pb.Authorization, index: int):
        field = f"authorizations[{index}]"
        if authorization.authorization_type != AUTHORIZATION_TYPE:
            raise invalid(
                f"{field}.authorization_type",
                f"must be {AUTHORIZATION_TYPE!r}; got {authorization.authorization_type[:40]!r}",
            )
        resource_type = authorization.resource_type
        if resource_type not in ResourceType.values:
            raise invalid(
                f"{field}.resource_type",
                f"must be one of {', '.join(ResourceType.values)}; got {resource_type[:40]!r}",
            )
        resource_id = parse_uuid(authorization.resource_id, f"{field}.resource_id")
        if resource_type == ResourceType.ORGANIZATION:
            resource = fleet_selectors.get_organization_for(actor, resource_id)
            organization = resource
        elif resource_type == ResourceType.LOCATION:
            resource = fleet_selectors.find_location_for(actor, resource_id)
            organization = resource.organization
        else:
            resource = fleet_selectors.find_machine_for(actor, resource_id)
            organization = fleet_selectors.get_organization_for(actor, resource.organization_id)
        if authorization.organization_id:
            given = parse_uuid(authorization.organization_id, f"{field}.organization_id")
            if given != organization.pk:
                raise invalid(
                    f"{field}.organization_id", f"the {resource_type} {resource_id} is not in organization {given}"
                )
        # The role itself (authorization_id, "<resource_type>_<role>") is the service's to judge.
        return organization, key_services.Grant(role=authorization.authorization_id, resource=resource)

    def _key(self, actor, value: str, field: str = "id") -> ApiKey:
        key_id = parse_uuid(value, field)
        organization_id = ApiKey.objects.alive().filter(pk=key_id).values_list("organization_id", flat=True).first()
        if organization_id is None:
            raise Http404("No such API key.")
        organization = fleet_selectors.get_organization_for(actor, organization_id)
        return key_selectors.get_key_for(actor, organization, key_id)

    @staticmethod
    def _key_message(key: ApiKey) -> pb.APIKeyWithAuthorizations:
        return pb.APIKeyWithAuthorizations(
            api_key=pb.APIKey(id=str(key.pk), key="", name=key.name, created_on=_timestamp(key.created_at)),
            authorizations=[
                pb.AuthorizationDetails(
                    authorization_type=AUTHORIZATION_TYPE,
                    authorization_id=a.role,
                    resource_type=a.resource_type,
                    resource_id=str(a.resource_id),
                    org_id=str(a.organization_id),
                )
                for a in key.authorization_list()
            ],
        )

    def CreateKey(self, actor, request: pb.CreateKeyRequest) -> pb.CreateKeyResponse:
        if not request.authorizations:
            raise invalid("authorizations", "A key needs at least one authorization.")
        pairs = [self._grant(actor, a, i) for i, a in enumerate(request.authorizations)]
        issued = key_services.api_key_create(
            actor=actor, organization=pairs[0][0], grants=[grant for _, grant in pairs], name=request.name or None
        )
        return pb.CreateKeyResponse(id=str(issued.key.pk), key=issued.value)

    def ListKeys(self, actor, request: pb.ListKeysRequest) -> pb.ListKeysResponse:
        organization = fleet_selectors.get_organization_for(actor, parse_uuid(request.org_id, "org_id"))
        keys: list[ApiKey] = []
        cursor = ""
        while len(keys) < self.list_keys_limit:
            page = key_selectors.key_page(actor, organization, key_selectors.KeyFilters(), cursor=cursor)
            keys.extend(page.keys)
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        return pb.ListKeysResponse(api_keys=[self._key_message(k) for k in keys[: self.list_keys_limit]])

    def GetRobotAPIKeys(self, actor, request: pb.GetRobotAPIKeysRequest) -> pb.GetRobotAPIKeysResponse:
        machine = fleet_selectors.find_machine_for(actor, parse_uuid(request.robot_id, "robot_id"))
        on_machine = ApiKeyAuthorization.objects.filter(key=OuterRef("pk"), machine=machine)
        keys = (
            key_selectors.visible_keys(actor, machine.organization)
            .filter(Exists(on_machine))
            .order_by("-created_at", "-pk")
            .prefetch_related("authorizations")[: self.list_keys_limit]
        )
        return pb.GetRobotAPIKeysResponse(api_keys=[self._key_message(k) for k in keys])

    def RotateKey(self, actor, request: pb.RotateKeyRequest) -> pb.RotateKeyResponse:
        # The platform invalidates the old value at once: no grace period.
        issued = key_services.api_key_rotate(actor=actor, key=self._key(actor, request.id))
        return pb.RotateKeyResponse(id=str(issued.key.pk), key=issued.value)

    def DeleteKey(self, actor, request: pb.DeleteKeyRequest) -> pb.DeleteKeyResponse:
        key_services.api_key_delete(actor=actor, key=self._key(actor, request.id))
        return pb.DeleteKeyResponse()

    def RenameKey(self, actor, request: pb.RenameKeyRequest) -> pb.RenameKeyResponse:
        key = key_services.api_key_rename(actor=actor, key=self._key(actor, request.id), name=request.name)
        return pb.RenameKeyResponse(id=str(key.pk), name=key.name)

    def CreateKeyFromExistingKeyAuthorizations(
        self, actor, request: pb.CreateKeyFromExistingKeyAuthorizationsRequest
    ) -> pb.CreateKeyFromExistingKeyAuthorizationsResponse:
        issued = key_services.api_key_duplicate(actor=actor, key=self._key(actor, request.id))
        return pb.CreateKeyFromExistingKeyAuthorizationsResponse(id=str(issued.key.pk), key=issued.value)

    # ---- auth service and branding -------------------------------------------------------------------

    def _organization(self, actor, org_id: str):
        return fleet_selectors.get_organization_for(actor, parse_uuid(org_id, "org_id"))

    def _readable(self, actor, org_id: str, permission: str):
        organization = self._organization(actor, org_id)
        authz.require(actor, permission, organization)
        return organization

    def EnableAuthService(self, actor, request: pb.EnableAuthServiceRequest) -> pb.EnableAuthServiceResponse:
        oauth_services.auth_service_enable(actor=actor, organization=self._organization(actor, request.org_id))
        return pb.EnableAuthServiceResponse()

    def DisableAuthService(self, actor, request: pb.DisableAuthServiceRequest) -> pb.DisableAuthServiceResponse:
        oauth_services.auth_service_disable(actor=actor, organization=self._organization(actor, request.org_id))
        return pb.DisableAuthServiceResponse()

    def OrganizationSetLogo(self, actor, request: pb.OrganizationSetLogoRequest) -> pb.OrganizationSetLogoResponse:
        organization = self._organization(actor, request.org_id)
        oauth_services.logo_set(actor=actor, organization=organization, data=bytes(request.logo))
        return pb.OrganizationSetLogoResponse()

    def _logo_url(self, organization) -> str:
        logo_url = branding.branding_for(organization).logo_url
        return self._absolute(logo_url) if logo_url else ""

    def OrganizationGetLogo(self, actor, request: pb.OrganizationGetLogoRequest) -> pb.OrganizationGetLogoResponse:
        organization = self._readable(actor, request.org_id, "oauth.view")
        return pb.OrganizationGetLogoResponse(url=self._logo_url(organization))

    def OrganizationSetSupportEmail(
        self, actor, request: pb.OrganizationSetSupportEmailRequest
    ) -> pb.OrganizationSetSupportEmailResponse:
        organization = self._organization(actor, request.org_id)
        oauth_services.support_email_set(actor=actor, organization=organization, email=request.email)
        return pb.OrganizationSetSupportEmailResponse()

    def OrganizationGetSupportEmail(
        self, actor, request: pb.OrganizationGetSupportEmailRequest
    ) -> pb.OrganizationGetSupportEmailResponse:
        organization = self._readable(actor, request.org_id, "oauth.view")
        return pb.OrganizationGetSupportEmailResponse(
            email=oauth_selectors.get_auth_service(organization).support_email or ""
        )

    # ---- OAuth applications --------------------------------------------------------------------------

    @staticmethod
    def _config_in(config: pb.OAuthConfig) -> dict:
        return {
            "client_authentication": _ours(CLIENT_AUTHENTICATION, config.client_authentication),
            "pkce": _ours(PKCE, config.pkce),
            "url_validation": _ours(URL_VALIDATION, config.url_validation),
            "enabled_grants": [_ours(ENABLED_GRANT, g) for g in config.enabled_grants],
            "redirect_uris": list(config.redirect_uris),
            "logout_uri": config.logout_uri,
            "origin_uris": list(config.origin_uris),
            "invite_redirect_uri": config.invite_redirect_uri,
        }

    @staticmethod
    def _config_out(app) -> pb.OAuthConfig:
        return pb.OAuthConfig(
            client_authentication=CLIENT_AUTHENTICATION[1][app.client_authentication],
            pkce=PKCE[1][app.pkce],
            url_validation=URL_VALIDATION[1][app.url_validation],
            origin_uris=list(app.origin_uris),
            redirect_uris=list(app.redirect_uris),
            logout_uri=app.logout_uri,
            enabled_grants=[ENABLED_GRANT[1][g] for g in app.enabled_grants],
            invite_redirect_uri=app.invite_redirect_uri or "",
        )

    def _app(self, actor, org_id: str, client_id: str):
        organization = self._readable(actor, org_id, "oauth.view")
        return oauth_selectors.get_app_for(actor, organization, parse_uuid(client_id, "client_id"))

    def CreateOAuthApp(self, actor, request: pb.CreateOAuthAppRequest) -> pb.CreateOAuthAppResponse:
        organization = self._organization(actor, request.org_id)
        issued = oauth_services.oauth_app_create(
            actor=actor,
            organization=organization,
            client_name=request.client_name,
            **self._config_in(request.oauth_config),
        )
        return pb.CreateOAuthAppResponse(client_id=str(issued.app.pk), client_secret=issued.client_secret)

    def ListOAuthApps(self, actor, request: pb.ListOAuthAppsRequest) -> pb.ListOAuthAppsResponse:
        organization = self._readable(actor, request.org_id, "oauth.view")
        apps = oauth_selectors.visible_apps(actor, organization).order_by("created_at", "pk")
        return pb.ListOAuthAppsResponse(client_ids=[str(pk) for pk in apps.values_list("pk", flat=True)])

    def ReadOAuthApp(self, actor, request: pb.ReadOAuthAppRequest) -> pb.ReadOAuthAppResponse:
        app = self._app(actor, request.org_id, request.client_id)
        # fleetadmin keeps only the secret's hash: it was shown once, at creation or rotation.
        return pb.ReadOAuthAppResponse(
            client_name=app.client_name, client_secret="", oauth_config=self._config_out(app)
        )

    def UpdateOAuthApp(self, actor, request: pb.UpdateOAuthAppRequest) -> pb.UpdateOAuthAppResponse:
        app = self._app(actor, request.org_id, request.client_id)
        # The platform's message carries the whole configuration; without one it stays as it is, and an
        # empty client_name (proto3 cannot tell it from "not sent") keeps the current name.
        config = self._config_in(request.oauth_config) if request.HasField("oauth_config") else {}
        if request.client_name:
            config["client_name"] = request.client_name
        oauth_services.oauth_app_update(actor=actor, app=app, **config)
        return pb.UpdateOAuthAppResponse()

    def DeleteOAuthApp(self, actor, request: pb.DeleteOAuthAppRequest) -> pb.DeleteOAuthAppResponse:
        oauth_services.oauth_app_delete(actor=actor, app=self._app(actor, request.org_id, request.client_id))
        return pb.DeleteOAuthAppResponse()

    # ---- billing service -----------------------------------------------------------------------------

    @staticmethod
    def _address_in(request) -> Address:
        if not request.HasField("billing_address"):
            raise invalid("billing_address", "required: line 1, city, state, zipcode (line 2 and country optional)")
        a = request.billing_address
        # Not yet validated: the service re-checks every Address with the web form's rules and messages.
        return Address(
            line1=a.address_line_1,
            line2=a.address_line_2,
            city=a.city,
            state=a.state,
            zipcode=a.zipcode,
            country=a.country,
        )

    def EnableBillingService(self, actor, request: pb.EnableBillingServiceRequest) -> pb.EnableBillingServiceResponse:
        billing_services.billing_service_enable(
            actor=actor, organization=self._organization(actor, request.org_id), address=self._address_in(request)
        )
        return pb.EnableBillingServiceResponse()

    def UpdateBillingService(self, actor, request: pb.UpdateBillingServiceRequest) -> pb.UpdateBillingServiceResponse:
        billing_services.billing_service_update(
            actor=actor, organization=self._organization(actor, request.org_id), address=self._address_in(request)
        )
        return pb.UpdateBillingServiceResponse()

    def DisableBillingService(
        self, actor, request: pb.DisableBillingServiceRequest
    ) -> pb.DisableBillingServiceResponse:
        billing_services.billing_service_disable(actor=actor, organization=self._organization(actor, request.org_id))
        return pb.DisableBillingServiceResponse()

    def GetBillingServiceConfig(
        self, actor, request: pb.GetBillingServiceConfigRequest
    ) -> pb.GetBillingServiceConfigResponse:
        organization = self._readable(actor, request.org_id, "billing.view")
        address = billing_selectors.get_billing_service(organization).address
        brand = branding.branding_for(organization)
        return pb.GetBillingServiceConfigResponse(
            billing_address=pb.BillingAddress(
                address_line_1=address.line1,
                address_line_2=address.line2 or None,
                city=address.city,
                state=address.state,
                zipcode=address.zipcode,
                country=address.country,
            )
            if address
            else None,
            support_email=brand.support_email or "",
            logo_url=self._absolute(brand.logo_url) if brand.logo_url else "",
            billing_dashboard_url=self._absolute(reverse("billing_dashboard:dashboard", args=[organization.pk])),
        )


# The RPC names fleetadmin answers; every other AppService method is UNIMPLEMENTED.
SERVED = tuple(name for name in vars(Adapters) if name[:1].isupper() and callable(getattr(Adapters, name)))
