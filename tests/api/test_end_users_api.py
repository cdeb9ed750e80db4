"""End users of the auth service through the JSON API: every kind of caller, exact error words, audit events."""

from __future__ import annotations

import pytest
from django.test import Client

from fleetadmin.audit.models import AuditEvent
from fleetadmin.core.actors import SYSTEM
from fleetadmin.idp import services
from fleetadmin.idp.models import EndUser, EndUserSession
from fleetadmin.idp.selectors import PAGE_SIZE
from tests.api.conftest import body, issue, key_client

pytestmark = pytest.mark.django_db

PASSWORD = "long-password-1"


def path(fleet, suffix: str = "") -> str:
    return f"/api/v1/organizations/{fleet.org.pk}/end-users{suffix}"


def error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return body(response)["error"]


@pytest.fixture
def ana(fleet) -> EndUser:
    return services.end_user_create(actor=SYSTEM, organization=fleet.org, email="ana@example.com", password=PASSWORD)


@pytest.fixture
def owner_api(fleet) -> Client:
    return key_client(issue(fleet, "organization_owner", fleet.org))


READ = {
    "anonymous": 401,
    "other_org_key": 404,
    "outsider": 404,
    "operator_key": 200,
    "operator": 200,
    "owner_key": 200,
    "owner": 200,
}
WRITE = {**READ, "operator_key": 403, "operator": 403}


@pytest.mark.parametrize("who", list(READ))
def test_list_and_read(fleet, callers, ana, who):
    listed = callers[who].get(path(fleet))
    read = callers[who].get(path(fleet, f"/{ana.pk}"))
    assert (listed.status_code, read.status_code) == (READ[who], READ[who]), listed.content
    if READ[who] == 200:
        page = body(listed)
        assert page["next"] is None
        assert [row["email"] for row in page["items"]] == ["ana@example.com"]
        row = body(read)
        assert row["id"] == str(ana.pk) and row["status"] == "active" and row["has_password"] is True
        assert "password" not in row and "invitation_hash" not in row
    elif who == "anonymous":
        assert error(listed, 401)["code"] == "missing_credentials"
    else:
        assert error(listed, 404)["code"] == "not_found"


@pytest.mark.parametrize("who", list(WRITE))
def test_invite(fleet, callers, who, django_capture_on_commit_callbacks, smtp_server):
    with django_capture_on_commit_callbacks(execute=True):
        response = callers[who].post(
            path(fleet), {"email": " Bo@Example.com ", "name": "Bo"}, content_type="application/json"
        )
    expected = {**WRITE, "owner_key": 201, "owner": 201}[who]
    assert response.status_code == expected, response.content
    invited = EndUser.objects.filter(organization=fleet.org, email="bo@example.com")
    if expected == 201:
        row = body(response)
        assert row["email"] == "bo@example.com" and row["name"] == "Bo" and row["status"] == "invited"
        assert row["has_password"] is False and row["invited_at"]
        assert "/invitation/" not in response.content.decode()  # the link goes only to the mailbox
        mail = smtp_server.wait_for("bo@example.com")[0].get_body(preferencelist=("plain",)).get_content()
        assert f"/oidc/{fleet.org.pk}/invitation/" in mail
        assert AuditEvent.objects.filter(action="idp.end_user.invite", target_id=row["id"]).count() == 1
    else:
        assert not invited.exists()
        if expected == 403:
            assert error(response, 403)["code"] == "forbidden"


@pytest.mark.parametrize(("action", "method"), [("disable", "post"), ("enable", "post"), ("", "delete")])
@pytest.mark.parametrize("who", list(WRITE))
def test_disable_enable_delete(fleet, callers, ana, who, action, method):
    if action == "enable":
        services.end_user_disable(actor=SYSTEM, user=ana)
    url = path(fleet, f"/{ana.pk}/{action}" if action else f"/{ana.pk}")
    response = getattr(callers[who], method)(url)
    expected = WRITE[who] if WRITE[who] != 200 else (204 if method == "delete" else 200)
    assert response.status_code == expected, response.content
    exists = EndUser.objects.filter(pk=ana.pk).first()
    if expected == 204:
        assert exists is None
        assert AuditEvent.objects.filter(action="idp.end_user.delete", target_id=str(ana.pk)).count() == 1
    elif expected == 200:
        assert body(response)["status"] == ("disabled" if action == "disable" else "active")
        assert exists.is_disabled is (action == "disable")
        assert AuditEvent.objects.filter(action=f"idp.end_user.{action}", target_id=str(ana.pk)).count() == 1
    else:
        assert exists is not None and exists.is_disabled is (action == "enable")  # unchanged


def test_disable_revokes_sessions_and_refuses_sign_in(fleet, owner_api, ana):
    from django.http import HttpResponse

    from fleetadmin.idp import auth
    from fleetadmin.idp.sessions import sign_in

    sign_in(HttpResponse(), ana)
    assert EndUserSession.objects.filter(end_user=ana).count() == 1
    assert owner_api.post(path(fleet, f"/{ana.pk}/disable")).status_code == 200
    assert not EndUserSession.objects.filter(end_user=ana).exists()
    result = auth.authenticate(organization=fleet.org, email=ana.email, password=PASSWORD, address="10.0.0.9")
    assert result.end_user is None


