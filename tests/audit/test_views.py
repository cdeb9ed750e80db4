"""The view-test matrix for the audit screens: anonymous, another organization, location owner, operator, owner;
with and without htmx. Plus the verify button, the htmx partial with its pushed URL, and the filter-form redirect."""

import html
import uuid
from urllib.parse import quote

import pytest

from fleetadmin.audit.models import AuditEvent, ChainVerification
from fleetadmin.fleet import services
from tests.audit.conftest import HTMX, event_url, export_url, log_url, tamper_update, verify_url

pytestmark = pytest.mark.django_db

USERS = ["anonymous", "outsider", "location_owner", "operator", "owner"]
READ_STATUS = {"anonymous": 302, "outsider": 404, "location_owner": 403, "operator": 200, "owner": 200}


@pytest.fixture
def events(fleet, audit_clock):
    services.machine_rename(actor=fleet.owner, machine=fleet.arm, name="arm-02")
    services.location_rename(actor=fleet.owner, location=fleet.warehouse, name="Depot")
    return list(AuditEvent.objects.filter(organization=fleet.org).order_by("id"))


def user_of(fleet, who):
    return None if who == "anonymous" else getattr(fleet, who)


def read_urls(fleet, events) -> dict[str, str]:
    return {
        "log": log_url(fleet.org),
        "event": event_url(fleet.org, events[0]),
        "export.csv": export_url(fleet.org, "csv"),
        "export.jsonl": export_url(fleet.org, "jsonl"),
    }


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("screen", ["log", "event", "export.csv", "export.jsonl"])
def test_read_matrix(fleet, events, client_for, screen, who, htmx):
    path = read_urls(fleet, events)[screen]
    response = client_for(user_of(fleet, who)).get(path, **(HTMX if htmx else {}))
    assert response.status_code == READ_STATUS[who]
    if who == "anonymous":
        assert response["Location"] == f"/accounts/sign-in/?next={quote(path)}"
    if response.status_code == 200 and not screen.startswith("export"):
        content = response.content.decode()
        assert "fleet.machine.rename" in content
        if screen == "log" and htmx:
            assert content.lstrip().startswith('<div id="events">') and "<html" not in content
        else:
            assert "<html" in content
    exports = AuditEvent.objects.filter(action="audit.log.export").count()
    assert exports == (1 if screen.startswith("export") and READ_STATUS[who] == 200 else 0)


@pytest.mark.parametrize("who", USERS)
def test_verify_matrix(fleet, events, client_for, who):
    response = client_for(user_of(fleet, who)).post(verify_url(fleet.org))
    expected = {"anonymous": 302, "outsider": 404, "location_owner": 403, "operator": 403, "owner": 302}[who]
    assert response.status_code == expected
    if who == "anonymous":
        assert response["Location"].startswith("/accounts/sign-in/?next=")
    if who == "owner":
        assert response["Location"] == log_url(fleet.org)
        verification = ChainVerification.objects.get()
        assert (verification.organization_id, verification.ok, verification.events_checked) == (fleet.org.pk, True, 2)
    else:
        assert not ChainVerification.objects.exists()


def test_verify_is_post_only(fleet, events, client_for):
    assert client_for(fleet.owner).get(verify_url(fleet.org)).status_code == 405
    assert not ChainVerification.objects.exists()


def test_operator_sees_no_verify_button_and_owner_does(fleet, events, client_for):
    operator_page = client_for(fleet.operator).get(log_url(fleet.org)).content.decode()
    assert "Verify now" not in operator_page
    assert verify_url(fleet.org) not in operator_page
    owner_page = client_for(fleet.owner).get(log_url(fleet.org)).content.decode()
    assert f'<form method="post" action="{verify_url(fleet.org)}">' in owner_page
    assert ">Verify now</button>" in owner_page


def test_verify_now_reports_the_result_on_the_log_page(fleet, events, audit_clock, client_for):
    client = client_for(fleet.owner)
    page = client.post(verify_url(fleet.org), follow=True).content.decode()
    assert "Chain verification: Verified 2 events." in page
    assert '<span class="status status-active">Chain verified</span>' in page

    audit_clock.advance(minutes=1)  # the one clock also dates verifications: the second one is the later
    tamper_update(events[1].pk, target_name="Somewhere else")
    page = html.unescape(client.post(verify_url(fleet.org), follow=True).content.decode())
    message = f"Event {events[1].pk} does not match its hash: its content was changed after it was recorded."
    assert f"Chain verification: {message}" in page
    assert "Chain broken" in page
    assert list(ChainVerification.objects.order_by("verified_at", "id").values_list("ok", flat=True)) == [True, False]


