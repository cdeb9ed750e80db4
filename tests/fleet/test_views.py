"""The view-test matrix: anonymous, another organization's owner, operator, owner; with and without htmx."""

import pytest
from django.urls import reverse

from fleetadmin.audit.models import AuditEvent
from fleetadmin.fleet.models import Location, Machine
from tests.factories import LocationFactory, MachineFactory
from tests.matrix import ANONYMOUS, HTMX, MEMBERS, OUTSIDER, OWNERS, ROLES, Matrix, Read, Write

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"fleet:{name}", args=args)


@pytest.fixture
def fleet(fleet):
    fleet.empty = LocationFactory(organization=fleet.org, name="Empty room")
    return fleet


# ---- the matrix ------------------------------------------------------------------------------------


def at(name, *attributes):
    """The path of a fleet screen of the organization, with the fleet's objects named by ``attributes``."""
    return lambda f: url(name, f.org.pk, *(getattr(f, attribute).pk for attribute in attributes))


def owner_answer(response, fleet, write, htmx):
    if htmx:  # the refreshed panel, with the activity and the messages out of band
        assert response.status_code == 200
        assert response["HX-Retarget"] == "#fleet-panel"
        content = response.content.decode()
        assert content.lstrip().startswith('<section id="fleet-panel"')
        assert (
            '<section id="activity" class="card history" aria-labelledby="activity-heading" hx-swap-oob="true"'
            in content
        )
        assert 'id="messages" class="messages" aria-live="polite" hx-swap-oob="true"' in content
        assert write.actions[0] in content  # the new event is in the refreshed activity panel
    else:
        assert response.status_code == 302
        assert response["Location"] == url("organization", fleet.org.pk)


def rename(model, attribute, name) -> Write:
    """Renaming the fleet's ``attribute`` (a location or a machine) to ``name``."""
    kind = model._meta.model_name
    return Write(
        f"{kind}_rename",
        at(f"{kind}_rename", attribute),
        data=lambda f: {"name": name},
        effect=lambda f: model.objects.get(pk=getattr(f, attribute).pk).name == name,
        actions=[f"fleet.{kind}.rename"],
    )


EVERYONE_SIGNED_IN = (OUTSIDER, *MEMBERS, "location_owner")

MATRIX = Matrix(
    world="fleet",
    read_roles=(*ROLES, "location_owner"),
    reads=[
        Read("home", lambda f: url("home"), roles=(ANONYMOUS,)),  # where the others land: their own tests
        Read("organizations", lambda f: url("organizations"), readers=EVERYONE_SIGNED_IN),  # each their own
        Read("overview", at("organization"), readers=(*MEMBERS, "location_owner")),  # theirs of it
        Read("activity", at("activity")),  # the organization's log is for organization members
        # The location owner's part of the fleet is Headquarters: the rest is invisible to them (404).
        Read("location_rename", at("location_rename", "warehouse"), readers=OWNERS, statuses={"location_owner": 404}),
        Read("machine_rename", at("machine_rename", "arm"), readers=("owner", "location_owner")),
        Read("location_delete", at("location_delete", "empty"), readers=OWNERS, statuses={"location_owner": 404}),
        Read("machine_delete", at("machine_delete", "forklift"), readers=OWNERS, statuses={"location_owner": 404}),
    ],
    writes=[
        Write(
            "location_create",
            at("location_create"),
            data=lambda f: {"name": "Annex", "parent": ""},
            effect=lambda f: Location.objects.filter(organization=f.org, name="Annex").exists(),
            actions=["fleet.location.create"],
        ),
        Write(
            "machine_create",
            at("machine_create"),
            data=lambda f: {"name": "arm-09", "location": str(f.line_a.pk)},
            effect=lambda f: Machine.objects.filter(location=f.line_a, name="arm-09").exists(),
            actions=["fleet.machine.create"],
        ),
        rename(Location, "warehouse", "Warehouse West"),
        rename(Machine, "arm", "arm-01b"),
        Write(
            "location_delete",
            at("location_delete", "empty"),
            effect=lambda f: not Location.objects.filter(pk=f.empty.pk).exists(),
            actions=["fleet.location.delete"],
        ),
        Write(
            "machine_delete",
            at("machine_delete", "forklift"),
            effect=lambda f: not Machine.objects.filter(pk=f.forklift.pk).exists(),
            actions=["fleet.machine.delete"],
        ),
    ],
    write_roles=ROLES,
    answer=owner_answer,
)
test_reads, test_refused_writes, test_writes = MATRIX.tests()


# ---- reads -----------------------------------------------------------------------------------------


