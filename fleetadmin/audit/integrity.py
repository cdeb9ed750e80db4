"""Verifying the per-organization hash chains, and pruning old events without breaking them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from fleetadmin import audit, clock
from fleetadmin.audit.hashing import HASHED_FIELDS, event_hash
from fleetadmin.audit.models import AuditEvent, ChainCheckpoint, ChainVerification, PrunePermit, organization_model
from fleetadmin.core.actors import SYSTEM, Actor

CHUNK = 5000
PRUNE_BATCH = 10_000
# The web button's bounded check: the latest events only, so the request stays short on a long chain.
WEB_VERIFY_LIMIT = 20_000


@dataclass(frozen=True)
class VerificationResult:
    organization_id: object
    ok: bool
    events_checked: int
    first_bad_event_id: int | None
    message: str


def _chain_start(organization_id) -> tuple[int, str]:
    """(last pruned event id, its hash): where the remaining chain must resume."""
    checkpoint = (
        ChainCheckpoint.objects.filter(organization_id=organization_id).order_by("-last_pruned_event_id").first()
    )
    return (checkpoint.last_pruned_event_id, checkpoint.last_pruned_hash) if checkpoint else (0, "")


def _bounded_start(organization_id, limit: int, after_id: int, expected_prev: str) -> tuple[int, str, bool]:
    """Where to start so that only the latest ``limit`` events are walked: (after id, its hash, bounded?)."""
    start = (
        AuditEvent.objects.filter(organization_id=organization_id, id__gt=after_id)
        .order_by("-id")
        .values_list("id", "hash")[limit : limit + 1]
    )
    row = next(iter(start), None)
    return (row[0], row[1], True) if row else (after_id, expected_prev, False)


def verify_chain(organization_id, *, limit: int | None = None) -> VerificationResult:
    """Walk one organization's chain in id order; report the first event whose content or link is wrong.

    Read-only: ``run_chain_verification`` is the one place that keeps the result (and audits it). With
    ``limit``, only the latest ``limit`` events are walked (their first link is taken on trust): the bounded
    check the web button runs; ``audit_verify`` walks the whole chain.
    """
    after_id, expected_prev = _chain_start(organization_id)
    bounded = False
    if limit is not None:
        after_id, expected_prev, bounded = _bounded_start(organization_id, limit, after_id, expected_prev)
    fields = ("id", *(f for f in HASHED_FIELDS if f != "organization_id"), "organization_id", "prev_hash", "hash")
    checked = 0
    result = None
    events = AuditEvent.objects.filter(organization_id=organization_id).only(*fields).order_by("id")
    while result is None:
        chunk = list(events.filter(id__gt=after_id)[:CHUNK])
        for event in chunk:
            if event.prev_hash != expected_prev:
                result = VerificationResult(
                    organization_id,
                    False,
                    checked,
                    event.id,
                    f"Event {event.id} does not link to the event before it: an event was removed or reordered.",
                )
                break
            if event_hash(event, event.prev_hash) != event.hash:
                result = VerificationResult(
                    organization_id,
                    False,
                    checked,
                    event.id,
                    f"Event {event.id} does not match its hash: its content was changed after it was recorded.",
                )
                break
            expected_prev = event.hash
            checked += 1
        else:
            if len(chunk) < CHUNK:
                scope = f"the latest {checked} events" if bounded else f"{checked} events"
                result = VerificationResult(organization_id, True, checked, None, f"Verified {scope}.")
            else:
                after_id = chunk[-1].id
    return result


def run_chain_verification(*, actor: Actor, organization_id, limit: int | None = None) -> VerificationResult:
    """The audited verification: walk the chain, keep a ChainVerification row and an ``audit.chain.verify`` event.

    Runs outside a request too (``audit_verify`` calls it with SYSTEM). The walk is read-only and runs before
    the transaction; the row and the event commit together, so the event records a result that is kept.
    """
    result = verify_chain(organization_id, limit=limit)
    organization = organization_model().objects.filter(pk=organization_id).first()
    with transaction.atomic():
        ChainVerification.objects.create(
            organization_id=organization_id,
            verified_at=clock.now(),
            ok=result.ok,
            events_checked=result.events_checked,
            first_bad_event_id=result.first_bad_event_id,
            message=result.message,
        )
        audit.record(
            actor=actor,
            action="audit.chain.verify",
            organization=organization,
            changes={
                "ok": result.ok,
                "events_checked": result.events_checked,
                "first_bad_event_id": result.first_bad_event_id,
                "scope": "full" if limit is None else f"latest {limit}",
            },
        )
    return result


def organizations_with_events() -> list:
    return list(AuditEvent.objects.order_by().values_list("organization_id", flat=True).distinct())


def _allow_prune_in_this_transaction() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL fleetadmin.audit_prune = 'on'")
    else:
        PrunePermit.objects.create()


def _close_prune_permit() -> None:
    """Withdraw the permission at once, even if a caller's transaction goes on after the prune."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL fleetadmin.audit_prune = 'off'")
        else:
            cursor.execute(f"DELETE FROM {PrunePermit._meta.db_table}")  # noqa: S608 -- constant table name


def audit_prune(*, before: datetime, organization_id) -> int:
    """Remove one organization's events recorded before ``before``, oldest first, in batches.

    Each batch commits with a checkpoint holding the hash of the last event it removed, so the
    chain stays verifiable from there even if the command stops half-way. Records one
    ``audit.log.prune`` event (by ``system``) saying what was removed.
    """
    table = AuditEvent._meta.db_table
    total = 0
    while True:
        with transaction.atomic():
            batch = list(
                AuditEvent.objects.filter(organization_id=organization_id, created_at__lt=before)
                .order_by("id")
                .values_list("id", "hash")[:PRUNE_BATCH]
            )
            if not batch:
                break
            _allow_prune_in_this_transaction()
            # Delete the whole prefix up to the batch's last event, so what remains is always a suffix of the chain.
            org_field = AuditEvent._meta.get_field("organization").target_field
            if organization_id is None:
                where, params = "organization_id IS NULL", []
            else:
                where, params = "organization_id = %s", [org_field.get_db_prep_value(organization_id, connection)]
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table} WHERE {where} AND id <= %s", [*params, batch[-1][0]])  # noqa: S608
                deleted = cursor.rowcount
            _close_prune_permit()
            ChainCheckpoint.objects.create(
                organization_id=organization_id,
                last_pruned_event_id=batch[-1][0],
                last_pruned_hash=batch[-1][1],
                pruned_count=deleted,
                pruned_before=before,
            )
            total += deleted
    if total:
        organization = organization_model().objects.filter(pk=organization_id).first() if organization_id else None
        with transaction.atomic():
            audit.record(
                actor=SYSTEM,
                action="audit.log.prune",
                organization=organization,
                changes={"after": {"pruned_events": total, "recorded_before": before.isoformat()}},
            )
    return total
