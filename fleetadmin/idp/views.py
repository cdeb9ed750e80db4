"""The end-user side of an organization's auth service, under ``/oidc/<org-id>``.

Protocol endpoints (discovery, JWKS, authorize, token, userinfo, revoke, introspect,
end_session, device_authorization) are django-oauth-toolkit's machinery, run inside
``idp.context.using(issuer)`` so that the validator speaks for this organization.
The branded pages (sign in, signed out, forgot / reset password, invitation, device
code) use their own small layout. An unknown organization is a 404 everywhere.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from jwcrypto import jwk, jwt
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauth2_provider.views import RevokeTokenView, TokenView, UserInfoView
from oauthlib.oauth2 import DeviceApplicationServer
from oauthlib.oauth2.rfc6749 import errors as oauth_errors

from fleetadmin.core.support_pages import support_visible
from fleetadmin.core.web import client_ip
from fleetadmin.idp import auth, context, selectors, services, sessions
from fleetadmin.idp.models import AccessToken
from fleetadmin.idp.oidc import DEVICE_GRANT, Validator
from fleetadmin.oauth import selectors as oauth_selectors
from fleetadmin.oauth import signing
from fleetadmin.oauth.models import DotApplication

SCOPES = list(settings.OAUTH2_PROVIDER["SCOPES"])


# ---- helpers ---------------------------------------------------------------------------------------


def _brand(issuer: context.Issuer) -> dict:
    return {"brand": issuer.organization, "service": issuer.service, "issuer": issuer}


def _form_targets(issuer: context.Issuer) -> list[str]:
    """Origins a form on these pages may end up at: a sign-in POST redirects on to the app's redirect URI."""
    origins = set()
    for redirect_uris, invite_redirect_uri in selectors.redirect_targets(issuer.organization):
        for uri in [*(redirect_uris or []), invite_redirect_uri]:
            parts = urlsplit(uri or "")
            if parts.scheme in ("http", "https") and parts.netloc:
                origins.add(f"{parts.scheme}://{parts.netloc}")
    return sorted(origins)


def _page(request, issuer, template, extra=None, status=200) -> HttpResponse:
    response = render(request, template, {**_brand(issuer), **(extra or {})}, status=status)
    add_never_cache_headers(response)
    # The portal's policy, except that form-action also names the applications' origins: browsers apply
    # form-action to every redirect after a form POST, and sign-in ends at the application's redirect URI.
    targets = " ".join(_form_targets(issuer))
    if targets:
        response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", f"form-action 'self' {targets}"
        )
    return response


def error_page(request, issuer, title: str, message: str, status: int = 400) -> HttpResponse:
    """Errors we must not redirect for (unknown client, unregistered redirect URI): shown on our own host."""
    return _page(request, issuer, "idp/error.html", {"title": title, "message": message}, status=status)


def _local_next(issuer: context.Issuer, value: str) -> str:
    """Only a path under this issuer may follow sign-in; anything else falls back to the account page."""
    prefix = f"/oidc/{issuer.organization.pk}/"
    parts = urlsplit(value or "")
    if parts.scheme or parts.netloc or not value.startswith(prefix) or "\\" in value:
        return ""
    return value


def _org_origins(issuer: context.Issuer) -> set[str]:
    return selectors.allowed_origins(issuer.organization)


def _cors(request: HttpRequest, response: HttpResponse, allowed: set[str] | None) -> HttpResponse:
    """CORS headers for exactly the application's listed origins; anything else gets none."""
    for header in ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"):
        if header in response:
            del response[header]
    origin = request.headers.get("Origin")
    patch_vary_headers(response, ["Origin"])
    if origin and allowed and origin in allowed:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Max-Age"] = "600"
    return response


def _client_origins(issuer: context.Issuer, request: HttpRequest) -> set[str]:
    """Origins of the client a token/revoke request names (Basic auth or client_id in the body)."""
    client_id = request.POST.get("client_id", "")
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        import base64
        import binascii
        from urllib.parse import unquote_plus

        try:
            client_id = unquote_plus(base64.b64decode(header[6:], validate=True).decode().split(":", 1)[0])
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return set()
    app = _client(issuer, client_id)
    return set(app.source.origin_uris) if app else set()


def _client(issuer: context.Issuer, client_id: str) -> DotApplication | None:
    return selectors.issuer_client(issuer.organization, client_id)


