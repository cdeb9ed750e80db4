"""The lazy overview tree: bounded pages, on-demand expansion, search, pickers and the maintained counters."""

import pytest
from django.urls import reverse

from fleetadmin.audit.services import SYSTEM
from fleetadmin.fleet import counters, selectors, services
from fleetadmin.fleet.models import Location, Organization
from tests.factories import LocationFactory, MachineFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, *args):
    return reverse(f"fleet:{name}", args=args)


def counts(location):
    location.refresh_from_db()
    return location.child_count, location.descendant_count, location.machine_count, location.subtree_machine_count


def test_services_keep_the_counters_exact(fleet):
    org = fleet.org
    org.refresh_from_db()
    assert (org.location_count, org.machine_count) == (3, 2)  # the factories count as the services do
    deep = services.location_create(actor=SYSTEM, organization=org, name="Cell 7", parent=fleet.line_a)
    machine = services.machine_create(actor=SYSTEM, location=deep, name="welder-1")
    org.refresh_from_db()
    assert (org.location_count, org.machine_count) == (4, 3)
    assert counts(fleet.hq) == (1, 2, 0, 2)
    assert counts(fleet.line_a) == (1, 1, 1, 2)
    assert counts(deep) == (0, 0, 1, 1)
    services.machine_delete(actor=SYSTEM, machine=machine)
    services.location_delete(actor=SYSTEM, location=deep)
    org.refresh_from_db()
    assert (org.location_count, org.machine_count) == (3, 2)
    assert counts(fleet.hq) == (1, 1, 0, 1)
    assert counts(fleet.line_a) == (0, 0, 1, 1)
    # rebuild() recomputes the same numbers from the rows
    Location.objects.update(child_count=9, descendant_count=9, machine_count=9, subtree_machine_count=9)
    Organization.objects.update(location_count=9, machine_count=9)
    counters.rebuild()
    org.refresh_from_db()
    assert (org.location_count, org.machine_count) == (3, 2)
    assert counts(fleet.hq) == (1, 1, 0, 1) and counts(fleet.warehouse) == (0, 0, 1, 1)


def test_a_large_location_opens_collapsed_and_pages_by_keyset(fleet, client_for, settings):
    big = LocationFactory(organization=fleet.org, name="Big depot")
    for i in range(selectors.TREE_PAGE + 5):
        MachineFactory(location=big, name=f"bot-{i:03d}")
    client = client_for(fleet.owner)
    overview = client.get(url("organization", fleet.org.pk)).content.decode()
    assert "bot-000" not in overview
    assert "Show 105 machines" in overview
    first = client.get(url("location", fleet.org.pk, big.pk), **HTMX).content.decode()
    assert first.startswith('<ul class="tree-children"')
    assert "bot-099" in first and "bot-100" not in first
    more = first.split('class="tree-node tree-more"><a class="link-button" href="')[1].split('"')[0]
    second = client.get(more.replace("&amp;", "&"), **HTMX).content.decode()
    assert "bot-100" in second and "bot-104" in second and "bot-099" not in second
    assert "tree-more" not in second


def test_the_location_page_works_without_javascript(fleet, client_for):
    page = client_for(fleet.owner).get(url("location", fleet.org.pk, fleet.line_a.pk)).content.decode()
    assert "<html" in page
    assert "arm-01" in page and "Headquarters</a>" in page  # contents and the breadcrumb
    assert f'<input type="hidden" name="location" value="{fleet.line_a.pk}">' in page
    # The location owner of Headquarters cannot open the Warehouse: outside their reach is 404.
    assert client_for(fleet.location_owner).get(url("location", fleet.org.pk, fleet.warehouse.pk)).status_code == 404
    assert client_for(fleet.outsider).get(url("location", fleet.org.pk, fleet.line_a.pk)).status_code == 404


def test_search_matches_name_prefixes_in_any_case_and_whole_ids(fleet, client_for):
    client = client_for(fleet.owner)

    def results(response) -> str:  # the results, not the add forms' pickers below them
        return response.content.decode().split('class="add-forms"')[0]

    found = results(client.get(url("organization", fleet.org.pk), {"q": "LINE"}, **HTMX))
    assert "Line A" in found and "Headquarters" not in found
    by_id = results(client.get(url("organization", fleet.org.pk), {"q": str(fleet.forklift.pk)}))
    assert "forklift-01" in by_id and "Machine in" in by_id
    inner = client.get(url("organization", fleet.org.pk), {"q": "ine"}).content.decode()
    assert "No location or machine matches “ine”." in inner
    # A location owner's search stays inside their subtree.
    scoped = results(client_for(fleet.location_owner).get(url("organization", fleet.org.pk), {"q": "f"}))
    assert "forklift-01" not in scoped


def test_the_picker_offers_only_locations_the_viewer_may_use(fleet, client_for):
    owner = client_for(fleet.owner).get(url("location_picker", fleet.org.pk), {"for": "machine", "q": "w"})
    assert "Warehouse" in owner.content.decode() and "Headquarters" not in owner.content.decode()
    scoped = client_for(fleet.location_owner).get(url("location_picker", fleet.org.pk), {"for": "machine"})
    content = scoped.content.decode()
    assert "Headquarters" in content and "Line A" in content and "Warehouse" not in content
    assert client_for(fleet.owner).get(url("location_picker", fleet.org.pk), {"for": "x"}).status_code == 404


def test_organization_list_counts_come_from_the_counters(fleet, client_for, django_assert_num_queries):
    client = client_for(fleet.owner)
    client.get(url("organizations"))
    with django_assert_num_queries(4):  # session, user, memberships (with the org switcher's names), organizations
        content = client.get(url("organizations")).content.decode()
    assert '<td class="num">3</td>' in content and '<td class="num">2</td>' in content
