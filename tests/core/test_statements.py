"""Statement: compiled by the ORM once per connection, it returns what the values_list returns, on both databases."""

import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fleetadmin.core.statements import Statement
from fleetadmin.fleet.models import Membership, Organization
from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

COLUMNS = ("id", "name", "created_at", "require_two_factor", "machine_count")


def _by_name(built):
    return Statement(
        lambda name: built.append(name) or Organization.objects.filter(name=name).values_list(*COLUMNS),
        lambda connection, name: [name],
    )


def test_rows_are_the_values_list_s_with_its_conversions_and_it_compiles_once():
    first = OrganizationFactory(name="Acme", require_two_factor=True)
    OrganizationFactory(name="Globex")
    built = []
    statement = _by_name(built)
    assert statement.rows("Acme") == list(Organization.objects.filter(name="Acme").values_list(*COLUMNS))
    rows = statement.rows("Globex")
    assert rows == list(Organization.objects.filter(name="Globex").values_list(*COLUMNS))
    assert statement.rows("nobody") == []
    assert built == ["Acme"]  # built and compiled by the first call only
    (row,) = statement.rows("Acme")
    assert row[0] == first.pk and isinstance(row[0], uuid.UUID)  # converted as the ORM converts (SQLite: hex text)
    assert row[3] is True  # and SQLite's 0/1 read back as a bool
    with CaptureQueriesContext(connection) as queries:
        statement.rows("Acme")
    assert len(queries) == 1


def test_hostile_values_stay_parameters():
    OrganizationFactory(name="Acme")
    statement = _by_name([])
    for value in ["' OR '1'='1", "Acme' --", "%s", "%(name)s", "ç" * 500]:
        assert statement.rows(value) == []


def test_a_join_with_nullable_columns_reads_as_the_orm_reads_it():
    membership = MembershipFactory()
    statement = Statement(
        lambda user_id: Membership.objects.filter(user_id=user_id).values_list(
            "role", "organization_id", "location__path", "organization__name"
        ),
        lambda connection, user_id: [user_id],
    )
    expected = list(
        Membership.objects.filter(user_id=membership.user_id).values_list(
            "role", "organization_id", "location__path", "organization__name"
        )
    )
    assert statement.rows(membership.user_id) == expected
    assert expected[0][2] is None  # an organization-wide membership has no location


def test_parameters_declared_wrong_are_refused_before_anything_runs():
    OrganizationFactory(name="Acme")
    statement = Statement(
        lambda name: Organization.objects.filter(name=name, machine_count__gte=0).values_list("id"),
        lambda connection, name: [name],  # forgets the second parameter
    )
    with pytest.raises(ImproperlyConfigured, match="not the compiled query"), CaptureQueriesContext(connection) as q:
        statement.rows("Acme")
    assert len(q) == 0
