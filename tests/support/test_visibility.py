"""What support staff see of a customer is declared on each view (``fleetadmin.core.support_pages``).

Every page of the customer apps says ``support_visible(label)`` or ``support_hidden``; a new
page without either fails here, so adding a page cannot silently change what support sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.http import HttpResponse
from django.urls import URLPattern, URLResolver, get_resolver, include, path, reverse

from fleetadmin.core.support_pages import declared_visibility, support_hidden, support_visibility, support_visible
from fleetadmin.fleet import authz
from fleetadmin.support.access import SupportActor
from fleetadmin.support.middleware import SUPPORT_ACTIONS
from tests.support.conftest import events

# Namespaces that are not a customer's pages: the Django admin, the JSON API (support works in the
# browser), the support console itself, and the signed-in user's own account pages.
NOT_CUSTOMER_NAMESPACES = frozenset({"admin", "api", "support", "accounts"})


@dataclass(frozen=True)
class Page:
    name: str  # "keys:detail"
    route: str  # "orgs/<uuid:org_id>/keys/<uuid:key_id>/"
    view: object


def _walk(patterns, prefix="", namespaces=()):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield (
                Page(":".join((*namespaces, entry.name or "")), prefix + str(entry.pattern), entry.callback),
                namespaces,
            )


def customer_pages(urlconf=None) -> list[Page]:
    """Every URL pattern of the customer apps: all of the project's but those of NOT_CUSTOMER_NAMESPACES and
    the project's own (``healthz``, ``metrics``: no namespace)."""
    return [
        page
        for page, namespaces in _walk(get_resolver(urlconf).url_patterns)
        if namespaces and not NOT_CUSTOMER_NAMESPACES.intersection(namespaces)
    ]


def test_the_walk_finds_the_customer_pages():
    """The check below can fail only if the walk reaches the pages: each customer app is in it."""
    names = {page.name for page in customer_pages()}
    expected = {"fleet:organization", "keys:detail", "oauth:app_detail", "audit:log", "billing:invoice"}
    expected |= {"billing_dashboard:dashboard", "support_access:list", "idp:authorize", "idp_admin:end_users"}
    assert expected <= names
    assert not any(name.startswith(("support:", "api:", "admin:", "accounts:")) for name in names)


def test_every_customer_page_declares_what_support_sees():
    undeclared = [f"{page.name} ({page.route})" for page in customer_pages() if declared_visibility(page.view) is None]
    assert undeclared == [], "declare these views @support_visible(label) or @support_hidden"


def test_a_page_support_sees_is_a_page_of_one_organization():
    """A grant is on one organization, so a page support sees names it in its URL."""
    visible = [page for page in customer_pages() if support_visibility(page.view).visible]
    assert visible
    assert [page.name for page in visible if "<uuid:org_id>" not in page.route] == []


def test_every_action_a_page_offers_is_a_support_action():
    offered = {action for page in customer_pages() for action in support_visibility(page.view).actions}
    assert offered == set(SUPPORT_ACTIONS)
    assert all(authz.PERMISSIONS[action] == {authz.SUPPORT_AGENT} for action in offered)


def test_a_visible_page_needs_a_label():
    with pytest.raises(ValueError, match="needs a label"):
        support_visible(" ")


# ---- the declaration is what the middleware reads --------------------------------------------------


def _whoami(request, org_id):
    return HttpResponse("support actor" if isinstance(request.user, SupportActor) else "user")


declared = support_visible("Test page")(lambda request, org_id: _whoami(request, org_id))
hidden = support_hidden(lambda request, org_id: _whoami(request, org_id))
undeclared = lambda request, org_id: _whoami(request, org_id)  # noqa: E731

urlpatterns = [
    path("test-pages/<uuid:org_id>/declared/", declared, name="declared"),
    path("test-pages/<uuid:org_id>/hidden/", hidden, name="hidden"),
    path("test-pages/<uuid:org_id>/undeclared/", undeclared, name="undeclared"),
    path("", include("portal.urls")),
]


@pytest.mark.django_db
@pytest.mark.urls("tests.support.test_visibility")
@pytest.mark.parametrize(
    ("name", "runs_as", "recorded"),
    [("declared", "support actor", ["Test page"]), ("hidden", "user", []), ("undeclared", "user", [])],
)
def test_support_reads_a_page_as_support_only_where_the_view_declares_it(
    fleet, support, open_grant, client_for, name, runs_as, recorded
):
    open_grant(support, fleet.org)
    response = client_for(support).get(reverse(name, args=[fleet.org.pk]))
    assert response.content.decode() == runs_as
    assert [e.changes["after"]["page"] for e in events(fleet.org, action="support.access.view")] == recorded


@pytest.mark.django_db
@pytest.mark.parametrize("screen", ["key", "oauth_app", "auth_service", "billing"])
def test_the_banner_offers_the_actions_the_page_declares(fleet, customer, support, open_grant, client_for, screen):
    grant = open_grant(support, fleet.org)
    org, key, app = fleet.org.pk, customer.key.pk, customer.app.pk
    page, label, action = {
        "key": (
            reverse("keys:detail", args=[org, key]),
            "Delete this key…",
            f"{reverse('support:delete_key', args=[grant.pk])}?key={key}",
        ),
        "oauth_app": (
            reverse("oauth:app_detail", args=[org, app]),
            "Rotate its secret…",
            reverse("support:rotate_oauth_secret", args=[grant.pk, app]),
        ),
        "auth_service": (
            reverse("oauth:service", args=[org]),
            "Enable or disable…",
            reverse("support:auth_service", args=[grant.pk]),
        ),
        "billing": (
            reverse("billing:service", args=[org]),
            "Update the address…",
            reverse("support:billing_address", args=[grant.pk]),
        ),
    }[screen]
    response = client_for(support).get(page)
    assert response.status_code == 200
    assert response.wsgi_request.support_actions == [(label, action)]
    assert f'href="{action}"'.replace("&", "&amp;") in response.content.decode()


@pytest.mark.django_db
def test_a_page_without_actions_offers_none(fleet, support, open_grant, client_for):
    open_grant(support, fleet.org)
    response = client_for(support).get(reverse("keys:list", args=[fleet.org.pk]))
    assert response.status_code == 200 and response.wsgi_request.support_actions == []
