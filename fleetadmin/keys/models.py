import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from fleetadmin.fleet.models import Location, Machine, Organization, Role

EXPIRING_WINDOW = timedelta(days=7)


class ResourceType(models.TextChoices):
    """The platform's resource types for an authorization."""

    ORGANIZATION = "organization", "Organization"
    LOCATION = "location", "Location"
    ROBOT = "robot", "Machine"


ROLES_BY_RESOURCE = {
    ResourceType.ORGANIZATION: (Role.ORGANIZATION_OWNER, Role.ORGANIZATION_OPERATOR),
    ResourceType.LOCATION: (Role.LOCATION_OWNER, Role.LOCATION_OPERATOR),
    ResourceType.ROBOT: (Role.ROBOT_OWNER, Role.ROBOT_OPERATOR),
}


class KeyStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRING = "expiring", "Expiring"
    EXPIRED = "expired", "Expired"
    ROTATED_OUT = "rotated_out", "Rotated out"


class ApiKeyQuerySet(models.QuerySet):
    def alive(self):
        """Not deleted. Deleted keys stay as tombstones so authentication can say "deleted"."""
        return self.filter(deleted_at__isnull=True)

    def with_status(self, status: str, now):
        soon = now + EXPIRING_WINDOW
        retired = Q(retired_at__isnull=False, retired_at__lte=now)
        expired = Q(expires_at__isnull=False, expires_at__lte=now)
        expiring = Q(expires_at__gt=now, expires_at__lte=soon) | Q(retired_at__gt=now)
        if status == KeyStatus.ROTATED_OUT:
            return self.filter(retired)
        if status == KeyStatus.EXPIRED:
            return self.filter(expired).exclude(retired)
        if status == KeyStatus.EXPIRING:
            return self.filter(expiring).exclude(retired | expired)
        if status == KeyStatus.ACTIVE:
            return self.exclude(retired | expired | expiring)
        raise ValueError(status)


class ApiKey(models.Model):
    """An API key. Its value is never stored: only HMAC-SHA256(pepper, value) and the pepper's id.

    Rotation follows the platform: it issues a new key (new id and value) with the same
    authorizations, and this key keeps working until ``retired_at`` (the grace period).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    secret_hash = models.CharField(max_length=64)
    pepper_id = models.CharField(max_length=16)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by_name = models.CharField(max_length=255, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True, help_text="The address of that last use.")
    rotated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True, help_text="After this instant the key is rejected.")
    # Rotation issues one new key per rotated key: at most one key names a given successor (unique).
    replaced_by = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaced_key"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)
    # A creation form's one-time token: submitting the same form twice creates one key, not two.
    creation_token = models.CharField(max_length=64, null=True, blank=True, unique=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="keys_org_newest"),
            models.Index(fields=["organization", "name"], name="keys_org_name"),
            models.Index(fields=["organization", "expires_at"], name="keys_org_expires"),
            models.Index(fields=["organization", "retired_at"], name="keys_org_retired"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("keys:detail", args=[self.organization_id, self.pk])

    # The attribute a list page loads the authorizations into (keys.selectors.key_page).
    LISTED_AUTHORIZATIONS = "listed_authorizations"

    def authorization_list(self) -> "list[ApiKeyAuthorization | ListedAuthorization]":
        """This key's authorizations, in id order: the ``ListedAuthorization``s a list page loaded with it, else
        the related manager's (prefetched or one query)."""
        listed = self.__dict__.get(self.LISTED_AUTHORIZATIONS)
        return listed if listed is not None else list(self.authorizations.all())

    def authz_parts(self) -> list:
        """What fleet.authz must cover to act on this key: each authorization (or the organization)."""
        return self.authorization_list() or [self.organization]

    @property
    def ends_at(self):
        """When the key stops working: its expiry or the end of its rotation grace period, whichever is first."""
        ends = [moment for moment in (self.expires_at, self.retired_at) if moment is not None]
        return min(ends) if ends else None

    def in_grace(self, now) -> bool:
        """Rotated, and still accepted until ``retired_at``."""
        return self.replaced_by_id is not None and self.retired_at is not None and self.retired_at > now

    def status(self, now) -> str:
        if self.retired_at and self.retired_at <= now:
            return KeyStatus.ROTATED_OUT
        if self.expires_at and self.expires_at <= now:
            return KeyStatus.EXPIRED
        if (self.expires_at and self.expires_at <= now + EXPIRING_WINDOW) or (
            self.retired_at and self.retired_at > now
        ):
            return KeyStatus.EXPIRING
        return KeyStatus.ACTIVE


