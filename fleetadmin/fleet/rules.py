"""The fleet's roles, defined once: the models, the services, the API schemas, the forms and the CLI read them here.

Like ``keys.rules`` and ``oauth.rules``, this module imports no app (only Django's ``TextChoices``),
so the CLI can import it too.
"""

from django.db import models

from fleetadmin.core.text import one_of


class Role(models.TextChoices):
    """Roles named exactly as the platform names them."""

    ORGANIZATION_OWNER = "organization_owner", "Organization owner"
    ORGANIZATION_OPERATOR = "organization_operator", "Organization operator"
    LOCATION_OWNER = "location_owner", "Location owner"
    LOCATION_OPERATOR = "location_operator", "Location operator"
    ROBOT_OWNER = "robot_owner", "Machine owner"
    ROBOT_OPERATOR = "robot_operator", "Machine operator"


# The roles an invitation or a membership change can give (machine roles come with machine-scoped keys only).
INVITABLE_ROLES = (
    Role.ORGANIZATION_OWNER,
    Role.ORGANIZATION_OPERATOR,
    Role.LOCATION_OWNER,
    Role.LOCATION_OPERATOR,
)
INVITABLE_ROLE_VALUES = tuple(role.value for role in INVITABLE_ROLES)


def unknown_role(got: str) -> str:
    return one_of(INVITABLE_ROLE_VALUES, got)
