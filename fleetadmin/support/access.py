"""How support staff are judged by ``fleet.authz.can``: the actors built from a ticket-scoped grant.

A support engineer is never given a membership. Instead, while a grant is active,
requests for that one organization run as a ``SupportActor`` (built by
``SupportAccessMiddleware`` or by a support view), which offers ``fleet_grants()``
exactly as an API key's principal does:

* ``organization_operator`` on the organization: every read permission of the
  existing table holds and every write permission is refused, so the customer's
  own screens render read-only, with no secrets (operators never see one);
* ``support_agent`` on the organization: the role of the ``support.*`` action
  permissions, and of nothing else.

Actions on a customer's behalf then run the customer's own service with a
``SupportActionActor`` for the length of that one call; see its docstring.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from fleetadmin import clock
from fleetadmin.audit.context import bind_request_context, current_request_context
from fleetadmin.core.actors import ActorIdentity, ActorType
from fleetadmin.fleet.authz import SUPPORT_AGENT, Grant
from fleetadmin.fleet.models import Organization, Role
from fleetadmin.support.models import SupportGrant


def support_identity(user) -> ActorIdentity:
    """How the audit log names a support engineer: actor type ``support``, whatever their other roles."""
    return ActorIdentity(type=ActorType.SUPPORT, id=str(user.pk), name=user.email)


class SupportActor:
    """A support engineer reading one organization under one grant: the actor of that organization's pages.

    ``SupportAccessMiddleware`` sets it as ``request.user`` for the request, because the
    customer's views take their actor from there; support views pass it explicitly. It is
    not a proxy: it answers what those pages, their decorators (``login_required``) and the
    portal's middleware ask of a signed-in user, from the real user, and nothing else, so
    any other attribute is an ``AttributeError`` rather than the real user's (with the
    user's memberships, staff flags and permissions). Its grants vanish the instant the grant
    ends or expires, even in the middle of a request.
    """

    is_support_grant = True
    is_authenticated = True
    is_anonymous = False

    def __init__(self, user, grant: SupportGrant):
        self.user = user
        self.grant = grant

    def __str__(self) -> str:
        return str(self.user)

    def __repr__(self) -> str:
        return f"<SupportActor {self.user.email} grant={self.grant.pk}>"

    @property
    def pk(self):
        return self.user.pk

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def is_support(self) -> bool:
        """Still support staff: the sidebar links back to the console."""
        return self.user.is_support

    def is_verified(self) -> bool:
        """Signed in with a second factor in this session (set on the user by django-otp's middleware)."""
        verified = getattr(self.user, "is_verified", None)
        return bool(verified and verified())

    @property
    def ticket(self) -> str:
        return self.grant.ticket

    def fleet_grants(self) -> list[Grant]:
        if not self.grant.is_active(clock.now()):
            return []
        organization_id = self.grant.organization_id
        return [
            Grant(role=Role.ORGANIZATION_OPERATOR, organization_id=organization_id),
            Grant(role=SUPPORT_AGENT, organization_id=organization_id),
        ]

    def audit_identity(self) -> ActorIdentity:
        return support_identity(self.user)


class SupportActionActor:
    """Owner-equivalent on one organization, for exactly one call to one of the customer's own services.

    The customer's services (``api_key_delete``, ``oauth_app_rotate_secret`` ...) check
    their own permissions (``keys.manage``, ``oauth.manage``), which a read-only
    ``SupportActor`` does not hold. This is safe because:

    * only ``fleetadmin.support.services`` builds one (through ``acting_for``), and only
      after ``authz.require(support_actor, "support.<action>", obj)`` has confirmed that
      the engineer holds an *active* grant on the object's organization and that the
      action is one of the short list support may take;
    * it lives for one service call inside that function and is never stored on a
      request, so no view, template or later call can use it;
    * its grant is confined to the grant's organization, and the service re-checks its
      own permission against it, so even that one call cannot reach another organization;
    * the audit log records the call as the support engineer (actor type ``support``)
      with the grant's ticket, never as the customer.
    """

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_support = False

    def __init__(self, support_actor: SupportActor, organization: Organization):
        if support_actor.grant.organization_id != organization.pk:
            raise ValueError("A support action acts only in the organization of its grant.")
        self._support_actor = support_actor
        self._organization_id = organization.pk

    def __repr__(self) -> str:
        return f"<SupportActionActor {self._support_actor.user.email} org={self._organization_id}>"

    @property
    def pk(self):
        return self._support_actor.user.pk

    @property
    def email(self) -> str:
        return self._support_actor.user.email

    def fleet_grants(self) -> list[Grant]:
        if not self._support_actor.grant.is_active(clock.now()):
            return []
        return [Grant(role=Role.ORGANIZATION_OWNER, organization_id=self._organization_id)]

    def audit_identity(self) -> ActorIdentity:
        return self._support_actor.audit_identity()


@contextmanager
def acting_for(actor: SupportActor, organization: Organization) -> Iterator[SupportActionActor]:
    """The actor for one service call on the customer's behalf, with the grant's ticket bound for audit.record()."""
    context = replace(current_request_context(), ticket=actor.ticket)
    with bind_request_context(context):
        yield SupportActionActor(actor, organization)


def latest_grant(user, organization_id) -> SupportGrant | None:
    """The user's most recent grant on the organization, active or not (one indexed query)."""
    return (
        SupportGrant.objects.filter(staff=user, organization_id=organization_id)
        .select_related("organization")
        .order_by("-created_at")
        .first()
    )