class ApiKeyAuthorization(models.Model):
    """One role on one resource, granted to a key.

    ``scope_path`` places the resource in the organization's location tree so
    that "is this inside that subtree" is a prefix test: "/" for the whole
    organization, the location's path for a location, and the location's path
    plus ``m<machine hex>/`` for a machine.
    """

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="authorizations")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=32, choices=Role.choices)
    resource_type = models.CharField(max_length=16, choices=ResourceType.choices)
    location = models.ForeignKey(Location, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    scope_path = models.CharField(max_length=1300)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["organization", "scope_path"], name="keys_auth_scope")]
        constraints = [
            # scope_path identifies the resource: one row per key, role and resource.
            models.UniqueConstraint(fields=["key", "role", "scope_path"], name="keys_authorization_unique"),
            models.CheckConstraint(
                condition=(
                    Q(resource_type="organization", location__isnull=True, machine__isnull=True)
                    | Q(resource_type="location", location__isnull=False, machine__isnull=True)
                    | Q(resource_type="robot", location__isnull=True, machine__isnull=False)
                ),
                name="keys_authorization_resource_matches_type",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} on {self.resource_type} {self.resource_id}"

    @property
    def resource_id(self):
        if self.resource_type == ResourceType.LOCATION:
            return self.location_id
        if self.resource_type == ResourceType.ROBOT:
            return self.machine_id
        return self.organization_id

    @property
    def resource(self):
        if self.resource_type == ResourceType.LOCATION:
            return self.location
        if self.resource_type == ResourceType.ROBOT:
            return self.machine
        return self.organization

    @property
    def resource_name(self) -> str:
        return self.resource.name

    def authz_scope(self):
        """(organization id, location path or None, machine id or None), as fleet.authz expects."""
        if self.resource_type == ResourceType.ORGANIZATION:
            return self.organization_id, None, None
        if self.resource_type == ResourceType.LOCATION:
            return self.organization_id, self.scope_path, None
        return self.organization_id, self.scope_path, self.machine_id


class ListedAuthorization:
    """An authorization as a list of keys shows it: its columns and its resource's name, read as plain values.

    What a list reads of an ``ApiKeyAuthorization`` (``resource_id``, ``resource_name``, ``authz_scope()``; the
    model's own property and method, borrowed, so the rules stay in one place), without building a model
    instance and its location or machine for every row: at 100 keys those were half the keys list's time.
    """

    # The fields in the order __init__ takes them: the columns as selected, then the resource's name.
    FIELDS = (
        "id",
        "key_id",
        "organization_id",
        "role",
        "resource_type",
        "location_id",
        "machine_id",
        "scope_path",
        "resource_name",
    )
    __slots__ = FIELDS
    COLUMNS = FIELDS[:-1]  # resource_name comes from the location, machine or organization

    def __init__(self, *values):
        for name, value in zip(self.FIELDS, values, strict=True):
            setattr(self, name, value)

    resource_id = ApiKeyAuthorization.resource_id
    authz_scope = ApiKeyAuthorization.authz_scope
    __str__ = ApiKeyAuthorization.__str__

    def __repr__(self) -> str:
        return f"<ListedAuthorization {self}>"
