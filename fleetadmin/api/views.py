from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from fleetadmin.api.auth import api_actor
from fleetadmin.keys.auth import ApiKeyPrincipal


@csrf_exempt
@require_GET
@api_actor
def whoami(request):
    actor = request.actor
    if isinstance(actor, ApiKeyPrincipal):
        key = actor.key
        return JsonResponse(
            {
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
        )
    return JsonResponse({"type": "user", "email": actor.email, "user_id": str(actor.pk)})
