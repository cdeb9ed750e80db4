"""Ticket-scoped access: a support engineer's time-limited, read-only view of one organization."""

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from fleetadmin.fleet.models import Organization


class SupportGrant(models.Model):
    """One support engineer's access to one organization, for one ticket, until ``expires_at``.

    Rows are written only by ``support_grant_open`` and ``support_grant_end``; nothing
    moves ``expires_at``, so a grant cannot be extended: when it runs out the engineer
    opens a new one, stating the ticket again, and the customer's audit log shows both.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_grants")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="support_grants")
    ticket = models.CharField(max_length=64)
    reason = models.TextField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The middleware's lookup on every customer page a support engineer opens.
            models.Index(fields=["staff", "organization", "-created_at"], name="support_grant_staff_org"),
            models.Index(fields=["staff", "-created_at"], name="support_grant_staff_newest"),
            # The customer's "who has access now" list.
            models.Index(fields=["organization", "ended_at", "expires_at"], name="support_grant_org_active"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=F("created_at")), name="support_grant_expires_after"),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("created_at")), name="support_grant_ends_after"
            ),
        ]

    def __str__(self) -> str:
        return f"ticket {self.ticket}"

    def is_active(self, now: datetime) -> bool:
        return self.ended_at is None and self.expires_at > now

    def ended_or_expired_at(self) -> datetime:
        return self.ended_at or self.expires_at
