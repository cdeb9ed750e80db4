"""The console's search: every kind of id a customer may paste finds its organization, with indexed lookups."""

import pytest
from django.urls import reverse

from fleetadmin.support import selectors
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

CONSOLE = reverse("support:console")


def found(query):
    """(kind, name, organization name) of every match."""
    return [(m.kind, m.name, m.organization.name) for m in selectors.search(query).matches]


def test_an_organization_by_name_is_case_insensitive_and_partial(fleet):
    assert found("acme") == [("Organization", "Acme Robotics", "Acme Robotics")]
    assert found("ROBOT") == [("Organization", "Acme Robotics", "Acme Robotics")]
    assert found("no such company") == []


def test_a_name_search_is_limited_and_says_so(db):
    for n in range(selectors.NAME_LIMIT + 3):
        OrganizationFactory(name=f"Umbrella {n:02d}")
    result = selectors.search("umbrella")
    assert len(result.matches) == selectors.NAME_LIMIT
    assert result.more_names


def test_an_organization_by_id(fleet):
    assert found(str(fleet.org.pk)) == [("Organization", "Acme Robotics", "Acme Robotics")]
    assert found(fleet.org.pk.hex) == [("Organization", "Acme Robotics", "Acme Robotics")]


def test_a_location_and_a_machine_by_id(fleet):
    assert found(str(fleet.line_a.pk)) == [("Location", "Line A", "Acme Robotics")]
    [match] = selectors.search(str(fleet.line_a.pk)).matches
    assert match.where == "under Headquarters"
    assert found(str(fleet.arm.pk)) == [("Machine", "arm-01", "Acme Robotics")]
    [match] = selectors.search(str(fleet.arm.pk)).matches
    assert match.where == "in Line A"


def test_an_api_key_by_id_inside_a_pasted_sentence(fleet, customer):
    sentence = f"Hi! Our key {customer.key.pk} stopped working this morning, can you check?"
    assert found(sentence) == [("API key", "deploy-bot", "Acme Robotics")]
    [match] = selectors.search(sentence).matches
    assert match.path == reverse("keys:detail", args=[fleet.org.pk, customer.key.pk])


def test_a_deleted_api_key_is_found_and_said_to_be_deleted(fleet, customer):
    from fleetadmin.keys.services import api_key_delete

    api_key_delete(actor=fleet.owner, key=customer.key)
    [match] = selectors.search(str(customer.key.pk)).matches
    assert (match.kind, match.where, match.path) == ("API key", "deleted", "")


def test_an_oauth_client_by_id(fleet, customer):
    client_id = str(customer.app.pk)
    assert found(client_id) == [("OAuth client", "Fleet dashboard", "Acme Robotics")]
    assert "OAuth client ID" in selectors.searchable_kinds()


def test_an_invoice_by_number_and_by_id(fleet, customer):
    by_number = found("invoice INV-00001 looks wrong")
    assert ("Invoice", "INV-00001", "Acme Robotics") in by_number
    assert ("Invoice", "INV-00001", "Initech") in by_number
    assert found(str(customer.invoice.pk)) == by_number
    assert "invoice number or ID" in selectors.searchable_kinds()


def test_a_members_email_finds_each_of_their_organizations(fleet):
    email = fleet.owner.email.upper()
    assert found(f"from: {email}") == [("Member", fleet.owner.email, "Acme Robotics")]
    [match] = selectors.search(email).matches
    assert match.where == "organization_owner"
    [match] = selectors.search(fleet.location_owner.email).matches
    assert match.where == "location_owner of Headquarters"
    assert found("nobody@example.com") == []


def test_a_pasted_secret_is_not_searched_and_the_engineer_is_warned(fleet, customer, client_for, support):
    pasted = f"{customer.key.pk}:{customer.key_value}"
    result = selectors.search(pasted)
    assert [m.kind for m in result.matches] == ["API key"]
    assert result.notes and "was not searched" in result.notes[0]
    response = client_for(support).post(CONSOLE, {"q": pasted})
    content = response.content.decode()
    assert "looks like a key value or client secret" in content
    assert customer.key_value not in content and customer.key_value[:12] not in content  # never echoed back
    assert f'value="{customer.key.pk}:[secret removed]"' in content


def test_the_search_is_a_post_so_a_pasted_value_never_lands_in_a_url(fleet, customer, client_for, support):
    client = client_for(support)
    page = client.get(CONSOLE).content.decode()
    assert 'method="post"' in page and "hx-post=" in page and "hx-push-url" not in page
    assert "csrfmiddlewaretoken" in page
    # An old bookmark with ?q= is not searched (and so not echoed): the query must come in the body.
    response = client.get(CONSOLE, {"q": str(customer.key.pk)})
    assert response.status_code == 200 and "“deploy-bot”" not in response.content.decode()


def test_the_console_shows_what_matched_and_where(fleet, customer, client_for, support):
    response = client_for(support).post(CONSOLE, {"q": str(customer.key.pk)})
    content = response.content.decode()
    assert response.status_code == 200
    assert "API key" in content and "“deploy-bot”" in content and "Acme Robotics" in content
    assert str(customer.key.pk) in content and str(fleet.org.pk) in content
    open_url = reverse("support:open", args=[fleet.org.pk])
    assert f'href="{open_url}?next=' in content
    assert "Open with ticket…" in content


def test_the_console_answers_htmx_with_the_results_partial(fleet, client_for, support):
    response = client_for(support).post(CONSOLE, {"q": "acme"}, HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert "<html" not in content and 'id="support-results"' in content and "Acme Robotics" in content
    assert "HX-Request" in response["Vary"]


def test_nothing_found_says_so(fleet, client_for, support):
    response = client_for(support).post(CONSOLE, {"q": "zzz-nothing"})
    assert "Nothing matches “zzz-nothing”." in response.content.decode()


def test_a_search_is_a_handful_of_indexed_queries(fleet, customer, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        selectors.search(str(customer.key.pk))
    with django_assert_max_num_queries(2):
        selectors.search("acme")
    with django_assert_max_num_queries(3):
        selectors.search(fleet.owner.email)


def test_the_console_is_a_404_to_everyone_but_support_staff(fleet, client_for, support, staff):
    assert client_for(support).get(CONSOLE).status_code == 200
    for user in (staff, fleet.owner, fleet.operator):
        assert client_for(user).get(CONSOLE).status_code == 404
    assert client_for().get(CONSOLE).status_code == 302  # anonymous: sign in first


def test_a_superuser_is_support_staff(fleet, client_for):
    from tests.factories import UserFactory

    admin = UserFactory()
    admin.is_superuser = True
    admin.is_staff = True
    admin.save()
    # Support staff (superusers included) open the console only after a two-factor sign-in.
    assert client_for(admin).get(CONSOLE).status_code == 302
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=admin, name="Authenticator app", confirmed=True)
    assert client_for(admin).get(CONSOLE).status_code == 200