def _json_error(error: str, description: str, status: int = 400) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    add_never_cache_headers(response)
    return response


# ---- discovery and keys ----------------------------------------------------------------------------


@support_visible("End-user sign-in: OpenID configuration")
@require_GET
def discovery(request: HttpRequest, org_id) -> JsonResponse:
    issuer = context.resolve(request, org_id)
    url = issuer.endpoint_url
    data = {
        "issuer": issuer.url,
        "authorization_endpoint": url("authorize"),
        "token_endpoint": url("token"),
        "userinfo_endpoint": url("userinfo"),
        "jwks_uri": url("jwks"),
        "revocation_endpoint": url("revoke"),
        "introspection_endpoint": url("introspect"),
        "end_session_endpoint": url("end_session"),
        "device_authorization_endpoint": url("device_authorization"),
        "response_types_supported": ["code", "token", "id_token", "id_token token"],
        "response_modes_supported": ["query", "fragment"],
        "grant_types_supported": ["authorization_code", "refresh_token", DEVICE_GRANT, "implicit", "password"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": SCOPES,
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "email",
            "email_verified",
            "name",
        ],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    }
    return _cors(request, JsonResponse(data), _org_origins(issuer))


@support_visible("End-user sign-in: signing keys")
@require_http_methods(["GET", "OPTIONS"])
def jwks(request: HttpRequest, org_id) -> HttpResponse:
    issuer = context.resolve(request, org_id)
    response = HttpResponse(status=204) if request.method == "OPTIONS" else JsonResponse(signing.jwks())
    response["Cache-Control"] = "public, max-age=300"
    return _cors(request, response, _org_origins(issuer))


@support_visible("End-user sign-in: logo")
@require_GET
def logo(request: HttpRequest, org_id) -> HttpResponse:
    issuer = context.resolve(request, org_id)
    stored = oauth_selectors.get_logo(issuer.organization)
    if stored is None:
        return HttpResponse(status=404)
    etag = f'"{stored.sha256}"'
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified()
    response = HttpResponse(stored.data, content_type="image/png")
    response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=3600"
    return response


# ---- authorization endpoint ------------------------------------------------------------------------


def _core() -> OAuthLibCore:
    return TokenView.get_oauthlib_core()


def _error_redirect(redirect_uri: str, error: str, description: str, state: str | None, fragment: bool) -> str:
    params = {"error": error, "error_description": description}
    if state:
        params["state"] = state
    return redirect_uri + ("#" if fragment else ("&" if "?" in redirect_uri else "?")) + urlencode(params)


@support_visible("End-user sign-in: authorization")
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest, org_id) -> HttpResponse:
    issuer = context.resolve(request, org_id)
    with context.using(issuer, "authorize"):
        if not issuer.enabled:
            return error_page(
                request, issuer, "Sign-in is unavailable", f"{issuer.organization.name} has turned sign-in off.", 403
            )
        core = _core()
        try:
            scopes, credentials = core.validate_authorization_request(request)
        except FatalClientError as error:
            return error_page(request, issuer, "This sign-in link is not valid", _fatal_message(error.oauthlib_error))
        except OAuthToolkitError as error:
            return redirect(error.oauthlib_error.in_uri(error.oauthlib_error.redirect_uri))
        fragment = credentials.get("response_type", "code") != "code"
        if credentials.get("code_challenge") and credentials.get("code_challenge_method") != "S256":
            return redirect(
                _error_redirect(
                    credentials["redirect_uri"],
                    "invalid_request",
                    "code_challenge_method must be S256; plain is not accepted",
                    credentials.get("state"),
                    fragment,
                )
            )
        end_user = sessions.current_end_user(request, issuer.organization)
        if end_user is None:
            if request.GET.get("prompt") == "none":
                return redirect(
                    _error_redirect(
                        credentials["redirect_uri"],
                        "login_required",
                        "The end user is not signed in.",
                        credentials.get("state"),
                        fragment,
                    )
                )
            return redirect(f"{issuer.endpoint_url('sign-in')}?{urlencode({'next': request.get_full_path()})}")
        uri, http_method, _, headers = core._extract_params(request)
        credentials["user"] = end_user
        try:
            headers, _, _ = core.server.create_authorization_response(
                uri=uri, http_method=http_method, headers=headers, scopes=scopes, credentials=credentials
            )
        except oauth_errors.FatalClientError as error:
            return error_page(request, issuer, "This sign-in link is not valid", _fatal_message(error))
        except oauth_errors.OAuth2Error as error:
            return redirect(error.in_uri(credentials["redirect_uri"]))
        response = HttpResponse(status=302)
        response["Location"] = headers["Location"]
        add_never_cache_headers(response)
        return response


