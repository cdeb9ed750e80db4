import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from fleetadmin.accounts.models import SUPPORT_GROUP
from fleetadmin.fleet import counters
from fleetadmin.fleet.models import Location, Machine, Membership, Organization, Role

TEST_PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def support(self, create, extracted, **kwargs):
        if extracted:
            self.is_staff = True
            self.groups.add(Group.objects.get_or_create(name=SUPPORT_GROUP)[0])
            if create:  # support staff need two-factor sign-in to open the console
                from django_otp.plugins.otp_totp.models import TOTPDevice

                TOTPDevice.objects.create(user=self, name="Authenticator app", confirmed=True)
        if create:
            self.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    organization = factory.LazyAttribute(lambda o: o.parent.organization if o.parent else OrganizationFactory())
    parent = None
    name = factory.Sequence(lambda n: f"Location {n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        location = model_class(*args, **kwargs)
        parent = kwargs.get("parent")
        location.path = f"{parent.path if parent else '/'}{location.pk.hex}/"
        location.save(force_insert=True)
        counters.location_added(location)  # the services keep the counters; so do their test shortcuts
        return location


class MachineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Machine

    location = factory.SubFactory(LocationFactory)
    organization = factory.LazyAttribute(lambda o: o.location.organization)
    name = factory.Sequence(lambda n: f"machine-{n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        machine = super()._create(model_class, *args, **kwargs)
        counters.machine_added(machine.location)
        return machine


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.LazyAttribute(lambda o: o.location.organization if o.location else OrganizationFactory())
    location = None
    role = Role.ORGANIZATION_OWNER