def test_an_unknown_organization_is_404(fleet, client_for):
    assert client_for(fleet.owner).get(log_url(type(fleet.org)(pk=uuid.uuid4()))).status_code == 404


# ---- htmx and the shareable URL ----------------------------------------------------------------------------


def test_htmx_gets_the_events_partial_and_the_canonical_url(fleet, events, client_for):
    response = client_for(fleet.operator).get(log_url(fleet.org), {"q": "action:fleet.machine.  "}, **HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="events">')
    assert content.rstrip().endswith("</div>")
    assert "<html" not in content and "audit-filters" not in content
    assert response["HX-Push-Url"] == f"{log_url(fleet.org)}?q=action%3Afleet.machine."
    assert "HX-Request" in response["Vary"]
    assert "fleet.machine.rename" in content and "fleet.location.rename" not in content
    assert f'href="{export_url(fleet.org, "csv")}?q=action%3Afleet.machine."' in content
    assert f'href="{export_url(fleet.org, "jsonl")}?q=action%3Afleet.machine."' in content


def test_htmx_with_form_fields_pushes_the_query_url(fleet, events, client_for):
    response = client_for(fleet.owner).get(
        log_url(fleet.org), {"q": "", "actor": fleet.owner.email, "since": "2026-11-01", "until": "2026-11-30"}, **HTMX
    )
    assert response.status_code == 200
    email = fleet.owner.email.replace("@", "%40")
    assert response["HX-Push-Url"] == f"{log_url(fleet.org)}?q=actor%3A{email}+created%3A2026-11-01..2026-11-30"


def test_htmx_without_a_filter_pushes_the_bare_url(fleet, events, client_for):
    response = client_for(fleet.owner).get(log_url(fleet.org), {"q": ""}, **HTMX)
    assert response["HX-Push-Url"] == log_url(fleet.org)
    response = client_for(fleet.owner).get(log_url(fleet.org), {"q": "", "before": events[1].pk}, **HTMX)
    assert response["HX-Push-Url"] == f"{log_url(fleet.org)}?before={events[1].pk}"
    response = client_for(fleet.owner).get(log_url(fleet.org), {"q": "type:fleet.machine", "before": "99"}, **HTMX)
    assert response["HX-Push-Url"] == f"{log_url(fleet.org)}?q=type%3Afleet.machine&before=99"


def test_a_boosted_request_gets_the_full_page(fleet, events, client_for):
    response = client_for(fleet.owner).get(log_url(fleet.org), **HTMX, HTTP_HX_BOOSTED="true")
    assert b"<html" in response.content
    assert "HX-Push-Url" not in response


@pytest.mark.parametrize(
    ("params", "query"),
    [
        ({"actor": "x"}, "actor%3Ax"),
        ({"actor": "  x  ", "target_type": ""}, "actor%3Ax"),
        ({"action": "keys.", "ticket": "SUP 1"}, "action%3Akeys.+ticket%3A%27SUP+1%27"),
        ({"target_type": "fleet.machine", "target_id": "42"}, "type%3Afleet.machine+target%3A42"),
        ({"request_id": "abc"}, "request%3Aabc"),
        ({"since": "2026-11-01"}, "created%3A%3E%3D2026-11-01"),
        ({"until": "2026-11-30"}, "created%3A%3C%3D2026-11-30"),
        ({"since": "2026-11-01", "until": "2026-11-30"}, "created%3A2026-11-01..2026-11-30"),
        ({"q": "action:fleet. actor:a", "actor": "b"}, "actor%3Ab+action%3Afleet."),
    ],
)
def test_a_page_request_with_form_fields_redirects_to_the_query_url(fleet, events, client_for, params, query):
    response = client_for(fleet.owner).get(log_url(fleet.org), params)
    assert response.status_code == 302
    assert response["Location"] == f"{log_url(fleet.org)}?q={query}"
    followed = client_for(fleet.owner).get(response["Location"])
    assert followed.status_code == 200


def test_a_page_request_with_only_the_query_is_not_redirected(fleet, events, client_for):
    response = client_for(fleet.owner).get(log_url(fleet.org), {"q": "action:fleet."})
    assert response.status_code == 200
    assert 'value="action:fleet."' in response.content.decode()
    assert '<input id="f-action" type="text" name="action" value="fleet."' in response.content.decode()
