"""Every support screen: no inline script or style (the CSP allows none), a label on every field, no secret."""

import re

import pytest
from django.urls import reverse

from tests.support.conftest import CLIENT_SECRET_PREFIX, KEY_VALUE_PREFIX

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=", re.I)
FIELD = re.compile(r"<(input|textarea|select)\b([^>]*)>", re.I)


def support_pages(fleet, customer, grant) -> list[str]:
    return [
        reverse("support:console"),
        reverse("support:open", args=[fleet.outsider.memberships.get().organization_id]),
        reverse("support:grant", args=[grant.pk]),
        reverse("support:delete_key", args=[grant.pk]),
        reverse("support:delete_key", args=[grant.pk]) + f"?key={customer.key.pk}",
        reverse("support_access:list", args=[fleet.org.pk]),
        reverse("support:rotate_oauth_secret", args=[grant.pk, customer.app.pk]),
        reverse("support:auth_service", args=[grant.pk]),
        reverse("support:billing_address", args=[grant.pk]),
    ]


def unlabelled_fields(content: str) -> list[str]:
    labels = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', content))
    missing = []
    for _tag, attrs in FIELD.findall(content):
        if re.search(r'type="(hidden|submit|button)"', attrs):
            continue
        field_id = re.search(r'\bid="([^"]+)"', attrs)
        if "aria-label=" in attrs or (field_id and field_id.group(1) in labels):
            continue
        missing.append(attrs.strip())
    return missing


def test_support_screens_are_clean(fleet, customer, support, open_grant, client_for):
    grant = open_grant(support, fleet.org)
    client = client_for(support)
    for path in support_pages(fleet, customer, grant):
        response = client.get(path)
        content = response.content.decode()
        assert response.status_code == 200, path
        assert not INLINE_SCRIPT.search(content), path
        assert not INLINE_STYLE.search(content), path
        assert unlabelled_fields(content) == [], path
        assert KEY_VALUE_PREFIX not in content and CLIENT_SECRET_PREFIX not in content, path


def test_the_owners_page_is_clean_too(fleet, client_for, support, open_grant):
    open_grant(support, fleet.org)
    content = client_for(fleet.owner).get(reverse("support_access:list", args=[fleet.org.pk])).content.decode()
    assert not INLINE_SCRIPT.search(content) and not INLINE_STYLE.search(content)


def test_views_of_support_screens_name_the_object_but_do_not_link_to_the_console(
    fleet, customer, support, open_grant, client_for
):
    from fleetadmin.support.selectors import access_sessions

    grant = open_grant(support, fleet.org)
    client_for(support).get(reverse("support:delete_key", args=[grant.pk]), {"key": str(customer.key.pk)})
    [session] = access_sessions(fleet.org).sessions
    [view] = session.viewed
    assert (view.page, view.object_id, view.link) == ("Delete API key (confirmation)", str(customer.key.pk), "")
