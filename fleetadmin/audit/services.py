"""The single writer of audit events."""

from typing import Any

from django.db import connection, models, transaction

from fleetadmin import clock
from fleetadmin.audit.context import current_request_context
from fleetadmin.audit.hashing import event_hash
from fleetadmin.audit.models import AuditEvent, organization_model, target_type_of

# Actors live in the kernel; these names stay importable from here for code written before it existed.
from fleetadmin.core.actors import SYSTEM, Actor, ActorIdentity  # noqa: F401

REDACTED = "[redacted]"
# Field names whose values are never written to the log, wherever they appear in `changes`.
SECRET_FIELD_NAMES = frozenset({"secret", "client_secret", "key_value", "password", "token", "secret_hash", "key_hash"})


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (REDACTED if k in SECRET_FIELD_NAMES else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The before/after of the fields that changed."""
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return {"before": {k: before.get(k) for k in changed}, "after": {k: after.get(k) for k in changed}}


NULL_ORGANIZATION_LOCK = 0x66_6C_65_65_74  # PostgreSQL advisory lock for the chain of events with no organization


def _chain_head(organization) -> str:
    """The hash the next event must link to, with appends serialized per organization.

    The organization's row lock (or, for events with no organization, an advisory lock on
    PostgreSQL; SQLite's IMMEDIATE transactions already serialize writers) is held until the
    transaction ends, so two writers can never link to the same head. A chain whose events
    were all pruned resumes from the checkpoint the prune left.
    """
    from fleetadmin.audit.models import ChainCheckpoint

    organization_id = organization.pk if organization is not None else None
    if organization is not None:
        organization_model().objects.select_for_update().filter(pk=organization_id).values_list("pk").first()
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [NULL_ORGANIZATION_LOCK])
    head = (
        AuditEvent.objects.filter(organization_id=organization_id)
        .order_by("-id")
        .values_list("hash", flat=True)
        .first()
    )
    if head is None:
        head = (
            ChainCheckpoint.objects.filter(organization_id=organization_id)
            .order_by("-last_pruned_event_id")
            .values_list("last_pruned_hash", flat=True)
            .first()
        )
    return head or ""


def record(
    *,
    actor: Actor,
    action: str,
    organization: models.Model | None,
    target: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    ticket: str = "",
) -> AuditEvent:
    """Append one event to the organization's audit chain.

    Must run inside the transaction that makes the change, so that the change
    and its record commit or roll back together.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record() must be called inside the transaction that makes the change.")
    identity = actor.audit_identity()
    context = current_request_context()
    prev_hash = _chain_head(organization)
    event = AuditEvent(
        created_at=clock.now(),
        organization_id=organization.pk if organization is not None else None,
        actor_type=identity.type,
        actor_id=identity.id[:64],
        actor_name=identity.name[:255],
        action=action,
        target_type=target_type_of(target) if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_name=str(target)[:255] if target is not None else "",
        changes=redact(changes or {}),
        request_id=context.request_id,
        ip=context.ip,
        user_agent=context.user_agent,
        ticket=ticket or context.ticket,
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event, prev_hash)
    event.save(force_insert=True)
    return event
