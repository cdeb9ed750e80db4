"""Key scope pickers load a page of options on demand, and "may create" is one authz answer."""

import pytest
from django.urls import reverse

from fleetadmin.keys.models import ApiKey
from tests.factories import LocationFactory, MachineFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, org, *args):
    return reverse(f"keys:{name}", args=[org.pk, *args])


@pytest.fixture
def big_fleet(fleet):
    """More locations than one picker page holds, each with a machine, under the location owner's Headquarters."""
    for i in range(60):
        site = LocationFactory(organization=fleet.org, parent=fleet.hq, name=f"Site {i:02d}")
        MachineFactory(location=site, name=f"bot-{i:02d}")
    return fleet


def test_the_list_decides_create_without_walking_the_tree(big_fleet, client_for, django_assert_num_queries):
    fleet = big_fleet
    for user, can_create in ((fleet.operator, False), (fleet.location_owner, True), (fleet.owner, True)):
        client = client_for(user)
        client.get(url("list", fleet.org))
        # session, user, organization, memberships (with the org switcher's names), keys page
        # (no key: no authorizations query)
        with django_assert_num_queries(5):
            content = client.get(url("list", fleet.org)).content.decode()
        assert ("Create API key" in content) is can_create


def test_the_create_form_offers_one_page_and_searches_the_rest(big_fleet, client_for):
    fleet = big_fleet
    client = client_for(fleet.location_owner)
    form = client.get(url("create", fleet.org), {"scope_type": "location"}).content.decode()
    assert form.count('<option value="') == 2 * (50 + 1) + 5  # a page per picker, their blanks, expiry
    assert "Site 59" not in form and "Warehouse" not in form
    found = client.get(url("create", fleet.org), {"scope_type": "location", "location_q": "site 5"}, **HTMX)
    content = found.content.decode()
    assert (
        ">Site 59</option>" in content
        and ">Site 05</option>" not in content
        and ">Headquarters</option>" not in content
    )
    machines = client.get(url("create", fleet.org), {"scope_type": "robot", "machine_q": "bot-5"}, **HTMX)
    assert "bot-59" in machines.content.decode() and "forklift-01" not in machines.content.decode()


def test_a_location_beyond_the_first_page_can_be_chosen(big_fleet, client_for):
    fleet = big_fleet
    last = fleet.hq.children.get(name="Site 59")
    data = {"scope_type": "location", "location": str(last.pk), "access": "owner", "name": "deep", "expiry": "never"}
    response = client_for(fleet.location_owner).post(url("create", fleet.org), {**data, "form_token": "t-9"})
    assert response.status_code == 200
    key = ApiKey.objects.get(name="deep")
    assert key.authorizations.get().location == last
    outside = {**data, "location": str(fleet.warehouse.pk), "form_token": "t-10", "name": "nope"}
    refused = client_for(fleet.location_owner).post(url("create", fleet.org), outside)
    assert refused.status_code == 422 and "Select a valid choice." in refused.content.decode()
    assert not ApiKey.objects.filter(name="nope").exists()
