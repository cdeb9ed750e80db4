"""The preamble every organization endpoint shares: the organization the path names, scoped to the caller.

Outside the caller's reach is a 404 (``get_organization_for``); ``permission``, when given, is checked
through ``fleet.authz`` (403 without it). A write's own permission is its service's to check, so
``organization_act`` names none: the endpoint is then "organization -> service -> out" in one line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fleetadmin.fleet import authz
from fleetadmin.fleet.models import Organization
from fleetadmin.fleet.selectors import get_organization_for


def organization_for(request, org_id, permission: str | None = None) -> Organization:
    organization = get_organization_for(request.auth, org_id)
    if permission is not None:
        authz.require(request.auth, permission, organization)
    return organization


def organization_act(request, org_id, service: Callable[..., Any], **arguments) -> Organization:
    """Call ``service(actor=<caller>, organization=<the organization>, **arguments)``; returns the organization."""
    organization = organization_for(request, org_id)
    service(actor=request.auth, organization=organization, **arguments)
    return organization