def test_organization_list_shows_only_the_users_organizations(fleet, client_for):
    response = client_for(fleet.owner).get(url("organizations"))
    assert response.status_code == 200
    assert b"Acme Robotics" in response.content
    assert b"Globex" not in response.content
    assert b"organization_owner" in response.content
    response = client_for(fleet.outsider).get(url("organizations"))
    assert b"Acme Robotics" not in response.content


def test_organization_list_search_returns_the_results_partial_to_htmx(fleet, client_for):
    response = client_for(fleet.owner).get(url("organizations"), {"q": "acme"}, **HTMX)
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b'id="org-results"' in response.content
    assert b"Acme Robotics" in response.content
    assert "HX-Request" in response["Vary"]
    empty = client_for(fleet.owner).get(url("organizations"), {"q": "nomatch"}, **HTMX)
    assert "No organization matches “nomatch”." in empty.content.decode()


def test_home_redirects_a_single_organization_member_to_it(fleet, client_for):
    response = client_for(fleet.owner).get(url("home"))
    assert response["Location"] == url("organization", fleet.org.pk)


def test_overview_for_the_owner_has_every_control(fleet, client_for):
    response = client_for(fleet.owner).get(url("organization", fleet.org.pk))
    content = response.content.decode()
    assert response.status_code == 200
    for name in ["Headquarters", "Line A", "Warehouse", "arm-01", "forklift-01"]:
        assert name in content
    assert str(fleet.arm.pk) in content and 'data-copy="' in content
    assert "Add a location" in content and "Add a machine" in content
    assert 'aria-label="Rename machine arm-01"' in content
    assert 'aria-label="Delete location Warehouse"' in content
    assert 'id="activity"' in content


def test_overview_for_the_operator_is_read_only(fleet, client_for):
    response = client_for(fleet.operator).get(url("organization", fleet.org.pk))
    content = response.content.decode()
    assert response.status_code == 200
    assert "arm-01" in content and "forklift-01" in content
    for control in ["Add a location", "Add a machine", ">Rename<", ">Delete<", '<form class="inline-form"']:
        assert control not in content
    assert 'id="activity"' in content


def test_overview_for_a_location_owner_shows_their_subtree_only(fleet, client_for):
    response = client_for(fleet.location_owner).get(url("organization", fleet.org.pk))
    content = response.content.decode()
    assert "Headquarters" in content and "arm-01" in content
    assert "Warehouse" not in content and "forklift-01" not in content
    assert "Add a machine" in content and "Add a location" not in content
    assert 'id="activity"' not in content  # the organization's log is for organization members


