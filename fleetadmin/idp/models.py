"""End users of an organization's auth service, their sessions, and the toolkit's token tables.

End users are not portal users: they live in one organization's directory and
never hold a portal session. django-oauth-toolkit's token models are swapped in
(``OAUTH2_PROVIDER_*_MODEL``) only to point their ``user`` at ``EndUser``.
"""

import uuid

from django.db import models
from django.db.models.functions import Lower
from oauth2_provider.models import (
    AbstractAccessToken,
    AbstractDeviceGrant,
    AbstractGrant,
    AbstractIDToken,
    AbstractRefreshToken,
)

from fleetadmin.fleet.models import Organization


class EndUser(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="end_users")
    email = models.EmailField(max_length=254)  # stored lower-cased
    name = models.CharField(max_length=150, blank=True)
    password = models.CharField(max_length=255, blank=True)  # Argon2 (PASSWORD_HASHERS); empty until set
    email_verified = models.BooleanField(default=False)
    is_disabled = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    last_sign_in_at = models.DateTimeField(null=True, blank=True)
    sign_in_count = models.PositiveIntegerField(default=0)
    failed_sign_in_count = models.PositiveIntegerField(default=0)
    last_failed_sign_in_at = models.DateTimeField(null=True, blank=True)
    # An invitation: the hash of its one-time token, and when it was sent. Empty once accepted or revoked.
    invitation_hash = models.CharField(max_length=64, blank=True)
    invited_at = models.DateTimeField(null=True, blank=True)
    invited_client = models.ForeignKey(
        "oauth.OAuthApplication", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint("organization", Lower("email"), name="idp_end_user_email_per_org")]
        indexes = [models.Index(fields=["organization", "email", "id"], name="idp_end_user_org_email")]

    def __str__(self) -> str:
        return self.email

    # What django-oauth-toolkit reads from request.user.
    @property
    def last_login(self):
        return self.last_sign_in_at

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def has_password(self) -> bool:
        return bool(self.password)

    @property
    def is_invited(self) -> bool:
        return bool(self.invitation_hash)


class EndUserSession(models.Model):
    """A signed-in browser of an end user: the cookie holds a random key, the table its SHA-256."""

    key_hash = models.CharField(max_length=64, primary_key=True)
    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="sessions")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Session of end user {self.end_user_id}"


class EndUserToken(models.Model):
    """One-time links (password reset), stored as a hash; single use, short-lived."""

    class Purpose(models.TextChoices):
        RESET = "reset", "Password reset"

    key_hash = models.CharField(max_length=64, primary_key=True)
    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.purpose} link of end user {self.end_user_id}"


class SignInDay(models.Model):
    """Sign-ins counted per organization and day (not audit events: too many)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "day"], name="idp_sign_in_day_unique")]

    def __str__(self) -> str:
        return f"{self.day}: {self.count}"


class SignInFailures(models.Model):
    """Failed sign-ins per throttle key (an account or an address) in the current window.

    In the database rather than the cache, so every web worker sees the same count
    without Redis (a per-process local-memory cache would multiply the limit).
    """

    key = models.CharField(max_length=200, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


class Grant(AbstractGrant):
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="+")
    used_at = models.DateTimeField(null=True, blank=True)
    token_family = models.UUIDField(null=True, blank=True)  # the refresh-token family its exchange started

    class Meta(AbstractGrant.Meta):
        pass


class IDToken(AbstractIDToken):
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, null=True, blank=True, related_name="+")

    class Meta(AbstractIDToken.Meta):
        pass


class AccessToken(AbstractAccessToken):
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # The authorization code this token was exchanged for: a replayed code revokes what it issued.
    from_grant = models.ForeignKey(Grant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta(AbstractAccessToken.Meta):
        pass


class RefreshToken(AbstractRefreshToken):
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="+")

    class Meta(AbstractRefreshToken.Meta):
        pass


class DeviceGrant(AbstractDeviceGrant):
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, null=True, related_name="+")
    polls = models.PositiveIntegerField(default=0)

    class Meta(AbstractDeviceGrant.Meta):
        pass
