"""Who is calling the JSON API: an API key (Authorization header) or a signed-in browser session."""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, JsonResponse

from fleetadmin.keys.auth import AuthenticationFailed, authenticate_request


def error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def api_actor(view: Callable) -> Callable:
    """Sets request.actor to the API key's principal or the session user; 401/429 JSON otherwise."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if "Authorization" in request.headers:
            try:
                request.actor = authenticate_request(request)
            except AuthenticationFailed as failure:
                response = error(failure.status, failure.code, failure.message)
                if failure.status == 401:
                    response["WWW-Authenticate"] = 'ApiKey realm="fleetadmin"'
                return response
        elif request.user.is_authenticated:
            request.actor = request.user
        else:
            return error(
                401, "missing_credentials", "Missing credentials: send 'Authorization: ApiKey <key-id>:<key-value>'."
            )
        return view(request, *args, **kwargs)

    return wrapper