def _fatal_message(error) -> str:
    if isinstance(error, oauth_errors.InvalidClientIdError | oauth_errors.MissingClientIdError):
        return "The application that sent you here is not registered with this organization (unknown client_id)."
    if isinstance(error, oauth_errors.MismatchingRedirectURIError | oauth_errors.InvalidRedirectURIError):
        return "The application asked to send you to an address it has not registered (redirect_uri)."
    if isinstance(error, oauth_errors.MissingRedirectURIError):
        return "The application did not say where to send you back (redirect_uri)."
    return f"The sign-in request is not valid ({error.error})."


# ---- token, userinfo, revoke, introspect ------------------------------------------------------------


@support_visible("End-user sign-in: token endpoint")
@method_decorator(csrf_exempt, name="dispatch")
class IssuerTokenView(TokenView):
    def dispatch(self, request, *args, **kwargs):
        issuer = context.resolve(request, kwargs["org_id"])
        if request.method == "OPTIONS":
            return _cors(request, HttpResponse(status=204), _org_origins(issuer))
        with context.using(issuer, "token"):
            response = super().dispatch(request, *args, **kwargs)
            add_never_cache_headers(response)
            return _cors(request, response, _client_origins(issuer, request))

    def post(self, request, *args, **kwargs):
        if request.POST.get("grant_type") == DEVICE_GRANT:
            _, headers, body, status = self.create_token_response(request)
            response = HttpResponse(body, status=status, content_type="application/json")
            for key, value in headers.items():
                response[key] = value
            return response
        return super().post(request, *args, **kwargs)


def _token_origins(issuer: context.Issuer, request: HttpRequest) -> set[str]:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return set()
    token = Validator()._load_access_token(header[7:].strip())
    if token is None or token.application.organization_id != issuer.organization.pk:
        return set()
    return set(token.application.source.origin_uris)


@support_visible("End-user sign-in: user info")
@method_decorator(csrf_exempt, name="dispatch")
class IssuerUserInfoView(UserInfoView):
    def dispatch(self, request, *args, **kwargs):
        issuer = context.resolve(request, kwargs["org_id"])
        if request.method == "OPTIONS":
            return _cors(request, HttpResponse(status=204), _org_origins(issuer))
        with context.using(issuer, "userinfo"):
            response = super().dispatch(request, *args, **kwargs)
            add_never_cache_headers(response)
            return _cors(request, response, _token_origins(issuer, request))


@support_visible("End-user sign-in: token revocation")
@method_decorator(csrf_exempt, name="dispatch")
class IssuerRevokeView(RevokeTokenView):
    def dispatch(self, request, *args, **kwargs):
        issuer = context.resolve(request, kwargs["org_id"])
        if request.method == "OPTIONS":
            return _cors(request, HttpResponse(status=204), _org_origins(issuer))
        with context.using(issuer, "revoke"):
            response = super().dispatch(request, *args, **kwargs)
            return _cors(request, response, _client_origins(issuer, request))


@support_visible("End-user sign-in: token introspection")
@csrf_exempt
@require_http_methods(["POST"])
def introspect(request: HttpRequest, org_id) -> HttpResponse:
    issuer = context.resolve(request, org_id)
    with context.using(issuer, "introspect"):
        core = _core()
        uri, http_method, body, headers = core._extract_params(request)
        headers, body, status = core.server.create_introspect_response(
            uri, http_method=http_method, body=body, headers=headers
        )
        response = HttpResponse(body, status=status, content_type="application/json")
        for key, value in headers.items():
            response[key] = value
        add_never_cache_headers(response)
        return response


# ---- device flow -----------------------------------------------------------------------------------


