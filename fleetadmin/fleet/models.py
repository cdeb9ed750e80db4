import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse

from fleetadmin.fleet.rules import Role

ORGANIZATION_ROLES = frozenset({Role.ORGANIZATION_OWNER, Role.ORGANIZATION_OPERATOR})
LOCATION_ROLES = frozenset({Role.LOCATION_OWNER, Role.LOCATION_OPERATOR})
MACHINE_ROLES = frozenset({Role.ROBOT_OWNER, Role.ROBOT_OPERATOR})
OWNER_ROLES = frozenset({Role.ORGANIZATION_OWNER, Role.LOCATION_OWNER, Role.ROBOT_OWNER})


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    # Members without a confirmed second factor are sent to set one up before they open the organization.
    require_two_factor = models.BooleanField(default=False)
    # Maintained counters (fleetadmin.fleet.counters), updated in the transaction of every write that
    # changes them, so no page counts rows: a COUNT over 100,000 machines is what made lists slow.
    location_count = models.PositiveIntegerField(default=0, editable=False)
    machine_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["name"], name="fleet_org_name")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("fleet:organization", args=[self.pk])


class Location(models.Model):
    """A place in an organization; locations nest.

    ``path`` is the materialized chain of ancestor ids ending with this
    location's own id (``<root>/<child>/<self>/``), so "this location and
    everything under it" is one indexed prefix match.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="locations")
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    name = models.CharField(max_length=100)
    path = models.CharField(max_length=1200, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Maintained counters (fleetadmin.fleet.counters): direct sub-locations, every location below,
    # machines directly here, machines here and below. The lazy tree shows them without counting.
    child_count = models.PositiveIntegerField(default=0, editable=False)
    descendant_count = models.PositiveIntegerField(default=0, editable=False)
    machine_count = models.PositiveIntegerField(default=0, editable=False)
    subtree_machine_count = models.PositiveIntegerField(default=0, editable=False)

    MAX_DEPTH = 8

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["organization", "path"], name="fleet_location_path"),
            # The tree pages siblings by (name, id); the case-insensitive constraints below index LOWER(name),
            # which cannot serve that order, so the plain name indexes the old constraints gave stay.
            models.Index(fields=["organization", "name"], condition=Q(parent=None), name="fleet_location_root_name"),
            models.Index(fields=["parent", "name"], name="fleet_location_parent_name"),
        ]
        # Sibling names are unique whatever their case, as the services promise: "line a" beside
        # "Line A" is refused by the database too, so two concurrent requests cannot create both.
        # Top-level locations have no parent to group by (NULLs never clash), hence their own constraint.
        constraints = [
            models.UniqueConstraint(
                "organization", Lower("name"), condition=Q(parent=None), name="fleet_location_unique_root_name_ci"
            ),
            models.UniqueConstraint("parent", Lower("name"), name="fleet_location_unique_child_name_ci"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"{reverse('fleet:organization', args=[self.organization_id])}#node-{self.pk}"

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2  # a root location has depth 0

    @property
    def ancestor_ids(self) -> list[str]:
        return self.path.strip("/").split("/")[:-1]

    @property
    def has_contents(self) -> bool:
        return bool(self.child_count or self.machine_count)


class Machine(models.Model):
    """A robot. ``organization`` repeats the location's so org-wide listings need no join."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="machines")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="machines")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["organization", "name"], name="fleet_machine_org_name"),
            models.Index(fields=["location", "name"], name="fleet_machine_location_name"),  # the tree's page order
        ]
        # Unique whatever the case, as the services promise (see Location.Meta).
        constraints = [models.UniqueConstraint("location", Lower("name"), name="fleet_machine_unique_name_ci")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"{reverse('fleet:organization', args=[self.organization_id])}#node-{self.pk}"


class Membership(models.Model):
    """A portal user's role on an organization, or on one location (and what is under it)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["organization__name", "role"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(role__in=sorted(ORGANIZATION_ROLES), location__isnull=True)
                    | Q(role__in=sorted(LOCATION_ROLES), location__isnull=False)
                ),
                name="fleet_membership_role_matches_scope",
            ),
            models.UniqueConstraint(
                fields=["user", "organization"], condition=Q(location=None), name="fleet_membership_one_org_role"
            ),
            models.UniqueConstraint(fields=["user", "location"], name="fleet_membership_one_location_role"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class InvitationQuerySet(models.QuerySet):
    def pending(self, now) -> "InvitationQuerySet":
        return self.filter(accepted_at=None, revoked_at=None, expires_at__gt=now)


class Invitation(models.Model):
    """An offer of a role in an organization, sent to an email address.

    The link's token is random, stored only as its SHA-256 (``token_hash``), and
    single-use: accepting or revoking the invitation ends it.
    """

    class MailStatus(models.TextChoices):
        QUEUED = "queued", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Not sent"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    email = models.EmailField()
    role = models.CharField(max_length=32, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    mail_status = models.CharField(max_length=8, choices=MailStatus.choices, default=MailStatus.QUEUED)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "email"], name="fleet_invitation_org_email")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(role__in=sorted(ORGANIZATION_ROLES), location__isnull=True)
                    | Q(role__in=sorted(LOCATION_ROLES), location__isnull=False)
                ),
                name="fleet_invitation_role_matches_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"invitation for {self.email}"
