"""Bootstrap a production install: the first organization, its owner, and a one-time link to set a password."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from fleetadmin.accounts.views import password_reset_link
from fleetadmin.audit.services import SYSTEM
from fleetadmin.core.links import portal_base_url
from fleetadmin.fleet import members


class Command(BaseCommand):
    help = (
        "Create an organization and its owner (the account is created if it does not exist), "
        "and print a one-time link for the owner to set a password."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="The organization's name.")
        parser.add_argument("--owner-email", required=True, help="The owner's email; the account is made if needed.")
        parser.add_argument(
            "--base-url", default=None, help="The portal's public address for the link (default: PORTAL_BASE_URL)."
        )

    def handle(self, *args, name: str, owner_email: str, base_url: str | None, **options):
        email = owner_email.strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            message = f"--owner-email must be an email address like name@example.com; got {owner_email!r}."
            raise CommandError(message) from None
        User = get_user_model()
        try:
            with transaction.atomic():
                owner = User.objects.filter(email__iexact=email).first()
                created = owner is None
                if created:
                    owner = User.objects.create_user(email=email)  # no usable password until the link is used
                organization, _ = members.organization_create_with_owner(actor=SYSTEM, name=name, owner=owner)
        except ValidationError as error:
            raise CommandError("--name: " + " ".join(error.messages)) from None
        base = (base_url or portal_base_url()).rstrip("/")
        hours = settings.PASSWORD_RESET_TIMEOUT // 3600
        self.stdout.write(f"Created organization {organization.name} (id: {organization.pk}).")
        self.stdout.write(f"Owner: {owner.email}{' (new account)' if created else ' (existing account)'}.")
        self.stdout.write(f"Set-password link for {owner.email}, valid for {hours} hours and usable once:")
        self.stdout.write(password_reset_link(owner, base))
