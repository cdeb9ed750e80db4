"""The keys list reads its authorizations as plain values: they must answer exactly as the model instances do."""

import pytest

from fleetadmin.fleet import authz
from fleetadmin.keys import selectors
from fleetadmin.keys.models import ApiKey, ListedAuthorization
from tests.keys.factories import OPERATOR_ROLE, issue

pytestmark = pytest.mark.django_db


def test_a_listed_authorization_answers_as_the_model_does_at_every_scope(fleet, clock):
    issued = issue(fleet.owner, fleet.org, fleet.hq, fleet.arm, name="three scopes")
    issue(fleet.owner, fleet.warehouse, role=OPERATOR_ROLE[type(fleet.warehouse)], name="one location")

    page = selectors.key_page(fleet.owner, fleet.org, selectors.KeyFilters())

    listed = {key.pk: key.authorization_list() for key in page.keys}
    assert len(listed) == 2
    for key_id, authorizations in listed.items():
        models = list(ApiKey.objects.get(pk=key_id).authorizations.order_by("id"))
        assert all(isinstance(a, ListedAuthorization) for a in authorizations)
        assert [
            (a.id, a.role, a.resource_type, a.resource_id, a.resource_name, a.authz_scope(), str(a))
            for a in authorizations
        ] == [(m.id, m.role, m.resource_type, m.resource_id, m.resource.name, m.authz_scope(), str(m)) for m in models]
    names = [a.resource_name for a in listed[issued.key.pk]]
    assert names == ["Acme Robotics", "Headquarters", "arm-01"]


@pytest.mark.parametrize("viewer", ["owner", "operator", "location_owner"])
def test_who_may_manage_a_listed_key_is_the_same_answer_as_for_the_stored_key(fleet, clock, viewer):
    issue(fleet.owner, fleet.hq, name="headquarters")
    issue(fleet.owner, fleet.line_a, name="line a")
    issue(fleet.owner, fleet.arm, name="arm")
    issue(fleet.owner, fleet.warehouse, name="warehouse")
    issue(fleet.owner, fleet.org, name="organization")
    user = getattr(fleet, viewer)

    page = selectors.key_page(user, fleet.org, selectors.KeyFilters())
    stored = {key.pk: key for key in ApiKey.objects.prefetch_related("authorizations")}

    listed = {key.name: authz.can(user, "keys.manage", key) for key in page.keys}
    assert listed == {key.name: authz.can(user, "keys.manage", stored[key.pk]) for key in page.keys}
    expected = {
        "owner": dict.fromkeys(["headquarters", "line a", "arm", "warehouse", "organization"], True),
        "operator": dict.fromkeys(["headquarters", "line a", "arm", "warehouse", "organization"], False),
        "location_owner": dict.fromkeys(["headquarters", "line a", "arm"], True),
    }[viewer]
    assert listed == expected


def test_each_listed_key_names_the_key_it_replaced_and_a_successor_is_named_once(fleet, clock):
    from django.db import IntegrityError, transaction

    from fleetadmin.keys import services
    from fleetadmin.keys.rules import GRACE_PERIODS

    first = issue(fleet.owner, fleet.org, name="first").key
    second = services.api_key_rotate(actor=fleet.owner, key=first, grace=GRACE_PERIODS["24h"]).key
    third = services.api_key_rotate(actor=fleet.owner, key=second, grace=GRACE_PERIODS["24h"]).key
    other = issue(fleet.owner, fleet.org, name="other").key

    page = selectors.key_page(fleet.owner, fleet.org, selectors.KeyFilters())

    assert {key.pk: key.replaces_id for key in page.keys} == {
        first.pk: None,
        second.pk: first.pk,
        third.pk: second.pk,
        other.pk: None,
    }
    # The join adds no row because the database holds the rule: no second key may name the same successor.
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiKey.objects.filter(pk=other.pk).update(replaced_by=second)
