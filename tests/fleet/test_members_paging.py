"""The Members page and its role forms stay the same size however many members and locations an organization has."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fleetadmin.fleet import selectors
from fleetadmin.fleet.models import Invitation, Membership, Role
from tests.factories import LocationFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def _many_members(fleet, count: int) -> list[str]:
    emails = []
    for i in range(count):
        user = UserFactory(email=f"crew{i:03d}@example.com", full_name=f"Crew Member {i:03d}")
        Membership.objects.create(user=user, organization=fleet.org, role=Role.ORGANIZATION_OPERATOR)
        emails.append(user.email)
    return emails


def _emails(content: str) -> list[str]:
    return re.findall(r'<span class="subtle">([^<@]+@example\.com)</span>', content)


def test_members_page_is_keyset_paged_owners_first_without_repeats_or_gaps(fleet, client_for):
    crew = _many_members(fleet, selectors.MEMBERS_PAGE + 30)
    client = client_for(fleet.owner)
    first = client.get(reverse("fleet:members", args=[fleet.org.pk])).content.decode()
    first_emails = _emails(first)
    assert len(first_emails) == selectors.MEMBERS_PAGE
    assert first_emails[0] == fleet.owner.email  # owners first
    after = re.search(r'href="\?q=&amp;after=([^"]+)"', first).group(1)
    second = client.get(reverse("fleet:members", args=[fleet.org.pk]), {"after": after}).content.decode()
    seen = first_emails + _emails(second)
    everyone = [fleet.owner.email, fleet.operator.email, *crew, fleet.location_owner.email]
    assert sorted(seen) == sorted(everyone)  # every member once, none twice
    assert "Next page" not in second and "First page" in second


def test_members_page_query_count_does_not_grow_with_the_organization(fleet, client_for):
    client = client_for(fleet.owner)
    path = reverse("fleet:members", args=[fleet.org.pk])
    client.get(path)
    with CaptureQueriesContext(connection) as small:
        client.get(path)
    _many_members(fleet, 150)
    with CaptureQueriesContext(connection) as large:
        response = client.get(path)
    assert response.status_code == 200
    assert len(large) == len(small)


def test_members_search_by_name_or_email_answers_the_partial(fleet, client_for):
    _many_members(fleet, 12)
    client = client_for(fleet.owner)
    path = reverse("fleet:members", args=[fleet.org.pk])
    by_email = client.get(path, {"q": "crew007"}, **HTMX).content.decode()
    assert by_email.lstrip().startswith('<div id="people"')
    assert _emails(by_email) == ["crew007@example.com"]
    assert _emails(client.get(path, {"q": "member 011"}).content.decode()) == ["crew011@example.com"]
    assert "No member matches “nobody-here”." in client.get(path, {"q": "nobody-here"}).content.decode()


def test_a_malformed_cursor_shows_the_first_page(fleet, client_for):
    response = client_for(fleet.owner).get(reverse("fleet:members", args=[fleet.org.pk]), {"after": "%%%not-a-cursor"})
    assert response.status_code == 200
    assert _emails(response.content.decode())[0] == fleet.owner.email


def test_invite_offers_a_page_of_locations_and_accepts_one_found_by_search(fleet, client_for):
    for i in range(80):
        LocationFactory(organization=fleet.org, name=f"Bay {i:02d}")
    client = client_for(fleet.owner)
    page = client.get(reverse("fleet:members", args=[fleet.org.pk])).content.decode()
    select = re.search(r'<select name="location_id".*?</select>', page, re.S).group(0)
    assert select.count("<option") == 1 + 50  # "whole organization" and the first page of locations
    assert "Bay 79" not in select
    found = client.get(reverse("fleet:location_picker", args=[fleet.org.pk]), {"for": "scope", "q": "Bay 79"})
    options = dict(re.findall(r'<option value="([^"]*)">([^<]+)</option>', found.content.decode()))
    assert list(options.values()) == ["— Whole organization —", "Bay 79"]
    bay = next(pk for pk, name in options.items() if name == "Bay 79")
    response = client.post(
        reverse("fleet:member_invite", args=[fleet.org.pk]),
        {"email": "bay@example.com", "role": Role.LOCATION_OPERATOR, "location_id": bay},
    )
    assert response.status_code == 302
    assert str(Invitation.objects.get(email="bay@example.com").location_id) == bay


@pytest.mark.parametrize("value", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "foreign"])
def test_invite_refuses_a_location_outside_the_organization_with_a_field_message(fleet, client_for, value):
    if value == "foreign":
        value = str(LocationFactory(name="Globex yard").pk)
    response = client_for(fleet.owner).post(
        reverse("fleet:member_invite", args=[fleet.org.pk]),
        {"email": "far@example.com", "role": Role.LOCATION_OPERATOR, "location_id": value},
    )
    assert response.status_code == 422
    assert "Choose one of the locations offered (search to find more)" in response.content.decode()
    assert not Invitation.objects.filter(email="far@example.com").exists()


def test_member_edit_keeps_the_current_location_selected_even_beyond_the_first_page(fleet, client_for):
    for i in range(60):
        LocationFactory(organization=fleet.org, name=f"Aisle {i:02d}")
    far = LocationFactory(organization=fleet.org, name="Zulu dock")  # sorts after the first 50
    membership = MembershipFactory(organization=fleet.org, location=far, role=Role.LOCATION_OWNER)
    page = client_for(fleet.owner).get(reverse("fleet:member_edit", args=[fleet.org.pk, membership.pk]))
    assert f'<option value="{far.pk}" selected>Zulu dock</option>' in page.content.decode()
