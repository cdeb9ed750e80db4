"""The audit log's target links: built from a few columns with one reverse per page, the same as get_absolute_url."""

import pytest

from fleetadmin.audit import selectors
from fleetadmin.core.actors import SYSTEM
from fleetadmin.keys.services import api_key_delete
from tests.factories import LocationFactory, MachineFactory
from tests.keys.factories import issue

pytestmark = pytest.mark.django_db


def label(obj) -> str:
    return obj._meta.label_lower


def test_each_fast_link_is_the_models_own_url(django_assert_num_queries):
    machines = MachineFactory.create_batch(2)
    location = LocationFactory(parent=machines[0].location)
    key = issue(SYSTEM, machines[0].organization).key
    objects = [machines[0].organization, machines[1].organization, machines[0].location, location, *machines, key]
    assert {label(obj) for obj in objects} == set(selectors._page_makers())  # every fast path is checked here

    with django_assert_num_queries(1):  # four kinds of target, one UNION query
        urls = selectors.object_urls((label(obj), str(obj.pk)) for obj in objects)

    assert urls == {(label(obj), str(obj.pk)): obj.get_absolute_url() for obj in objects}


def test_gone_or_malformed_targets_link_nowhere():
    key = issue(SYSTEM, MachineFactory().organization).key
    api_key_delete(actor=SYSTEM, key=key)

    urls = selectors.object_urls([("keys.apikey", str(key.pk)), ("fleet.machine", "not-a-uuid"), ("nope.model", "1")])

    assert urls == {}