@support_visible("End-user sign-in: device authorization")
@csrf_exempt
@require_http_methods(["POST"])
def device_authorization(request: HttpRequest, org_id) -> HttpResponse:
    issuer = context.resolve(request, org_id)
    with context.using(issuer, "device_authorization"):
        client = _client(issuer, request.POST.get("client_id", "")) if issuer.enabled else None
        if client is None:
            return _json_error("invalid_client", "Unknown client_id for this issuer.", 401)
        if not client.allows_grant_type(DotApplication.GRANT_DEVICE_CODE):
            return _json_error("unauthorized_client", "The device_code grant is not enabled for this application.")
        server = DeviceApplicationServer(
            Validator(),
            verification_uri=issuer.endpoint_url("device"),
            verification_uri_complete=issuer.endpoint_url("device") + "?user_code={user_code}",
            interval=settings.OAUTH2_PROVIDER["DEVICE_FLOW_INTERVAL"],
        )
        core = OAuthLibCore(server)
        _, body, status = core.create_device_authorization_response(request)
        if status != 200:
            return HttpResponse(
                json.dumps(body) if isinstance(body, dict) else body, status=status, content_type="application/json"
            )
        data = body if isinstance(body, dict) else json.loads(body)
        scope = request.POST.get("scope", "").strip() or "openid"
        services.device_grant_start(
            organization=issuer.organization,
            client_id=client.client_id,
            device_code=data["device_code"],
            user_code=data["user_code"],
            scope=scope,
            interval=data.get("interval", 5),
            expires_in=int(data.get("expires_in", 1800)),
        )
        response = JsonResponse(data)
        add_never_cache_headers(response)
        return response


@support_visible("End-user sign-in: device code")
@require_http_methods(["GET", "POST"])
def device(request: HttpRequest, org_id) -> HttpResponse:
    issuer = context.resolve(request, org_id)
    end_user = sessions.current_end_user(request, issuer.organization)
    if end_user is None:
        return redirect(f"{issuer.endpoint_url('sign-in')}?{urlencode({'next': request.get_full_path()})}")
    user_code = request.POST.get("user_code") or request.GET.get("user_code") or ""
    if not user_code:
        return _page(request, issuer, "idp/device.html", {"end_user": end_user})
    grant = selectors.pending_device_grant(issuer.organization, user_code)
    if grant is None:
        return _page(
            request,
            issuer,
            "idp/device.html",
            {
                "end_user": end_user,
                "user_code": user_code,
                "error": "That code is not valid or has expired. Check the code your device shows.",
            },
        )
    client = _client(issuer, grant.client_id)
    decision = request.POST.get("decision")
    if request.method == "POST" and decision in ("approve", "deny"):
        services.device_grant_decide(
            end_user=end_user, grant=grant, approve=decision == "approve", client_name=client.name if client else ""
        )
        return _page(request, issuer, "idp/device_done.html", {"approved": decision == "approve", "client": client})
    return _page(
        request, issuer, "idp/device.html", {"end_user": end_user, "grant": grant, "client": client, "confirm": True}
    )


# ---- sign in / out ---------------------------------------------------------------------------------


@support_visible("End-user sign-in")
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest, org_id) -> HttpResponse:
    issuer = context.resolve(request, org_id)
    next_url = _local_next(issuer, request.POST.get("next") or request.GET.get("next") or "")
    message = ""
    email = ""
    if request.method == "POST" and issuer.enabled:
        email = request.POST.get("email", "")
        result = auth.authenticate(
            organization=issuer.organization,
            email=email,
            password=request.POST.get("password", ""),
            address=client_ip(request) or "",
        )
        if result.end_user is not None:
            response = redirect(next_url or issuer.endpoint_url("account"))
            sessions.sign_in(response, result.end_user)
            return response
        message = result.message
    return _page(request, issuer, "idp/sign_in.html", {"next": next_url, "message": message, "email": email})


@support_visible("End-user sign-in: account")
@require_GET
def account(request: HttpRequest, org_id) -> HttpResponse:
    issuer = context.resolve(request, org_id)
    end_user = sessions.current_end_user(request, issuer.organization)
    if end_user is None:
        return redirect(issuer.endpoint_url("sign-in"))
    return _page(request, issuer, "idp/account.html", {"end_user": end_user})


