"""The organization switcher in every page's top bar: the user's organizations by name, from the memberships."""

import re

import pytest
from django.test import RequestFactory

from fleetadmin.fleet.context_processors import SWITCHER_LIMIT, navigation
from fleetadmin.fleet.models import Role
from fleetadmin.fleet.selectors import visible_organizations
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

# Names whose order a careless sort gets wrong: case, digits, accents, punctuation, and one name twice.
NAMES = ["beta", "Beta", "Alpha 10", "Alpha 9", "Émile", "Zeta", "_under", "alpha", "Acme", "Acme", "Ωmega"]


def switcher_of(user):
    request = RequestFactory().get("/")
    request.user = user
    return list(navigation(request)["nav_organizations"])


def test_the_switcher_lists_what_the_database_orders_first_without_a_query_of_its_own(django_assert_num_queries):
    user = UserFactory()
    for name in NAMES + [f"Org {i:02d}" for i in range(SWITCHER_LIMIT)]:
        MembershipFactory(user=user, organization=OrganizationFactory(name=name), role=Role.ORGANIZATION_OPERATOR)
    expected = list(visible_organizations(user).order_by("name", "id").values_list("pk", "name")[: SWITCHER_LIMIT + 1])

    fresh = type(user).objects.get(pk=user.pk)  # no grants loaded yet, as at the start of a request
    with django_assert_num_queries(1):  # the memberships, which authz loads for every page anyway
        shown = switcher_of(fresh)

    assert [(org.pk, org.name) for org in shown] == expected
    assert len(shown) == SWITCHER_LIMIT + 1  # one more than shown: the page says the list goes on


def test_the_page_shows_the_first_organizations_marks_the_current_one_and_says_there_are_more(fleet, client_for):
    for i in range(SWITCHER_LIMIT):
        MembershipFactory(user=fleet.owner, organization=OrganizationFactory(name=f"Zulu {i:02d}"))

    page = client_for(fleet.owner).get(f"/orgs/{fleet.org.pk}/keys/").content.decode()

    menu = page[page.index('<ul class="menu-list">') : page.index('class="menu-footer"')]
    names = re.findall(r"<li><a [^>]*>([^<]+)</a></li>", menu)
    assert names == ["Acme Robotics", *[f"Zulu {i:02d}" for i in range(SWITCHER_LIMIT - 1)]]
    assert f'href="/orgs/{fleet.org.pk}/" aria-current="true">Acme Robotics<' in menu
    assert "All organizations …</a>" in page


def test_someone_without_organizations_has_an_empty_switcher():
    page_user = UserFactory()
    assert switcher_of(page_user) == []
