"""The auth service's rules, stated once: the platform's enums, the limits and their messages.

The models, the validation, the web forms, the JSON API's schemas and the CLI's options
all read these names; nothing else spells the values or the numbers again. The module
imports no app (only Django's ``TextChoices``), so the CLI can import it too.

Messages here never start with the field's name: the channel says which field (the web
form shows the message under the field's label, the API and CLI prefix ``field: `` once).
"""

from django.db import models

from fleetadmin.core.text import accepted, one_of, shown  # noqa: F401 -- one_of: the rules speak it


class ClientAuthentication(models.TextChoices):
    """The platform's ``client_authentication`` values, spelled exactly as its CLI takes them."""

    UNSPECIFIED = "unspecified", "Unspecified (platform default)"
    REQUIRED = "required", "Required"
    NOT_REQUIRED = "not_required", "Not required"
    NOT_REQUIRED_WHEN_USING_PKCE = "not_required_when_using_pkce", "Not required when the client uses PKCE"


class Pkce(models.TextChoices):
    UNSPECIFIED = "unspecified", "Unspecified (platform default)"
    REQUIRED = "required", "Required"
    NOT_REQUIRED = "not_required", "Not required"
    NOT_REQUIRED_WHEN_USING_CLIENT_AUTHENTICATION = (
        "not_required_when_using_client_authentication",
        "Not required when the client authenticates",
    )


class UrlValidation(models.TextChoices):
    UNSPECIFIED = "unspecified", "Unspecified (platform default)"
    EXACT_MATCH = "exact_match", "Exact match"
    ALLOW_WILDCARDS = "allow_wildcards", "Allow wildcards"


class Grant(models.TextChoices):
    AUTHORIZATION_CODE = "authorization_code", "Authorization code"
    IMPLICIT = "implicit", "Implicit"
    PASSWORD = "password", "Password"
    REFRESH_TOKEN = "refresh_token", "Refresh token"
    DEVICE_CODE = "device_code", "Device code"


# The single-valued enumerations of an OAuth application, by field name.
CHOICE_FIELDS: dict[str, type[models.TextChoices]] = {
    "client_authentication": ClientAuthentication,
    "pkce": Pkce,
    "url_validation": UrlValidation,
}

CLIENT_SECRET_PREFIX = "fas_"  # noqa: S105 -- a greppable prefix, not a secret

MAX_URIS = 100
MAX_URI_LENGTH = 2048
MAX_CLIENT_NAME_LENGTH = 100

LOGO_MAX_BYTES = 200 * 1024  # 204,800 bytes: the platform's documented "at most 200 KB"
LOGO_MIN_SIDE = 16
LOGO_MAX_SIDE = 4096
LOGO_MAX_PIXELS = LOGO_MAX_SIDE * LOGO_MAX_SIDE


def unknown_grant(got: str) -> str:
    return f"'{shown(got)}' is not a grant; accepted: {accepted(Grant.values)}"


def logo_too_large(size: int) -> str:
    return f"the file is {size:,} bytes; a logo is at most 200 KB ({LOGO_MAX_BYTES:,} bytes)"