def test_overview_returns_the_panel_partial_to_htmx(fleet, client_for):
    response = client_for(fleet.owner).get(url("organization", fleet.org.pk), **HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="fleet-panel"')
    assert "<html" not in content
    assert "HX-Request" in response["Vary"]


def test_boosted_and_history_restore_requests_get_the_full_page(fleet, client_for):
    client = client_for(fleet.owner)
    for headers in ({"HTTP_HX_BOOSTED": "true"}, {"HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}):
        response = client.get(url("organization", fleet.org.pk), **HTMX, **headers)
        assert b"<html" in response.content


def test_activity_panel_lists_the_latest_events(fleet, client_for):
    client = client_for(fleet.owner)
    client.post(url("location_create", fleet.org.pk), {"name": "Annex", "parent": ""})
    response = client.get(url("activity", fleet.org.pk), **HTMX)
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="activity"')
    assert "created location" in content and "Annex" in content
    assert client_for(fleet.location_owner).get(url("activity", fleet.org.pk)).status_code == 403
    assert client_for(fleet.outsider).get(url("activity", fleet.org.pk)).status_code == 404


def test_overview_query_count_does_not_grow_with_the_fleet(fleet, client_for, django_assert_num_queries):
    client = client_for(fleet.owner)
    path = url("organization", fleet.org.pk)
    client.get(path)  # warm the session
    with django_assert_num_queries(OVERVIEW_QUERIES):
        client.get(path)
    for i in range(30):
        parent = LocationFactory(organization=fleet.org, name=f"Site {i}")
        child = LocationFactory(organization=fleet.org, parent=parent, name=f"Bay {i}")
        for j in range(5):
            MachineFactory(location=child, name=f"bot-{i}-{j}")
    with django_assert_num_queries(OVERVIEW_QUERIES):
        response = client.get(path)
    content = response.content.decode()
    # Past the expansion budget the tree opens collapsed: each site a row that loads its contents on demand.
    assert "Site 29" in content and "bot-29-4" not in content
    site = Location.objects.get(organization=fleet.org, name="Site 29")
    expanded = client.get(url("location", fleet.org.pk, site.pk), **HTMX).content.decode()
    assert expanded.startswith('<ul class="tree-children"') and "bot-29-4" in expanded


# session, user, organization, memberships (grants), top-level locations, their small subtrees' locations
# and machines, the add forms' location picker, activity; the org switcher's names came with the memberships
OVERVIEW_QUERIES = 9


# ---- writes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_invalid_location_is_422_with_the_error_and_nothing_written(fleet, client_for, htmx):
    response = client_for(fleet.owner).post(
        url("location_create", fleet.org.pk), {"name": "Headquarters", "parent": ""}, **(HTMX if htmx else {})
    )
    assert response.status_code == 422
    assert "A location named “Headquarters” already exists at the top level." in response.content.decode()
    assert ("<html" in response.content.decode()) is not htmx
    assert not AuditEvent.objects.exists()


def test_machine_create_refuses_a_location_outside_the_choices(fleet, client_for):
    response = client_for(fleet.location_owner).post(
        url("machine_create", fleet.org.pk), {"name": "intruder", "location": str(fleet.warehouse.pk)}
    )
    assert response.status_code == 422
    assert (
        "Choose one of the locations offered; this one is not in your part of the fleet." in response.content.decode()
    )
    assert not Machine.objects.filter(name="intruder").exists()


def test_rename_form_get_returns_the_inline_form_to_htmx(fleet, client_for):
    client = client_for(fleet.owner)
    path = url("machine_rename", fleet.org.pk, fleet.arm.pk)
    partial = client.get(path, **HTMX).content.decode()
    assert partial.lstrip().startswith(f'<form class="node-row rename-form" id="node-{fleet.arm.pk}"')
    assert 'value="arm-01"' in partial
    full = client.get(path).content.decode()
    assert "<html" in full and "Rename machine “arm-01”" in full


def test_invalid_rename_keeps_the_inline_form_with_the_error(fleet, client_for):
    MachineFactory(location=fleet.line_a, name="arm-02")
    response = client_for(fleet.owner).post(
        url("machine_rename", fleet.org.pk, fleet.arm.pk), {"name": "arm-02"}, **HTMX
    )
    assert response.status_code == 422
    content = response.content.decode()
    assert "A machine named “arm-02” already exists in Line A." in content
    assert 'aria-invalid="true"' in content
    assert "HX-Retarget" not in response


def test_delete_confirmation_page_works_without_javascript(fleet, client_for):
    client = client_for(fleet.owner)
    page = client.get(url("location_delete", fleet.org.pk, fleet.empty.pk))
    assert page.status_code == 200
    assert "Delete location “Empty room”?" in page.content.decode()
    assert Location.objects.filter(pk=fleet.empty.pk).exists()


@pytest.mark.parametrize("htmx", [False, True])
def test_deleting_a_location_with_contents_is_refused_with_a_reason(fleet, client_for, htmx):
    response = client_for(fleet.owner).post(url("location_delete", fleet.org.pk, fleet.hq.pk), **(HTMX if htmx else {}))
    assert response.status_code == 422
    assert "“Headquarters” still holds 1 sub-location; delete or move them first." in response.content.decode()
    assert Location.objects.filter(pk=fleet.hq.pk).exists()
    assert not AuditEvent.objects.exists()


def test_location_owner_manages_machines_in_their_subtree_only(fleet, client_for):
    client = client_for(fleet.location_owner)
    assert client.post(url("machine_rename", fleet.org.pk, fleet.arm.pk), {"name": "arm-x"}).status_code == 302
    # The warehouse is outside their subtree: invisible, so 404 rather than 403.
    assert client.post(url("machine_rename", fleet.org.pk, fleet.forklift.pk), {"name": "f"}).status_code == 404
    assert client.post(url("location_delete", fleet.org.pk, fleet.line_a.pk)).status_code == 403


def test_malformed_ids_are_404(fleet, client_for):
    client = client_for(fleet.owner)
    assert client.get(f"/orgs/{fleet.org.pk}/machines/not-a-uuid/rename/").status_code == 404
    other = LocationFactory()  # another organization's location under this organization's URL
    assert client.get(url("location_rename", fleet.org.pk, other.pk)).status_code == 404


def test_htmx_writes_by_a_location_owner_send_no_activity_panel(fleet, client_for):
    """They have no Activity panel on their page, so an out-of-band swap for it would be an orphan."""
    response = client_for(fleet.location_owner).post(
        url("machine_create", fleet.org.pk), {"name": "arm-77", "location": str(fleet.line_a.pk)}, **HTMX
    )
    assert response.status_code == 200
    assert 'id="activity"' not in response.content.decode()
    assert 'id="messages"' in response.content.decode()


def test_the_two_add_forms_have_distinct_field_ids(fleet, client_for):
    content = client_for(fleet.owner).get(url("organization", fleet.org.pk)).content.decode()
    assert content.count('id="location_name"') == 1
    assert content.count('id="machine_name"') == 1
    assert '<label for="machine_name">Machine name</label>' in content
