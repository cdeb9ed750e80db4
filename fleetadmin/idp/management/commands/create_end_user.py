from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from fleetadmin.audit.services import SYSTEM
from fleetadmin.fleet.models import Organization
from fleetadmin.idp import services


class Command(BaseCommand):
    help = "Create an end user of an organization's auth service (audited as system)."

    def add_arguments(self, parser):
        parser.add_argument("--org-id", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--name", default="")

    def handle(self, *args, org_id, email, password, name, **options):
        try:
            organization = Organization.objects.get(pk=org_id)
        except (Organization.DoesNotExist, ValueError, ValidationError):
            raise CommandError(f"--org-id: no organization {org_id}") from None
        try:
            user = services.end_user_create(
                actor=SYSTEM, organization=organization, email=email, password=password, name=name
            )
        except ValidationError as error:
            messages = (
                [m for ms in error.message_dict.values() for m in ms]
                if hasattr(error, "message_dict")
                else error.messages
            )
            raise CommandError("; ".join(messages)) from None
        self.stdout.write(str(user.pk))
