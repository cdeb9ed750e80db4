"""Among(column, values): the rows an IN list finds, with the list sent as one parameter, on both databases."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.db.models import F

from fleetadmin.core.lookups import Among
from fleetadmin.fleet.models import Machine, Membership, Organization
from tests.factories import MachineFactory, MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def _same_rows(queryset, column, values):
    among = set(queryset.filter(Among(F(column), values)).values_list("pk", flat=True))
    listed = set(queryset.filter(**{f"{column}__in": values}).values_list("pk", flat=True))
    assert among == listed
    return among


def test_uuid_primary_keys_match_what_an_in_list_finds():
    organizations = OrganizationFactory.create_batch(5)
    wanted = [organizations[0].pk, organizations[3].pk, uuid.uuid4(), organizations[0].pk]  # unknown, repeated
    assert _same_rows(Organization.objects.all(), "pk", wanted) == {organizations[0].pk, organizations[3].pk}


def test_foreign_keys_and_integer_keys_match_too():
    machines = MachineFactory.create_batch(4)
    locations = [machines[1].location_id, machines[2].location_id]
    assert _same_rows(Machine.objects.all(), "location_id", locations) == {machines[1].pk, machines[2].pk}
    memberships = MembershipFactory.create_batch(3)
    users = [memberships[0].user_id, memberships[2].user_id]
    assert _same_rows(Membership.objects.all(), "user_id", users) == {memberships[0].pk, memberships[2].pk}
    assert _same_rows(get_user_model().objects.all(), "pk", users) == set(users)


def test_an_empty_list_or_only_nones_match_nothing():
    OrganizationFactory()
    assert not Organization.objects.filter(Among(F("pk"), [])).exists()
    assert not Organization.objects.filter(Among(F("pk"), [None])).exists()


def test_a_long_list_is_one_parameter_whatever_its_length():
    organizations = OrganizationFactory.create_batch(3)
    wanted = [organization.pk for organization in organizations] + [uuid.uuid4() for _ in range(2_000)]
    queryset = Organization.objects.filter(Among(F("pk"), wanted))
    _sql, params = queryset.query.sql_with_params()
    assert len(params) == 1
    assert set(queryset.values_list("pk", flat=True)) == {organization.pk for organization in organizations}


def test_it_combines_with_other_filters_and_negation():
    organizations = OrganizationFactory.create_batch(3)
    wanted = [organizations[0].pk, organizations[1].pk]
    found = Organization.objects.filter(Among(F("pk"), wanted), name=organizations[1].name)
    assert list(found.values_list("pk", flat=True)) == [organizations[1].pk]
    rest = Organization.objects.exclude(Among(F("pk"), wanted)).values_list("pk", flat=True)
    assert set(rest) == {organizations[2].pk}