@support_visible("End-user sign-in: end session")
@require_http_methods(["GET", "POST"])
def end_session(request: HttpRequest, org_id) -> HttpResponse:
    """RP-initiated logout: sign the end user out; redirect only to the application's logout_uri."""
    issuer = context.resolve(request, org_id)
    params = request.POST if request.method == "POST" else request.GET
    target = params.get("post_logout_redirect_uri", "")
    client_id = params.get("client_id", "")
    hint = params.get("id_token_hint", "")
    if hint and not client_id:
        client_id = _audience(hint)
    if target:
        client = _client(issuer, client_id)
        if client is None or not client.post_logout_redirect_uri_allowed(target):
            response = error_page(
                request,
                issuer,
                "You are signed out",
                "The application asked to send you to an address it has not registered as its logout URI, "
                "so you stay here.",
            )
            sessions.sign_out(request, response, issuer.organization)
            return response
        state = params.get("state")
        location = target + (("&" if "?" in target else "?") + urlencode({"state": state}) if state else "")
        response = HttpResponse(status=302)
        response["Location"] = location
    else:
        response = _page(request, issuer, "idp/signed_out.html")
    sessions.sign_out(request, response, issuer.organization)
    add_never_cache_headers(response)
    return response


def _audience(id_token: str) -> str:
    keyset = jwk.JWKSet()
    for key in signing.published_keys():
        keyset.add(key.jwk)
    try:
        token = jwt.JWT(jwt=id_token, key=keyset, check_claims=False)
        aud = json.loads(token.claims).get("aud")
    except Exception:  # an unreadable hint names no application
        return ""
    return aud[0] if isinstance(aud, list) and aud else (aud or "")


@support_visible("End-user sign-in: sign out")
@require_http_methods(["POST"])
def sign_out(request: HttpRequest, org_id) -> HttpResponse:
    issuer = context.resolve(request, org_id)
    response = _page(request, issuer, "idp/signed_out.html")
    sessions.sign_out(request, response, issuer.organization)
    return response


# ---- forgot / reset password, invitation -----------------------------------------------------------


def _base_url(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


@support_visible("End-user sign-in: forgotten password")
@require_http_methods(["GET", "POST"])
def forgot(request: HttpRequest, org_id) -> HttpResponse:
    issuer = context.resolve(request, org_id)
    sent = False
    if request.method == "POST" and issuer.enabled:
        services.request_password_reset(
            organization=issuer.organization, email=request.POST.get("email", ""), base_url=_base_url(request)
        )
        sent = True  # the same answer whether or not the account exists
    return _page(request, issuer, "idp/forgot.html", {"sent": sent})


@support_visible("End-user sign-in: new password")
@require_http_methods(["GET", "POST"])
def reset(request: HttpRequest, org_id, token: str) -> HttpResponse:
    issuer = context.resolve(request, org_id)
    user = services.reset_user(issuer.organization, token)
    if user is None:
        return error_page(request, issuer, "This link has expired", "Ask for a new password reset link.", 200)
    errors = []
    if request.method == "POST":
        password = request.POST.get("password", "")
        if password != request.POST.get("password2", ""):
            errors = ["The two passwords differ; type the same password twice."]
        else:
            try:
                services.end_user_reset_password(organization=issuer.organization, token=token, password=password)
            except ValidationError as error:
                errors = _messages(error)
            else:
                return redirect(issuer.endpoint_url("sign-in") + "?reset=1")
    return _page(request, issuer, "idp/set_password.html", {"errors": errors, "email": user.email, "mode": "reset"})


@support_visible("End-user sign-in: invitation")
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, org_id, token: str) -> HttpResponse:
    issuer = context.resolve(request, org_id)
    user = services.invitation_user(issuer.organization, token)
    if user is None:
        return error_page(request, issuer, "This invitation has expired", "Ask for a new invitation.", 200)
    errors = []
    if request.method == "POST":
        password = request.POST.get("password", "")
        if password != request.POST.get("password2", ""):
            errors = ["The two passwords differ; type the same password twice."]
        else:
            try:
                user = services.end_user_accept_invitation(
                    organization=issuer.organization, token=token, password=password
                )
            except ValidationError as error:
                errors = _messages(error)
            else:
                app = user.invited_client
                target = app.invite_redirect_uri if app is not None and app.invite_redirect_uri else ""
                response = redirect(target or issuer.endpoint_url("account"))
                auth.record_sign_in(user)
                sessions.sign_in(response, user)
                return response
    return _page(request, issuer, "idp/set_password.html", {"errors": errors, "email": user.email, "mode": "invite"})


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "message_dict"):
        return [message for messages in error.message_dict.values() for message in messages]
    return list(error.messages)


__all__ = ["AccessToken"]
