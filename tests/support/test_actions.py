"""Actions on a customer's behalf: each asks for confirmation, records exactly one event as support with the
ticket, and never reveals a secret."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from fleetadmin.audit.models import ActorType, AuditEvent
from fleetadmin.billing.models import BillingService
from fleetadmin.fleet import authz
from fleetadmin.fleet.models import Role
from fleetadmin.fleet.services import membership_grant
from fleetadmin.keys.auth import AuthenticationFailed, authenticate_key
from fleetadmin.keys.models import ApiKey
from fleetadmin.oauth.models import AuthService, OAuthApplication
from fleetadmin.oauth.services import client_secret_matches
from fleetadmin.support import services
from fleetadmin.support.access import SupportActionActor, SupportActor
from tests.factories import OrganizationFactory
from tests.keys.factories import issue
from tests.support.conftest import (
    ADDRESS,
    CLIENT_SECRET_PREFIX,
    KEY_VALUE_PREFIX,
    NEW_ADDRESS,
)

pytestmark = pytest.mark.django_db

NO_KEY = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def grant(fleet, support, open_grant):
    return open_grant(support, fleet.org, ticket="SUP-77", reason="Leaked key on GitHub")


def new_events(since: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(id__gt=since).order_by("id"))


def last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def assert_no_secret(*responses) -> None:
    for response in responses:
        content = response.content.decode()
        assert KEY_VALUE_PREFIX not in content and CLIENT_SECRET_PREFIX not in content


def assert_one_support_event(since: int, action: str, support, ticket: str = "SUP-77") -> AuditEvent:
    [event] = new_events(since)
    assert event.action == action
    assert (event.actor_type, event.actor_id, event.actor_name) == (ActorType.SUPPORT, str(support.pk), support.email)
    assert event.ticket == ticket
    return event


# ---- delete an API key -----------------------------------------------------------------------------


def test_deleting_a_leaked_key(fleet, customer, support, grant, client_for):
    client = client_for(support)
    url = reverse("support:delete_key", args=[grant.pk])
    confirm = client.get(url, {"key": str(customer.key.pk)})
    content = confirm.content.decode()
    assert confirm.status_code == 200
    assert "Delete “deploy-bot”?" in content and str(customer.key.pk) in content and "SUP-77" in content
    before = last_id()
    response = client.post(url, {"key": str(customer.key.pk)})
    assert response.status_code == 302 and response["Location"] == reverse("support:grant", args=[grant.pk])
    event = assert_one_support_event(before, "keys.api_key.delete", support)
    assert event.target_id == str(customer.key.pk)
    assert ApiKey.objects.get(pk=customer.key.pk).deleted_at is not None
    with pytest.raises(AuthenticationFailed) as failure:
        authenticate_key(customer.key.pk, customer.key_value)
    assert failure.value.code == "deleted_key"
    landing = client.get(response["Location"])
    assert "Deleted API key “deploy-bot” of Acme Robotics (ticket SUP-77)." in landing.content.decode()
    assert_no_secret(confirm, response, landing)


def test_the_key_page_offers_the_delete_action_in_the_banner(fleet, customer, support, grant, client_for):
    response = client_for(support).get(reverse("keys:detail", args=[fleet.org.pk, customer.key.pk]))
    action = reverse("support:delete_key", args=[grant.pk]) + f"?key={customer.key.pk}"
    assert f'href="{action}"' in response.content.decode()


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        ("not-a-key", 400, "An API key ID is a UUID such as 2f1c6a8e-4b7d-4f0e-9a51-0c3b5d7e9f12; got &#x27;not-a-key"),
        (NO_KEY, 404, f"Acme Robotics has no live API key with ID {NO_KEY}."),
    ],
)
def test_a_key_id_that_is_not_the_customers_is_explained(fleet, support, grant, client_for, raw, status, message):
    response = client_for(support).post(reverse("support:delete_key", args=[grant.pk]), {"key": raw})
    assert response.status_code == status
    assert message in response.content.decode()
    assert '<label for="delete-key-id">API key ID</label>' in response.content.decode()


def test_a_key_of_another_organization_cannot_be_deleted(fleet, support, grant, client_for):
    other_key = issue(fleet.outsider, fleet.outsider.memberships.get().organization, name="theirs").key
    before = last_id()
    response = client_for(support).post(reverse("support:delete_key", args=[grant.pk]), {"key": str(other_key.pk)})
    assert response.status_code == 404
    assert ApiKey.objects.get(pk=other_key.pk).deleted_at is None
    assert new_events(before) == []


# ---- OAuth client secret -------------------------------------------------------------------------


def test_rotating_a_client_secret_shows_no_secret(fleet, customer, support, grant, client_for):
    client = client_for(support)
    url = reverse("support:rotate_oauth_secret", args=[grant.pk, customer.app.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200 and "Rotate the client secret of “Fleet dashboard”?" in confirm.content.decode()
    before = last_id()
    response = client.post(url)
    assert_one_support_event(before, "oauth.oauth_app.rotate", support)
    response = client.get(response["Location"])
    app = OAuthApplication.objects.get(pk=customer.app.pk)
    assert app.secret_hash != customer.app.secret_hash
    assert not client_secret_matches(app, customer.client_secret)
    assert "nobody has seen the new one" in response.content.decode()
    assert_no_secret(confirm, response, client.get(reverse("oauth:app_detail", args=[fleet.org.pk, app.pk])))


def test_the_secret_returned_by_the_service_is_not_returned_by_the_support_service(fleet, customer, support, grant):
    assert services.support_oauth_app_rotate_secret(actor=SupportActor(support, grant), app=customer.app) is None


# ---- auth service ----------------------------------------------------------------------------------


def test_disabling_and_enabling_the_auth_service(fleet, customer, support, grant, client_for):
    client = client_for(support)
    url = f"/support/grants/{grant.pk}/actions/auth-service/"
    confirm = client.get(url)
    assert "Disable the auth service of Acme Robotics?" in confirm.content.decode()
    before = last_id()
    client.post(url, {"enabled": "false"})
    assert_one_support_event(before, "oauth.auth_service.disable", support)
    assert not AuthService.objects.get(organization=fleet.org).enabled
    assert "Enable the auth service of Acme Robotics?" in client.get(url).content.decode()
    before = last_id()
    client.post(url, {"enabled": "true"})
    assert_one_support_event(before, "oauth.auth_service.enable", support)
    assert AuthService.objects.get(organization=fleet.org).enabled


def test_a_toggle_to_the_current_state_changes_nothing(fleet, customer, support, grant, client_for):
    before = last_id()
    response = client_for(support).post(f"/support/grants/{grant.pk}/actions/auth-service/", {"enabled": "true"})
    assert response.status_code == 302 and new_events(before) == []
    client = client_for(support)
    bad = client.post(f"/support/grants/{grant.pk}/actions/auth-service/", {"enabled": "maybe"})
    assert new_events(before) == []
    message = "enabled must be one of true, false; got &#x27;maybe&#x27;. Nothing was changed."
    assert message in client.get(bad["Location"]).content.decode()


# ---- billing address -------------------------------------------------------------------------------


def test_updating_the_billing_address_asks_to_confirm_then_records_one_event(
    fleet, customer, support, grant, client_for
):
    client = client_for(support)
    url = f"/support/grants/{grant.pk}/actions/billing-address/"
    form = client.get(url)
    assert form.status_code == 200 and '<label for="id_address">New billing address</label>' in form.content.decode()
    before = last_id()
    review = client.post(url, {"address": NEW_ADDRESS})
    content = review.content.decode()
    assert "Change the billing address?" in content and "500 Market St" in content and "123 Main St" in content
    assert new_events(before) == []
    assert BillingService.objects.get(organization=fleet.org).line1 == "123 Main St"
    done = client.post(url, {"address": NEW_ADDRESS, "confirm": "yes"})
    assert done.status_code == 302
    assert_one_support_event(before, "billing.service.update", support)
    assert BillingService.objects.get(organization=fleet.org).line1 == "500 Market St"


def test_an_unreadable_billing_address_is_explained(fleet, customer, support, grant, client_for):
    before = last_id()
    response = client_for(support).post(
        f"/support/grants/{grant.pk}/actions/billing-address/", {"address": "somewhere", "confirm": "yes"}
    )
    assert response.status_code == 422
    assert 'class="field-error"' in response.content.decode()
    assert new_events(before) == []
    assert ADDRESS.startswith("123 Main St")


# ---- who may act ---------------------------------------------------------------------------------


def action_urls(grant, customer):
    urls = [reverse("support:grant", args=[grant.pk]), reverse("support:delete_key", args=[grant.pk])]
    urls += [
        reverse("support:rotate_oauth_secret", args=[grant.pk, customer.app.pk]),
        reverse("support:auth_service", args=[grant.pk]),
    ]
    urls.append(reverse("support:billing_address", args=[grant.pk]))
    return urls


def test_action_pages_are_404_to_others(fleet, customer, grant, client_for, other_support, staff):
    for user in (other_support, staff, fleet.owner):
        for url in action_urls(grant, customer):
            assert client_for(user).get(url).status_code == 404, (user, url)
            assert client_for(user).post(url, {"key": str(customer.key.pk)}).status_code in {404, 405}


def test_after_expiry_actions_send_the_engineer_back_and_change_nothing(
    fleet, customer, support, grant, client_for, clock
):
    clock.advance(minutes=61)
    before = last_id()
    response = client_for(support).post(reverse("support:delete_key", args=[grant.pk]), {"key": str(customer.key.pk)})
    assert response.status_code == 302 and response["Location"] == reverse("support:console")
    assert ApiKey.objects.get(pk=customer.key.pk).deleted_at is None
    assert new_events(before) == []


def test_support_actions_are_permissions_of_fleet_authz(fleet, customer, support, grant, clock):
    actor = SupportActor(support, grant)
    assert authz.can(actor, "keys.view", customer.key) and authz.can(actor, "audit.view_log", fleet.org)
    assert not authz.can(actor, "keys.manage", customer.key)
    assert not authz.can(actor, "fleet.manage_members", fleet.org)
    assert authz.can(actor, "support.delete_key", customer.key)
    for user in (fleet.owner, fleet.operator, support):  # nobody else holds a support action
        assert not authz.can(user, "support.delete_key", customer.key)
    clock.advance(minutes=61)
    assert not authz.can(actor, "keys.view", customer.key)
    assert not authz.can(actor, "support.delete_key", customer.key)
    with pytest.raises(PermissionDenied):
        services.support_api_key_delete(actor=actor, key=customer.key)


def test_the_support_agent_role_covers_its_whole_organization_and_nothing_else(fleet, support, grant):
    """An authz rule (ORGANIZATION_WIDE_ROLES), not a Grant subclass: locations and machines included."""
    agent = authz.Grant(role=authz.SUPPORT_AGENT, organization_id=fleet.org.pk)
    assert all(
        agent.covers(obj) for obj in (fleet.org, fleet.hq, fleet.line_a, fleet.warehouse, fleet.arm, fleet.forklift)
    )
    assert not agent.covers(OrganizationFactory(name="Elsewhere"))
    grants = SupportActor(support, grant).fleet_grants()
    assert {(type(g), g.role) for g in grants} == {
        (authz.Grant, authz.SUPPORT_AGENT),
        (authz.Grant, "organization_operator"),
    }


def test_the_support_actor_is_not_a_proxy_of_the_user(fleet, support, grant):
    """It answers what a signed-in page asks, from the user; the user's other attributes are not reachable."""
    actor = SupportActor(support, grant)
    assert (actor.pk, actor.email, actor.is_authenticated, actor.is_support) == (support.pk, support.email, True, True)
    for name in ("memberships", "is_staff", "has_perm", "password", "_fleet_grants"):
        with pytest.raises(AttributeError):
            getattr(actor, name)
    actor.note = "kept on the actor"
    assert not hasattr(support, "note")


def test_a_grant_acts_only_in_its_own_organization(fleet, support, open_grant):
    elsewhere = open_grant(support, OrganizationFactory(name="Elsewhere"))
    key = issue(fleet.owner, fleet.org, name="not-yours").key
    actor = SupportActor(support, elsewhere)
    with pytest.raises(PermissionDenied):
        services.support_api_key_delete(actor=actor, key=key)
    with pytest.raises(ValueError, match="only in the organization of its grant"):
        SupportActionActor(actor, fleet.org)
    assert ApiKey.objects.get(pk=key.pk).deleted_at is None


def test_support_cannot_change_memberships(fleet, support, grant):
    with pytest.raises(PermissionDenied):
        membership_grant(
            actor=SupportActor(support, grant), user=support, organization=fleet.org, role=Role.ORGANIZATION_OWNER
        )
