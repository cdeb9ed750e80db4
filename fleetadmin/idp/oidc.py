"""The OAuth2/OIDC request validator: django-oauth-toolkit's, made per organization and per application.

The toolkit decides from global settings what each application here decides for
itself. This class is where that changes:

- every client lookup is scoped to the issuer's organization, and refused while its
  auth service is disabled (``DotApplication.is_usable``);
- client secrets are checked against the audited ``OAuthApplication`` (peppered HMAC),
  so a rotated secret stops at once;
- ``client_authentication`` and ``pkce`` follow the application's policy, including
  the two conditional values;
- a refresh token is issued and accepted only when the ``refresh_token`` grant is enabled;
- an authorization code is claimed once; presenting it again revokes what it issued;
- the issuer in id_tokens and discovery is ``<base>/oidc/<org-id>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from urllib.parse import unquote_plus

from django.db import transaction
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc8628.grant_types import DeviceCodeGrant

from fleetadmin import clock
from fleetadmin.idp import auth, selectors
from fleetadmin.idp.context import current
from fleetadmin.idp.models import AccessToken, DeviceGrant, EndUser, Grant, RefreshToken
from fleetadmin.oauth.models import ClientAuthentication, DotApplication, Pkce
from fleetadmin.oauth.services import client_secret_matches

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_STEP_SECONDS = 5


def _client_policy(client: DotApplication) -> str:
    return client.source.client_authentication


class Validator(OAuth2Validator):
    # ---- clients -----------------------------------------------------------------------------

    def _load_application(self, client_id, request):
        cached = request.client
        if isinstance(cached, DotApplication) and cached.client_id == client_id:
            return cached
        request.client = None
        client = selectors.issuer_client(current().organization, client_id)
        if client is None or not client.is_usable(request):
            return None
        request.client = client
        return client

    def _presented_credentials(self, request) -> tuple[str | None, str | None]:
        auth_string = self._extract_basic_auth(request)
        if auth_string:
            try:
                decoded = base64.b64decode(auth_string, validate=True).decode("utf-8")
                client_id, client_secret = map(unquote_plus, decoded.split(":", 1))
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None, None
            return client_id, client_secret
        secret = getattr(request, "client_secret", None)
        return (request.client_id, secret) if secret else (None, None)

    def _secret_presented(self, request) -> bool:
        return bool(self._extract_basic_auth(request) or getattr(request, "client_secret", None))

    def authenticate_client(self, request, *args, **kwargs):
        client_id, secret = self._presented_credentials(request)
        request.fa_client_authenticated = False
        if not client_id or not secret:
            return False
        if request.client_id and request.client_id != client_id:
            return False
        client = self._load_application(client_id, request)
        if client is None or not client_secret_matches(client.source, secret):
            request.client = None
            return False
        request.client_id = client_id
        request.fa_client_authenticated = True
        return True

    def authenticate_client_id(self, client_id, request, *args, **kwargs):
        # Reached only when the application's policy waives client authentication for this request.
        return self._load_application(client_id, request) is not None

    def client_authentication_required(self, request, *args, **kwargs):
        if self._secret_presented(request):
            return True  # a secret that is presented is always checked
        client = self._load_application(request.client_id, request)
        if client is None:
            return True
        if current().endpoint == "introspect":
            return True  # introspection is for the organization's confidential clients
        policy = _client_policy(client)
        if policy == ClientAuthentication.NOT_REQUIRED:
            return False
        if policy == ClientAuthentication.NOT_REQUIRED_WHEN_USING_PKCE:
            if request.grant_type == "authorization_code":
                return not (request.code_verifier and self._grant_challenge(request.code, client))
            # Refresh tokens of this client were issued only by exchanges that used PKCE or
            # authenticated (the password grant has no PKCE, so it required authentication).
            # device_code and password have no PKCE, so the client must authenticate.
            return request.grant_type != "refresh_token"
        return True  # required, unspecified

    def _grant_challenge(self, code, client) -> str:
        if not code:
            return ""
        value = Grant.objects.filter(code=code, application=client).values_list("code_challenge", flat=True).first()
        return value or ""

    def is_pkce_required(self, client_id, request):
        client = self._load_application(client_id, request)
        if client is None:
            return True
        policy = client.source.pkce
        if policy == Pkce.NOT_REQUIRED:
            return False
        if policy == Pkce.NOT_REQUIRED_WHEN_USING_CLIENT_AUTHENTICATION:
            if request.grant_type is None:
                return False  # at the authorization endpoint; the token endpoint decides
            return not getattr(request, "fa_client_authenticated", False)
        return True  # required, unspecified

    # ---- grants ------------------------------------------------------------------------------

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        if grant_type == "refresh_token":
            return request.client.allows_refresh()
        if grant_type == "client_credentials":
            return False
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        """Claim the code once. A second exchange fails and revokes every token the first one issued."""
        grant = Grant.objects.select_related("user").filter(code=code, application=client).first()
        if grant is None:
            return False
        claimed = Grant.objects.filter(pk=grant.pk, used_at__isnull=True).update(used_at=clock.now())
        if not claimed:
            revoke_issued_from(grant)
            return False
        if grant.is_expired() or grant.user.is_disabled:
            return False
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        request.fa_grant = grant
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            import json

            request.claims = json.loads(grant.claims)
        return True

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        """The code was claimed in validate_code; its row stays so that a replay can be recognized."""

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        grant = getattr(request, "fa_grant", None)
        if grant is not None:
            AccessToken.objects.filter(pk=access_token.pk).update(from_grant=grant)
        return access_token

    def save_bearer_token(self, token, request, *args, **kwargs):
        if request.client is not None and not request.client.allows_refresh():
            token.pop("refresh_token", None)
        saved = super().save_bearer_token(token, request, *args, **kwargs)
        grant = getattr(request, "fa_grant", None)
        if grant is not None and token.get("refresh_token"):
            checksum = hashlib.sha256(token["refresh_token"].encode("utf-8")).hexdigest()
            family = RefreshToken.objects.filter(token_checksum=checksum).values_list("token_family", flat=True).first()
            Grant.objects.filter(pk=grant.pk).update(token_family=family)
        return saved

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        if valid and (request.user is None or request.user.is_disabled):
            return False
        return valid

    def validate_user(self, username, password, client, request, *args, **kwargs):
        """The legacy password grant, when the application enables it: the same throttled check as the sign-in page."""
        result = auth.authenticate(
            organization=current().organization,
            email=username,
            password=password,
            address=request.headers.get("REMOTE_ADDR", ""),
        )
        if result.end_user is None:
            return False
        request.user = result.end_user
        return True

    # ---- device flow (RFC 8628) -----------------------------------------------------------------

    def validate_device_code(self, client_id, code, request):
        with transaction.atomic():
            device = (
                DeviceGrant.objects.select_for_update()
                .filter(device_code=code, client_id=client_id, organization=current().organization)
                .first()
            )
            if device is None:
                return None
            now = clock.now()
            if device.status == DeviceGrant.EXPIRED or now >= device.expires:
                device.status = DeviceGrant.EXPIRED
                device.save(update_fields=["status"])
                return DeviceCodeGrant.DEVICE_CODE_EXPIRED
            if device.status == DeviceGrant.DENIED:
                return DeviceCodeGrant.DEVICE_CODE_DENIED
            if device.status == DeviceGrant.AUTHORIZED and device.user is not None:
                request.user = device.user
                request.scopes = device.scope.split() or ["openid"]
                device.delete()  # one device code, one set of tokens
                return DeviceCodeGrant.DEVICE_CODE_AUTHORIZED
            too_fast = device.polls > 0 and (now - device.last_checked).total_seconds() < device.interval
            device.polls += 1
            if too_fast:
                device.interval += SLOW_DOWN_STEP_SECONDS
            device.save(update_fields=["polls", "interval", "last_checked"])
            return DeviceCodeGrant.DEVICE_CODE_SLOW_DOWN if too_fast else DeviceCodeGrant.DEVICE_CODE_PENDING

    # ---- resource access ---------------------------------------------------------------------

    def validate_bearer_token(self, token, scopes, request):
        if not super().validate_bearer_token(token, scopes, request):
            return False
        issuer = current()
        if request.client.organization_id != issuer.organization.pk or not issuer.enabled:
            return False
        return request.user is not None and not request.user.is_disabled

    def _load_access_token(self, token):
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        return (
            AccessToken.objects.select_related("application", "application__source", "user")
            .filter(token_checksum=checksum)
            .first()
        )

    def introspect_token(self, token, token_type_hint, request, *args, **kwargs):
        issuer = current()
        if not getattr(request, "fa_client_authenticated", False) or not issuer.enabled:
            return None
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        access = self._load_access_token(token) if token_type_hint != "refresh_token" else None  # noqa: S105 -- a hint name
        if access is not None and access.application.organization_id == issuer.organization.pk:
            if not access.is_valid() or access.user is None or access.user.is_disabled:
                return None
            return {
                "active": True,
                "scope": access.scope,
                "client_id": access.application.client_id,
                "token_type": "Bearer",
                "exp": int(access.expires.timestamp()),
                "sub": str(access.user.pk),
                "email": access.user.email,
                "iss": issuer.url,
            }
        refresh = (
            RefreshToken.objects.select_related("application", "user")
            .filter(token_checksum=checksum, revoked__isnull=True)
            .first()
        )
        if refresh is not None and refresh.application.organization_id == issuer.organization.pk:
            if refresh.user.is_disabled:
                return None
            return {
                "active": True,
                "scope": refresh.access_token.scope if refresh.access_token else "",
                "client_id": refresh.application.client_id,
                "token_type": "refresh_token",
                "sub": str(refresh.user.pk),
                "iss": issuer.url,
            }
        return None

    # ---- OpenID Connect ----------------------------------------------------------------------

    def get_oidc_issuer_endpoint(self, request):
        return current().url

    def get_additional_claims(self, request):
        user: EndUser = request.user
        return {"email": user.email, "email_verified": user.email_verified, "name": user.name}


def revoke_issued_from(grant: Grant) -> None:
    """Revoke the access and refresh tokens an authorization code was exchanged for (RFC 6749 §4.1.2)."""
    with transaction.atomic():
        if grant.token_family:
            RefreshToken.revoke_family(grant.token_family)
        AccessToken.objects.filter(from_grant=grant).delete()
