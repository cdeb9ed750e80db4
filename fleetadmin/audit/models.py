from django.db import models
from django.db.models import F
from django.db.models.functions import Upper

from fleetadmin.core.actors import ActorType


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove a recorded audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events are append-only; they cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Audit events are append-only; they cannot be deleted.")

    def for_organization(self, organization) -> "AuditEventQuerySet":
        return self.filter(organization=organization)


class AuditEvent(models.Model):
    """One recorded change (or support look) in an organization. Never updated, never deleted.

    Names of the actor and target are snapshots so the event still reads
    correctly after either is renamed or deleted. ``hash`` covers the event's
    canonical content and ``prev_hash`` links it to the previous event of the
    same organization, so an edit, removal or reordering is detectable.
    """

    created_at = models.DateTimeField(db_index=False)
    # No database-level foreign key: events outlive whatever they describe.
    organization = models.ForeignKey(
        "fleet.Organization",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_name = models.CharField(max_length=255, blank=True)
    action = models.CharField(max_length=100)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_name = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    ticket = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["organization", "-id"], name="audit_org_newest"),
            models.Index(fields=["organization", "action", "-id"], name="audit_org_action"),
            models.Index(fields=["organization", "target_type", "target_id", "-id"], name="audit_org_target"),
            models.Index(fields=["organization", "actor_type", "actor_id", "-id"], name="audit_org_actor"),
            models.Index(fields=["organization", "ticket", "-id"], name="audit_org_ticket"),
            # The actor filter matches names case-insensitively: index UPPER(actor_name), as iexact compiles.
            models.Index(F("organization"), Upper("actor_name"), F("id").desc(), name="audit_org_actor_upper"),
            models.Index(fields=["organization", "target_id", "-id"], name="audit_org_target_id"),
            # A bare search term matches target names case-insensitively (query.term_q).
            models.Index(F("organization"), Upper("target_name"), F("id").desc(), name="audit_org_target_upper"),
            models.Index(fields=["organization", "created_at"], name="audit_org_created"),
            models.Index(fields=["request_id"], name="audit_request"),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_name or self.actor_type} at {self.created_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events are append-only; they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events are append-only; they cannot be deleted.")

    @property
    def verb(self) -> str:
        return self.action.rsplit(".", 1)[-1]


def target_type_of(target: models.Model) -> str:
    """How an event names the kind of its target: the model's label, ``keys.apikey``."""
    return f"{target._meta.app_label}.{target._meta.model_name}"


def organization_model() -> type[models.Model]:
    """``fleet.Organization``, reached through the relation declared above rather than an import:
    ``fleet`` writes to the audit log, so the audit app must not import ``fleet``."""
    return AuditEvent._meta.get_field("organization").related_model


class ChainCheckpoint(models.Model):
    """Where an organization's chain resumes after pruning: the hash of the last removed event."""

    organization = models.ForeignKey(
        "fleet.Organization", on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    last_pruned_event_id = models.BigIntegerField()
    last_pruned_hash = models.CharField(max_length=64)
    pruned_count = models.BigIntegerField()
    pruned_before = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-last_pruned_event_id"]
        indexes = [models.Index(fields=["organization", "-last_pruned_event_id"], name="audit_checkpoint_org")]

    def __str__(self) -> str:
        return f"checkpoint after event {self.last_pruned_event_id}"


class ChainVerification(models.Model):
    """The outcome of one run of audit_verify for one organization, shown on its audit page."""

    organization = models.ForeignKey(
        "fleet.Organization", on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    verified_at = models.DateTimeField()
    ok = models.BooleanField()
    events_checked = models.BigIntegerField()
    first_bad_event_id = models.BigIntegerField(null=True, blank=True)
    message = models.CharField(max_length=500)

    class Meta:
        ordering = ["-verified_at"]
        indexes = [models.Index(fields=["organization", "-verified_at"], name="audit_verification_org")]

    def __str__(self) -> str:
        return f"{'ok' if self.ok else 'FAILED'} at {self.verified_at:%Y-%m-%d %H:%M}"


class PrunePermit(models.Model):
    """On SQLite, the presence of a row (inside audit_prune's own transaction) lets its DELETEs through.

    PostgreSQL uses a transaction-local setting instead; see migration 0003.
    """

    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"prune permit {self.pk}"
