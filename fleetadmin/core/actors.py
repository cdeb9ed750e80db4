"""Who acts: the identity every actor gives the audit log, and the actor for commands and migrations.

Services take ``actor: Actor``; a portal user, an API key, support staff under a grant and
``SYSTEM`` all satisfy the protocol, so the audit log and ``fleet.authz`` treat them alike.
"""

from dataclasses import dataclass
from typing import Protocol

from django.db import models


class ActorType(models.TextChoices):
    USER = "user", "User"
    API_KEY = "api_key", "API key"
    SUPPORT = "support", "Support staff"
    SYSTEM = "system", "System"


@dataclass(frozen=True)
class ActorIdentity:
    type: str
    id: str
    name: str


class Actor(Protocol):
    def audit_identity(self) -> ActorIdentity: ...


class _System:
    """The actor for management commands and data migrations."""

    is_authenticated = True

    def audit_identity(self) -> ActorIdentity:
        return ActorIdentity(type=ActorType.SYSTEM, id="", name="system")

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = _System()
