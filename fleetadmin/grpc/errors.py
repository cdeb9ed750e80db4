"""The gRPC side of the error table: each exception the services raise becomes one status code.

Outside reach (the selectors' 404) is NOT_FOUND, beyond role (``authz.require``) is
PERMISSION_DENIED, bad input (``ValidationError``) is INVALID_ARGUMENT with the message the web
form and the JSON API show, a duplicate is ALREADY_EXISTS, and an API key that cannot be used is
UNAUTHENTICATED with the JSON API's reason. Anything else is INTERNAL with no detail (it is logged).
"""

from __future__ import annotations

import logging
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.http import Http404
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from fleetadmin.core.errors import DuplicateSubmission, validation_message
from fleetadmin.keys.auth import AuthenticationFailed

logger = logging.getLogger(__name__)


def invalid(field: str, problem: str) -> GRPCError:
    return GRPCError(Status.INVALID_ARGUMENT, f"{field}: {problem}")


def parse_uuid(value: str, field: str) -> uuid.UUID:
    """Ids in requests are UUIDs; anything else is refused before any lookup."""
    if not value:
        raise invalid(field, "required; send the UUID of the resource")
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        raise invalid(field, f"must be a UUID; got {value[:60]!r}") from None


def to_grpc_error(error: BaseException, method: str) -> GRPCError:
    if isinstance(error, GRPCError):
        return error
    if isinstance(error, AuthenticationFailed):
        return GRPCError(Status.UNAUTHENTICATED, error.message)
    if isinstance(error, Http404):
        return GRPCError(Status.NOT_FOUND, str(error) or "Not found.")
    if isinstance(error, PermissionDenied):
        return GRPCError(Status.PERMISSION_DENIED, str(error) or "You do not have permission to do this.")
    if isinstance(error, ValidationError):
        return GRPCError(Status.INVALID_ARGUMENT, validation_message(error))
    if isinstance(error, DuplicateSubmission):
        return GRPCError(Status.ALREADY_EXISTS, str(error))
    if isinstance(error, IntegrityError):
        return GRPCError(Status.ALREADY_EXISTS, "That conflicts with an existing record.")
    logger.exception("gRPC %s failed", method)
    return GRPCError(Status.INTERNAL, f"{method} failed on the server; the error is logged.")
