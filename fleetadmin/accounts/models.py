from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from fleetadmin.core.actors import ActorIdentity, ActorType

SUPPORT_GROUP = "support"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in to the portal, identified by email."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False, help_text="May sign in to the Django admin.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    @property
    def is_support(self) -> bool:
        """Support staff: staff members of the support group, and superusers."""
        if self.is_superuser:
            return True
        if not self.is_staff:
            return False
        if not hasattr(self, "_is_support"):
            self._is_support = self.groups.filter(name=SUPPORT_GROUP).exists()
        return self._is_support

    def audit_identity(self) -> ActorIdentity:
        return ActorIdentity(type=ActorType.USER, id=str(self.pk), name=self.email)


class UserSession(models.Model):
    """One signed-in browser of a user, for the "Your sessions" page.

    ``session_key`` is the key of the row in Django's session store, which holds the same secret;
    it is never shown: the page identifies a session by ``id``.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="browser_sessions")
    session_key = models.CharField(max_length=64, unique=True)
    user_agent = models.CharField(max_length=400, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["-last_seen"]
        indexes = [models.Index(fields=["user", "-last_seen"], name="accounts_session_user_seen")]

    def __str__(self) -> str:
        return f"session of {self.user} from {self.ip or 'unknown address'}"