def test_keyset_pages_and_search(fleet, owner_api):
    for i in range(PAGE_SIZE + 2):
        EndUser.objects.create(organization=fleet.org, email=f"u{i:03}@example.com", created_at=fleet.org.created_at)
    first = body(owner_api.get(path(fleet)))
    assert len(first["items"]) == PAGE_SIZE and first["next"] == f"u{PAGE_SIZE - 1:03}@example.com"
    second = body(owner_api.get(path(fleet), {"after": first["next"]}))
    assert [r["email"] for r in second["items"]] == [f"u{PAGE_SIZE:03}@example.com", f"u{PAGE_SIZE + 1:03}@example.com"]
    assert second["next"] is None
    assert [r["email"] for r in body(owner_api.get(path(fleet), {"q": "U007"}))["items"]] == ["u007@example.com"]


def test_another_organizations_end_user_is_not_found(fleet, owner_api):
    from fleetadmin.fleet.models import Organization

    other = Organization.objects.get(name="Globex")
    theirs = services.end_user_create(actor=SYSTEM, organization=other, email="x@example.com", password=PASSWORD)
    for method, suffix in [("get", ""), ("post", "/disable"), ("delete", "")]:
        response = getattr(owner_api, method)(path(fleet, f"/{theirs.pk}{suffix}"))
        assert error(response, 404) == {"code": "not_found", "message": "No such end user."}
    theirs.refresh_from_db()
    assert not theirs.is_disabled


def test_a_bad_email_names_the_field_in_the_rules_words(fleet, owner_api):
    rule = services.not_an_email("not-an-email")
    assert rule == "'not-an-email' is not an email address, such as ana@example.com"
    err = error(owner_api.post(path(fleet), {"email": "not-an-email"}, content_type="application/json"), 400)
    assert err == {"code": "invalid", "message": f"email: {rule}", "fields": {"email": [rule]}}
    assert not EndUser.objects.filter(organization=fleet.org).exists()
    assert not AuditEvent.objects.filter(action="idp.end_user.invite").exists()


def test_a_missing_email_and_a_long_name(fleet, owner_api):
    err = error(owner_api.post(path(fleet), {"name": "x"}, content_type="application/json"), 400)
    assert err["code"] == "invalid" and list(err["fields"]) == ["email"]
    long_name = {"email": "long@example.com", "name": "n" * 151}
    err = error(owner_api.post(path(fleet), long_name, content_type="application/json"), 400)
    assert err["message"] == f"name: {services.name_too_long(151)}"
    assert err["message"] == "name: at most 150 characters are accepted; got 151"


def test_a_second_invitation_to_the_same_email(fleet, owner_api, ana):
    err = error(owner_api.post(path(fleet), {"email": "ANA@example.com"}, content_type="application/json"), 400)
    assert err["message"] == "email: ana@example.com already has an account in this organization"
    assert EndUser.objects.filter(organization=fleet.org).count() == 1


def test_a_malformed_end_user_id(fleet, owner_api):
    err = error(owner_api.post(path(fleet, "/not-a-uuid/disable")), 400)
    assert err["code"] == "invalid" and "end_user_id" in err["fields"]


def test_resend_and_revoke_an_invitation(fleet, owner_api, ana, django_capture_on_commit_callbacks, smtp_server):
    with django_capture_on_commit_callbacks(execute=True):
        invited = body(owner_api.post(path(fleet), {"email": "cy@example.com"}, content_type="application/json"))
    first_mail = smtp_server.wait_for("cy@example.com")[0].get_body(preferencelist=("plain",)).get_content()
    with django_capture_on_commit_callbacks(execute=True):
        resent = owner_api.post(path(fleet, f"/{invited['id']}/resend-invitation"))
    assert resent.status_code == 200 and body(resent)["status"] == "invited"
    mails = smtp_server.wait_for("cy@example.com", count=2)
    second_mail = mails[-1].get_body(preferencelist=("plain",)).get_content()
    token = first_mail.split("/invitation/")[1].split()[0]
    assert token not in second_mail  # a new link; the old one no longer works
    assert services.invitation_user(fleet.org, token) is None
    # ana set a password: no invitation to resend or revoke, in the service's words
    err = error(owner_api.post(path(fleet, f"/{ana.pk}/resend-invitation")), 400)
    assert err["message"] == "ana@example.com has no open invitation; they have already set a password."
    err = error(owner_api.delete(path(fleet, f"/{ana.pk}/invitation")), 400)
    assert err["message"] == "ana@example.com has no open invitation to revoke."
    assert owner_api.delete(path(fleet, f"/{invited['id']}/invitation")).status_code == 204
    assert not EndUser.objects.filter(pk=invited["id"]).exists()
    assert AuditEvent.objects.filter(action="idp.end_user.revoke_invitation", target_id=invited["id"]).count() == 1


def test_sign_out_everywhere(fleet, callers, ana):
    from django.http import HttpResponse

    from fleetadmin.idp.sessions import sign_in

    sign_in(HttpResponse(), ana)
    url = path(fleet, f"/{ana.pk}/sign-out-everywhere")
    assert error(callers["operator_key"].post(url), 403)["code"] == "forbidden"
    assert EndUserSession.objects.filter(end_user=ana).exists()
    response = callers["owner_key"].post(url)
    assert response.status_code == 200 and body(response) == {"id": str(ana.pk), "tokens_revoked": 0}
    assert not EndUserSession.objects.filter(end_user=ana).exists()
    assert AuditEvent.objects.filter(action="idp.end_user.sign_out_everywhere", target_id=str(ana.pk)).count() == 1
