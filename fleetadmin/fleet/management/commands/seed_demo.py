"""Create the demo organization and its users, idempotently, through the audited services."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from fleetadmin.accounts.models import SUPPORT_GROUP
from fleetadmin.core.actors import SYSTEM
from fleetadmin.core.links import portal_base_url
from fleetadmin.fleet import services
from fleetadmin.fleet.models import Location, Machine, Membership, Organization, Role

DEFAULT_PASSWORD = "fleetadmin-demo"  # noqa: S105 -- demo data, printed on purpose

DEMO_ORGANIZATION = "Acme Robotics"
SECOND_ORGANIZATION = "Globex Logistics"
# location name -> (sub-locations, machines)
DEMO_FLEET = {
    "Headquarters": (
        {"Assembly Line A": ["arm-01", "arm-02", "vision-cell"], "Assembly Line B": ["arm-03"]},
        ["lobby-greeter"],
    ),
    "Warehouse East": ({"Dock 1": ["forklift-01", "forklift-02"]}, ["inventory-drone"]),
    "Field Lab": ({}, []),
}
SECOND_FLEET = {"Rotterdam Depot": ({}, ["sorter-01", "sorter-02"])}

USERS = [
    ("owner@example.com", "Olivia Owner", Role.ORGANIZATION_OWNER, False),
    ("operator@example.com", "Oscar Operator", Role.ORGANIZATION_OPERATOR, False),
    ("support@example.com", "Sam Support", None, True),
]


class Command(BaseCommand):
    help = "Create (or complete) the demo organization, its fleet and its users, and print their logins."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="Password for every demo user.")
        parser.add_argument(
            "--base-url",
            default=None,
            help="The address the portal is served at, printed for signing in "
            "(default: PORTAL_BASE_URL, else http://127.0.0.1:8000; `make run PORT=8011` passes its own).",
        )

    @transaction.atomic
    def handle(self, *args, password: str, base_url: str | None = None, **options):
        organization = self._organization(DEMO_ORGANIZATION, DEMO_FLEET)
        second = self._organization(SECOND_ORGANIZATION, SECOND_FLEET)
        support_group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
        User = get_user_model()
        for email, name, role, is_support in USERS:
            user, _ = User.objects.get_or_create(email=email, defaults={"full_name": name})
            user.set_password(password)
            user.is_staff = is_support
            user.save()
            if is_support:
                user.groups.add(support_group)
            if role and not Membership.objects.filter(user=user, organization=organization, location=None).exists():
                services.membership_grant(actor=SYSTEM, user=user, organization=organization, role=role)
        owner = User.objects.get(email="owner@example.com")
        if not Membership.objects.filter(user=owner, organization=second).exists():
            services.membership_grant(actor=SYSTEM, user=owner, organization=second, role=Role.ORGANIZATION_OPERATOR)

        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {organization.name} ({organization.pk})"))
        self.stdout.write(f"Sign in at {(base_url or portal_base_url()).rstrip('/')}/ with:")
        for email, _name, role, is_support in USERS:
            what = role or ("support staff" if is_support else "")
            self.stdout.write(f"  {email:<24} password: {password:<18} ({what})")

    def _organization(self, name: str, fleet: dict) -> Organization:
        organization = Organization.objects.filter(name=name).order_by("created_at").first()
        if organization is None:
            organization = services.organization_create(actor=SYSTEM, name=name)
        for location_name, (children, machines) in fleet.items():
            location = self._location(organization, location_name, None)
            self._machines(location, machines)
            for child_name, child_machines in children.items():
                child = self._location(organization, child_name, location)
                self._machines(child, child_machines)
        return organization

    def _location(self, organization, name, parent) -> Location:
        existing = Location.objects.filter(organization=organization, parent=parent, name=name).first()
        return existing or services.location_create(actor=SYSTEM, organization=organization, name=name, parent=parent)

    def _machines(self, location, names) -> None:
        for name in names:
            if not Machine.objects.filter(location=location, name=name).exists():
                services.machine_create(actor=SYSTEM, location=location, name=name)
