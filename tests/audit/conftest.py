"""Helpers for the audit-log tests: the one clock set for record(), event builders, and tampering.

Tampering has to get past the append-only triggers (migrations 0002 and 0004):

- PostgreSQL: ``SET LOCAL session_replication_role = replica`` turns triggers off for the
  transaction (the test database user is a superuser); deletes can also take the prune path
  (``SET LOCAL fleetadmin.audit_prune = 'on'``).
- SQLite: a row in audit_prunepermit lets DELETE through; for UPDATE the trigger is dropped
  and recreated from the migration's own SQL.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, models, transaction
from django.urls import reverse

from fleetadmin import audit
from fleetadmin.audit.hashing import event_hash
from fleetadmin.audit.models import AuditEvent, PrunePermit
from fleetadmin.core.actors import SYSTEM
from tests.conftest import FixedClock

TRIGGERS_0002 = importlib.import_module("fleetadmin.audit.migrations.0002_append_only_triggers")

HTMX = {"HTTP_HX_REQUEST": "true"}

# A fixed instant with non-zero fields everywhere, so a formatting slip shows.
T0 = datetime(2026, 11, 3, 14, 5, 9, 123456, tzinfo=UTC)


@pytest.fixture
def audit_clock(clock: FixedClock) -> FixedClock:
    """The suite's one clock (fleetadmin.clock.now, which audit.record reads), set to this module's T0.

    ``set(now, step)`` moves it; with a step, each reading moves it on (zero: every event gets the same
    created_at). Sessions and the rest of Django keep real time: only fleetadmin.clock is replaced.
    """
    clock.set(T0, step=timedelta(0))
    return clock


def record_event(organization, *, actor=SYSTEM, action="test.thing.touch", target=None, changes=None, ticket=""):
    """One event through the real writer, in its own transaction."""
    with transaction.atomic():
        return audit.record(
            actor=actor, action=action, organization=organization, target=target, changes=changes, ticket=ticket
        )


def record_many(organization, n: int, **kwargs) -> list[AuditEvent]:
    return [record_event(organization, **kwargs) for _ in range(n)]


def bulk_chain(organization, n: int, *, start: datetime = T0, action: str = "test.bulk.touch") -> None:
    """``n`` events appended in bulk, chained exactly as record() chains them (for volume tests only)."""
    head = AuditEvent.objects.filter(organization=organization).order_by("-id").values_list("hash", flat=True).first()
    prev_hash = head or ""
    for batch_start in range(0, n, 1000):
        batch = []
        for i in range(batch_start, min(n, batch_start + 1000)):
            event = AuditEvent(
                created_at=start + timedelta(milliseconds=i),
                organization_id=organization.pk,
                actor_type="system",
                actor_id="",
                actor_name="system",
                action=action,
                target_type="",
                target_id="",
                target_name="",
                changes={"after": {"n": i}},
                request_id="",
                ip=None,
                user_agent="",
                ticket="",
                prev_hash=prev_hash,
            )
            event.hash = event_hash(event, prev_hash)
            prev_hash = event.hash
            batch.append(event)
        AuditEvent.objects.bulk_create(batch)


def chain(organization) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(organization=organization).order_by("id"))


# ---- getting past the append-only triggers -------------------------------------------------------


@contextmanager
def _updates_allowed() -> Iterator[None]:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            yield
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            with connection.cursor() as cursor:
                cursor.execute("DROP TRIGGER audit_event_no_update")
            try:
                yield
            finally:
                with connection.cursor() as cursor:
                    cursor.execute(TRIGGERS_0002.SQLITE_FORWARD[0])  # CREATE TRIGGER audit_event_no_update ...


def tamper_update(event_id: int, **fields) -> None:
    """Change a stored event behind the application's back (the base QuerySet.update, triggers off)."""
    with _updates_allowed():
        updated = models.QuerySet.update(AuditEvent.objects.filter(pk=event_id), **fields)
    assert updated == 1


def tamper_swap(first: AuditEvent, second: AuditEvent) -> None:
    """Exchange the whole stored content (hashed fields, prev_hash and hash) of two events: a reordering."""
    names = [f.attname for f in AuditEvent._meta.concrete_fields if f.attname != "id"]
    with _updates_allowed():
        for target, source in ((first, second), (second, first)):
            models.QuerySet.update(
                AuditEvent.objects.filter(pk=target.pk), **{name: getattr(source, name) for name in names}
            )


def tamper_delete(event_id: int) -> None:
    """Remove one stored event through the database's prune path, outside audit_prune."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL fleetadmin.audit_prune = 'on'")
        else:
            PrunePermit.objects.create()
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event_id])
        assert cursor.rowcount == 1
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL fleetadmin.audit_prune = 'off'")
        else:
            cursor.execute("DELETE FROM audit_prunepermit")


def purge_audit_events() -> None:
    """Remove every event (for transactional tests: SQLite's flush DELETEs, which the trigger refuses)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL fleetadmin.audit_prune = 'on'")
        else:
            PrunePermit.objects.create()
        cursor.execute("DELETE FROM audit_auditevent")
        if connection.vendor != "postgresql":
            cursor.execute("DELETE FROM audit_prunepermit")


@pytest.fixture
def flushable_events(transactional_db) -> Iterator[None]:
    """For transaction=True tests that commit events: clear them before the database flush runs."""
    yield
    purge_audit_events()


# ---- URLs ----------------------------------------------------------------------------------------


def log_url(organization) -> str:
    return reverse("audit:log", args=[organization.pk])


def event_url(organization, event) -> str:
    return reverse("audit:event", args=[organization.pk, event.pk if hasattr(event, "pk") else event])


def export_url(organization, fmt: str) -> str:
    return reverse("audit:export", args=[organization.pk, fmt])


def verify_url(organization) -> str:
    return reverse("audit:verify", args=[organization.pk])
