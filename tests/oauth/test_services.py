"""Services: state, one audit event per change with its own action, secrets never stored or logged."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from fleetadmin.audit.models import AuditEvent
from fleetadmin.core.actors import SYSTEM
from fleetadmin.keys import tokens
from fleetadmin.oauth import services
from fleetadmin.oauth.models import AuthService, OAuthApplication
from tests.oauth.conftest import VALID_APP, image, png, png_bomb

pytestmark = pytest.mark.django_db


def only_event(**filters) -> AuditEvent:
    (event,) = AuditEvent.objects.filter(**filters)
    return event


def events_since(before: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(id__gt=before).order_by("id"))


def last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


# ---- auth service ----------------------------------------------------------------------------------


def test_enable_and_disable_are_reversible_and_keep_the_configuration(fleet, make_app):
    owner, org = fleet.owner, fleet.org
    services.support_email_set(actor=owner, organization=org, email="help@acme.test")
    services.logo_set(actor=owner, organization=org, data=png())
    issued = make_app()
    start = last_id()

    services.auth_service_enable(actor=owner, organization=org)
    services.auth_service_disable(actor=owner, organization=org)
    service = AuthService.objects.get(organization=org)
    assert service.enabled is False
    assert service.support_email == "help@acme.test" and service.has_logo
    assert OAuthApplication.objects.filter(pk=issued.app.pk).exists()

    services.auth_service_enable(actor=owner, organization=org)
    assert AuthService.objects.get(organization=org).enabled is True
    actions = [(e.action, e.changes) for e in events_since(start)]
    assert actions == [
        ("oauth.auth_service.enable", {"before": {"enabled": False}, "after": {"enabled": True}}),
        ("oauth.auth_service.disable", {"before": {"enabled": True}, "after": {"enabled": False}}),
        ("oauth.auth_service.enable", {"before": {"enabled": False}, "after": {"enabled": True}}),
    ]
    event = events_since(start)[0]
    assert (event.target_type, event.target_id, event.target_name) == (
        "oauth.authservice",
        str(org.pk),
        "Auth service of Acme Robotics",
    )


def test_enabling_twice_records_one_event(fleet):
    services.auth_service_enable(actor=fleet.owner, organization=fleet.org)
    services.auth_service_enable(actor=fleet.owner, organization=fleet.org)
    assert AuditEvent.objects.filter(action="oauth.auth_service.enable").count() == 1
    services.auth_service_disable(actor=fleet.owner, organization=fleet.org)
    services.auth_service_disable(actor=fleet.owner, organization=fleet.org)
    assert AuditEvent.objects.filter(action="oauth.auth_service.disable").count() == 1


@pytest.mark.parametrize("who", ["operator", "location_owner", "outsider"])
def test_only_organization_owners_change_the_auth_service(fleet, who, make_app):
    actor = getattr(fleet, who)
    app = make_app().app
    start = last_id()
    attempts = [
        lambda: services.auth_service_enable(actor=actor, organization=fleet.org),
        lambda: services.auth_service_disable(actor=actor, organization=fleet.org),
        lambda: services.logo_set(actor=actor, organization=fleet.org, data=png()),
        lambda: services.logo_remove(actor=actor, organization=fleet.org),
        lambda: services.support_email_set(actor=actor, organization=fleet.org, email="x@acme.test"),
        lambda: services.oauth_app_create(actor=actor, organization=fleet.org, **VALID_APP),
        lambda: services.oauth_app_update(actor=actor, app=app, client_name="pwned"),
        lambda: services.oauth_app_rotate_secret(actor=actor, app=app),
        lambda: services.oauth_app_delete(actor=actor, app=app),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    assert events_since(start) == []
    assert OAuthApplication.objects.get(pk=app.pk).client_name == VALID_APP["client_name"]


# ---- branding --------------------------------------------------------------------------------------


def test_logo_set_and_remove_record_facts_never_bytes(fleet):
    data = png(120, 40)
    service = services.logo_set(actor=fleet.owner, organization=fleet.org, data=data)
    stored = AuthService.objects.get(organization=fleet.org)
    assert bytes(stored.logo) == data
    assert (stored.logo_width, stored.logo_height, stored.logo_size) == (120, 40, len(data))
    event = only_event(action="oauth.logo.set")
    assert event.changes == {
        "before": {"logo_sha256": None},
        "after": {"logo_sha256": service.logo_sha256, "logo_size": len(data), "logo_width": 120, "logo_height": 40},
    }

    services.logo_remove(actor=fleet.owner, organization=fleet.org)
    stored = AuthService.objects.get(organization=fleet.org)
    assert stored.logo is None and stored.logo_sha256 == "" and not stored.has_logo
    assert only_event(action="oauth.logo.remove").changes["after"] == {"logo_sha256": None}
    services.logo_remove(actor=fleet.owner, organization=fleet.org)  # nothing to remove: no event
    assert AuditEvent.objects.filter(action="oauth.logo.remove").count() == 1


@pytest.mark.parametrize("data", [image("JPEG"), png(10, 10), png_bomb()], ids=["jpeg", "tiny", "bomb"])
def test_a_refused_logo_changes_nothing(fleet, data):
    with pytest.raises(ValidationError):
        services.logo_set(actor=fleet.owner, organization=fleet.org, data=data)
    assert not AuthService.objects.filter(organization=fleet.org).exclude(logo_sha256="").exists()
    assert not AuditEvent.objects.exists()


def test_support_email_set_refuses_empty_and_records_the_change(fleet):
    with pytest.raises(ValidationError) as caught:
        services.support_email_set(actor=fleet.owner, organization=fleet.org, email=" ")
    assert caught.value.messages == ["enter the address end users write to for help; it cannot be empty"]
    services.support_email_set(actor=fleet.owner, organization=fleet.org, email="Help@Acme.TEST")
    services.support_email_set(actor=fleet.owner, organization=fleet.org, email=" Help@ACME.test")  # same
    event = only_event(action="oauth.support_email.set")
    assert event.changes == {"before": {"support_email": None}, "after": {"support_email": "Help@acme.test"}}


# ---- OAuth applications ----------------------------------------------------------------------------


def assert_secret_nowhere(secret: str) -> None:
    """Not in any column of any application, nor in any audit event."""
    rows = json.dumps(list(OAuthApplication.objects.values()), default=str)
    assert secret not in rows
    audit = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert secret not in audit


def test_create_returns_the_secret_once_and_stores_only_its_hash(fleet):
    issued = services.oauth_app_create(actor=fleet.owner, organization=fleet.org, **VALID_APP)
    app = OAuthApplication.objects.get(pk=issued.app.pk)
    assert issued.client_secret.startswith("fas_") and tokens.is_well_formed(issued.client_secret, "fas_")
    assert tokens.verify(issued.client_secret, tokens.StoredSecret(app.secret_hash, app.pepper_id))
    assert services.client_secret_matches(app, issued.client_secret)
    tampered = issued.client_secret[:-1] + ("x" if issued.client_secret[-1] != "x" else "y")
    assert not services.client_secret_matches(app, tampered)
    assert app.client_id == str(app.pk) and app.organization == fleet.org
    assert app.created_by == fleet.owner and app.created_by_name == fleet.owner.email
    assert_secret_nowhere(issued.client_secret)
    event = only_event(action="oauth.oauth_app.create")
    assert event.target_id == str(app.pk) and event.target_type == "oauth.oauthapplication"
    assert event.changes == {"after": {**VALID_APP, "client_secret": "[redacted]"}}


def test_create_validates_with_the_shared_rules(fleet):
    bad = {
        **VALID_APP,
        "redirect_uris": ["http://example.com/cb"],
        "client_authentication": "not_required",
        "pkce": "not_required",
    }
    with pytest.raises(ValidationError) as caught:
        services.oauth_app_create(actor=fleet.owner, organization=fleet.org, **bad)
    assert set(caught.value.message_dict) == {"redirect_uris", "pkce"}
    assert not OAuthApplication.objects.exists() and not AuditEvent.objects.exists()


def test_create_twice_with_one_form_token_creates_one_app(fleet):
    first = services.oauth_app_create(actor=fleet.owner, organization=fleet.org, **VALID_APP, creation_token="t1")
    with pytest.raises(services.DuplicateSubmission) as caught:
        services.oauth_app_create(actor=fleet.owner, organization=fleet.org, **VALID_APP, creation_token="t1")
    assert caught.value.created.pk == first.app.pk
    assert OAuthApplication.objects.count() == 1


def test_update_changes_only_the_given_fields(fleet, make_app):
    app = make_app().app
    created = OAuthApplication.objects.get(pk=app.pk)
    start = last_id()
    services.oauth_app_update(actor=fleet.owner, app=app, client_name="Renamed dashboard")
    updated = OAuthApplication.objects.get(pk=app.pk)
    assert updated.client_name == "Renamed dashboard"
    for name in ["client_authentication", "pkce", "url_validation", "enabled_grants", "redirect_uris", "logout_uri",
                 "origin_uris", "invite_redirect_uri", "secret_hash", "created_at"]:  # fmt: skip
        assert getattr(updated, name) == getattr(created, name), name
    assert updated.updated_at >= created.updated_at
    (event,) = events_since(start)
    assert event.action == "oauth.oauth_app.update"
    assert event.changes == {
        "before": {"client_name": "Fleet dashboard"},
        "after": {"client_name": "Renamed dashboard"},
    }


def test_update_validates_the_merged_configuration(fleet, make_app):
    app = make_app(client_authentication="not_required").app
    with pytest.raises(ValidationError) as caught:
        services.oauth_app_update(actor=fleet.owner, app=app, pkce="not_required")
    assert list(caught.value.message_dict) == ["pkce"]
    assert OAuthApplication.objects.get(pk=app.pk).pkce == "required"


def test_update_with_nothing_new_records_nothing(fleet, make_app):
    app = make_app().app
    start = last_id()
    services.oauth_app_update(
        actor=fleet.owner,
        app=app,
        redirect_uris="HTTPS://Dashboard.example.com/callback",
        client_name=" Fleet dashboard",
    )
    assert events_since(start) == []


def test_rotate_issues_a_new_secret_and_the_old_one_stops_matching(fleet, make_app):
    issued = make_app()
    start = last_id()
    rotated = services.oauth_app_rotate_secret(actor=fleet.owner, app=issued.app)
    app = OAuthApplication.objects.get(pk=issued.app.pk)
    assert rotated.client_secret != issued.client_secret
    assert services.client_secret_matches(app, rotated.client_secret)
    assert not services.client_secret_matches(app, issued.client_secret)
    assert app.secret_rotated_at is not None
    assert_secret_nowhere(rotated.client_secret)
    (event,) = events_since(start)
    assert event.action == "oauth.oauth_app.rotate"
    assert event.changes["before"]["client_secret"] == "[redacted]"
    assert event.changes["after"]["client_secret"] == "[redacted]"


def test_delete_records_the_configuration_it_removes(fleet, make_app):
    app = make_app().app
    start = last_id()
    services.oauth_app_delete(actor=fleet.owner, app=app)
    assert not OAuthApplication.objects.filter(pk=app.pk).exists()
    (event,) = events_since(start)
    assert event.action == "oauth.oauth_app.delete"
    assert event.changes == {"before": VALID_APP}
    assert event.target_name == "Fleet dashboard"


def test_every_action_has_its_own_name(fleet, make_app):
    owner, org = fleet.owner, fleet.org
    services.auth_service_enable(actor=owner, organization=org)
    services.auth_service_disable(actor=owner, organization=org)
    services.logo_set(actor=owner, organization=org, data=png())
    services.logo_remove(actor=owner, organization=org)
    services.support_email_set(actor=owner, organization=org, email="help@acme.test")
    issued = services.oauth_app_create(actor=owner, organization=org, **VALID_APP)
    services.oauth_app_update(actor=owner, app=issued.app, client_name="Other")
    services.oauth_app_rotate_secret(actor=owner, app=issued.app)
    services.oauth_app_delete(actor=owner, app=issued.app)
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "oauth.auth_service.enable",
        "oauth.auth_service.disable",
        "oauth.logo.set",
        "oauth.logo.remove",
        "oauth.support_email.set",
        "oauth.oauth_app.create",
        "oauth.oauth_app.update",
        "oauth.oauth_app.rotate",
        "oauth.oauth_app.delete",
    ]
    assert all(event.organization_id == org.pk for event in AuditEvent.objects.all())


def test_the_system_actor_may_create_apps_for_management_commands(fleet):
    issued = services.oauth_app_create(actor=SYSTEM, organization=fleet.org, **VALID_APP)
    assert issued.app.created_by is None and issued.app.created_by_name == "system"
