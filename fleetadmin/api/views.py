"""The JSON API, version 1: the same services as the web UI, typed endpoints, an OpenAPI schema."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI, Schema

from fleetadmin.api import audit, billing, end_users, errors, fleet, keys, members, oauth
from fleetadmin.api.auth import API_AUTH
from fleetadmin.keys.auth import ApiKeyPrincipal

api = NinjaAPI(
    title="fleetadmin API",
    version="1",
    description=(
        "Administer robot-fleet organizations: locations, machines, API keys, the auth service, OAuth "
        "applications, billing and the audit log. Authenticate with `Authorization: ApiKey <key-id>:<key-value>` "
        "or a signed-in portal session (send X-CSRFToken on writes). Errors are "
        '`{"error": {"code": ..., "message": ..., "fields": {...}}}`.'
    ),
    auth=API_AUTH,
    urls_namespace="api",
    docs_url="/docs",
)
errors.install(api)


class WhoAmIOut(Schema):
    type: str
    key_id: str | None = None
    name: str | None = None
    organization_id: str | None = None
    expires_at: str | None = None
    authorizations: list[dict[str, Any]] = []
    email: str | None = None
    user_id: str | None = None


@api.get("/whoami", response=WhoAmIOut, tags=["Session"], summary="Who the credentials belong to", exclude_none=True)
def whoami(request):
    actor = request.auth
    if isinstance(actor, ApiKeyPrincipal):
        key = actor.key
        return {
            "type": "api_key",
            "key_id": str(key.pk),
            "name": key.name,
            "organization_id": str(key.organization_id),
            "expires_at": key.expires_at.isoformat() if key.expires_at else None,
            "authorizations": [
                {"role": a.role, "resource_type": a.resource_type, "resource_id": str(a.resource_id)}
                for a in actor.authorizations
            ],
        }
    return {"type": "user", "email": actor.email, "user_id": str(actor.pk)}


api.add_router("/", fleet.router)
api.add_router("/", keys.router)
api.add_router("/", oauth.router)
api.add_router("/", end_users.router)
api.add_router("/", billing.router)
api.add_router("/", audit.router)
api.add_router("/", members.router)
