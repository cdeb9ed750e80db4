"""Bootstrap an API key from the server, as the CLI prints it. Audited with the actor ``system``."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet.models import Location, Machine, Organization
from fleetadmin.keys import rules
from fleetadmin.keys.models import ROLES_BY_RESOURCE, ResourceType
from fleetadmin.keys.services import Grant, api_key_create


class Command(BaseCommand):
    help = "Create an API key for an organization, a location or a machine and print its id and value once."

    def add_arguments(self, parser):
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--org-id", help="organization id: an organization key")
        scope.add_argument("--location-id", help="location id: a location key")
        scope.add_argument("--machine-id", help="machine id: a machine key")
        parser.add_argument("--name", default=None, help="key name (default: <scope name>-<RFC 3339 time>)")
        parser.add_argument("--role", default=None, help="role (default: the owner role of the scope)")

    def handle(self, *args, org_id=None, location_id=None, machine_id=None, name=None, role=None, **options):
        try:
            if org_id:
                resource, resource_type = Organization.objects.get(pk=org_id), ResourceType.ORGANIZATION
                organization = resource
            elif location_id:
                resource = Location.objects.select_related("organization").get(pk=location_id)
                resource_type, organization = ResourceType.LOCATION, resource.organization
            else:
                resource = Machine.objects.select_related("organization", "location").get(pk=machine_id)
                resource_type, organization = ResourceType.ROBOT, resource.organization
        except (Organization.DoesNotExist, Location.DoesNotExist, Machine.DoesNotExist, ValidationError, ValueError):
            raise CommandError(
                f"No {'organization' if org_id else 'location' if location_id else 'machine'} "
                f"with id {org_id or location_id or machine_id}."
            ) from None
        accepted = ROLES_BY_RESOURCE[resource_type]
        role = role or accepted[0]
        if role not in accepted:
            raise CommandError(f"--role {rules.role_refused(accepted, resource_type, role)}.")
        try:
            issued = api_key_create(
                actor=SYSTEM, organization=organization, grants=[Grant(role=role, resource=resource)], name=name
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        what = {"organization": "organization", "location": "location", "robot": "machine"}[resource_type]
        access = "full write access" if role.endswith("_owner") else "read access"
        self.stdout.write("Successfully created key:")
        self.stdout.write(f"Key ID: {issued.key.pk}")
        self.stdout.write(f"Key Value: {issued.value}")
        self.stdout.write("")
        self.stdout.write(f"Keep this key somewhere safe; it has {access} to your {what}.")
