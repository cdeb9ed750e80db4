"""Every page that shows history shows it through templates/audit/_timeline.html, the same way.

One presentation: actor, the action's label, the time to the minute in a <time> element, no IP
(the event's own page has it), a "Full history" link that opens the audit log on exactly this
object, and one empty state.
"""

import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from fleetadmin.audit.context import RequestContext, bind_request_context
from fleetadmin.audit.models import AuditEvent
from fleetadmin.audit.timeline import Timeline, TimelineEntry, describe_action
from fleetadmin.billing import services as billing
from fleetadmin.billing.selectors import BILLING_ACTIONS
from fleetadmin.billing.templatetags.billing_tags import billing_event
from fleetadmin.core.actors import SYSTEM
from fleetadmin.keys import services as keys
from fleetadmin.oauth import services as oauth
from fleetadmin.oauth.models import AuthService
from tests.billing.conftest import SEED_ADDRESS
from tests.factories import OrganizationFactory
from tests.keys.factories import issue
from tests.oauth.conftest import VALID_APP

INCLUDE = "audit/_timeline.html"
IP = "203.0.113.77"
ITEM = re.compile(r'<li class="timeline-item" data-testid="timeline-event">.*?</li>', re.S)
MINUTE = re.compile(r'<time datetime="[^"]+" title="[^"]+ UTC">\w{3} \d{1,2}, \d{4} \d{2}:\d{2}</time>')


@pytest.fixture
def history(fleet, clock):
    """One event on each kind of page, each recorded from a known address; a second key to tell objects apart."""
    with bind_request_context(RequestContext(request_id="req-timeline", ip=IP)):
        key = issue(fleet.owner, fleet.org, name="timeline-bot").key
        other_key = issue(fleet.owner, fleet.org, name="other-bot").key
        app = oauth.oauth_app_create(actor=fleet.owner, organization=fleet.org, **VALID_APP).app
        oauth.auth_service_enable(actor=fleet.owner, organization=fleet.org)
        billing.billing_service_enable(actor=fleet.owner, organization=fleet.org, address=SEED_ADDRESS)
        customer = OrganizationFactory(name="Initech")
        billing.customer_attach(actor=SYSTEM, billing_organization=fleet.org, customer_id=customer.pk)
        invoice = billing.invoice_create(
            actor=fleet.owner,
            billing_organization=fleet.org,
            customer=customer,
            description="Fleet support, March",
            subtotal="100.00",
            tax="8.25",
        )
    org = fleet.org.pk

    def event(action, target):
        return AuditEvent.objects.get(organization=fleet.org, action=action, target_id=str(target.pk))

    invoice_event = event("billing.invoice.create", invoice)
    log = reverse("audit:log", args=[org])

    def screen(url, event, query="", label=describe_action, show_target=False):
        # (url, the event it must show, its label, names the target?, the "Full history" link, spelled out)
        return url, event, label, show_target, f"{log}?q={query}" if query else log

    return {
        "key": screen(
            reverse("keys:detail", args=[org, key.pk]),
            event("keys.api_key.create", key),
            f"type%3Akeys.apikey+target%3A{key.pk}",
        ),
        "oauth_app": screen(
            reverse("oauth:app_detail", args=[org, app.pk]),
            event("oauth.oauth_app.create", app),
            f"type%3Aoauth.oauthapplication+target%3A{app.pk}",
        ),
        "auth_service": screen(
            reverse("oauth:service", args=[org]),
            AuditEvent.objects.get(organization=fleet.org, action="oauth.auth_service.enable"),
            f"type%3Aoauth.authservice+target%3A{AuthService.objects.get(organization=fleet.org).pk}",
        ),
        "billing": screen(reverse("billing:service", args=[org]), invoice_event, "action%3Abilling.", billing_event),
        "invoice": screen(
            reverse("billing:invoice", args=[org, invoice.pk]),
            invoice_event,
            f"type%3Abilling.invoice+target%3A{invoice.pk}",
            billing_event,
        ),
        "overview": screen(
            reverse("fleet:organization", args=[org]), event("keys.api_key.create", other_key), show_target=True
        ),
        "_other_key": other_key,
    }


PAGES = ["key", "oauth_app", "auth_service", "billing", "invoice", "overview"]


def item_of(content: str, event: AuditEvent) -> str:
    """The timeline row of ``event`` in a page (each row links to its event's own page)."""
    link = reverse("audit:event", args=[event.organization_id, event.pk])
    (item,) = [item for item in ITEM.findall(content) if f'href="{link}"' in item]
    return item


def rendered_alone(event: AuditEvent, label, show_target: bool) -> str:
    """The row the include itself renders for ``event``: what every page must show, to the character."""
    timeline = Timeline(
        organization_id=event.organization_id,
        entries=[TimelineEntry(event=event, label=label(event))],
        full_url="",
        links=True,
        show_target=show_target,
    )
    html = render_to_string(INCLUDE, {"timeline": timeline, "dom_id": "t", "title": "T"})
    (item,) = ITEM.findall(html)
    return item


@pytest.mark.parametrize("screen", PAGES)
def test_every_history_page_shows_the_one_timeline(fleet, history, client_for, screen):
    url, event, label, show_target, full = history[screen]
    response = client_for(fleet.owner).get(url)
    assert response.status_code == 200
    assert INCLUDE in [template.name for template in response.templates]
    content = response.content.decode()
    assert content.count('data-testid="timeline"') == 1
    item = item_of(content, event)
    assert item == rendered_alone(event, label, show_target)
    assert f"<strong>{event.actor_name}</strong> {label(event)}" in item
    assert MINUTE.search(item), item  # absolute, to the minute; the seconds are in the title only
    assert f'<code class="mono">{event.action}</code>' in item
    assert event.ip == IP and IP not in content  # the event's own page shows where it came from
    assert f'href="{full}" data-testid="timeline-full">Full history</a>' in content


def test_the_same_event_reads_the_same_on_two_pages(fleet, history, client_for):
    client = client_for(fleet.owner)
    (billing_url, event, *_), (invoice_url, same, *_) = history["billing"], history["invoice"]
    assert event == same
    assert item_of(client.get(billing_url).content.decode(), event) == item_of(
        client.get(invoice_url).content.decode(), event
    )


@pytest.mark.parametrize("screen", ["key", "oauth_app", "invoice"])
def test_full_history_opens_the_log_on_that_object_alone(fleet, history, client_for, screen):
    client = client_for(fleet.owner)
    url, event, _label, _target, full = history[screen]
    assert f'href="{full}"' in client.get(url).content.decode()
    log = client.get(full)
    assert log.status_code == 200  # the canonical form: no redirect
    content = log.content.decode()
    assert reverse("audit:event", args=[fleet.org.pk, event.pk]) in content
    other = AuditEvent.objects.get(target_id=str(history["_other_key"].pk))
    assert reverse("audit:event", args=[fleet.org.pk, other.pk]) not in content
    shown = {int(n) for n in re.findall(rf"/orgs/{fleet.org.pk}/audit/events/(\d+)/", content)}
    assert shown == set(
        AuditEvent.objects.filter(target_type=event.target_type, target_id=event.target_id).values_list("id", flat=True)
    )


def test_a_viewer_who_cannot_read_the_log_sees_the_timeline_without_its_links(fleet, client_for, clock):
    key = issue(fleet.location_owner, fleet.hq, name="hq-bot").key
    response = client_for(fleet.location_owner).get(reverse("keys:detail", args=[fleet.org.pk, key.pk]))
    (section,) = re.findall(r'<section id="history".*?</section>', response.content.decode(), re.S)
    assert response.status_code == 200 and 'data-testid="timeline-event"' in section
    assert "Full history" not in section and "/audit/" not in section and MINUTE.search(section)


@pytest.mark.parametrize("name", ["oauth:service", "billing:service", "fleet:organization"])
def test_a_page_with_no_history_says_so(fleet, client_for, name):
    response = client_for(fleet.outsider).get(reverse(name, args=[fleet.outsider.memberships.get().organization_id]))
    content = response.content.decode()
    assert response.status_code == 200
    assert INCLUDE in [template.name for template in response.templates]
    assert 'data-testid="timeline-event"' not in content
    assert '<div class="empty" data-testid="timeline-empty"><p>No changes recorded yet.</p></div>' in content


def test_the_timeline_costs_one_query_whatever_the_history(fleet, client_for, clock, django_assert_max_num_queries):
    key = issue(fleet.owner, fleet.org, name="busy-bot").key
    client = client_for(fleet.owner)
    url = reverse("keys:detail", args=[fleet.org.pk, key.pk])
    client.get(url)
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    for n in range(15):
        keys.api_key_rename(actor=fleet.owner, key=key, name=f"busy-bot-{n}")
    with django_assert_max_num_queries(len(few)):
        content = client.get(url).content.decode()
    assert content.count('data-testid="timeline-event"') == 10  # the newest ten; the rest behind "Full history"


def test_the_billing_history_and_its_full_history_list_the_same_events(fleet, history, client_for):
    client = client_for(fleet.owner)
    url, *_, full = history["billing"]
    page = client.get(url).content.decode()
    log = client.get(full).content.decode()
    events = rf"/orgs/{fleet.org.pk}/audit/events/(\d+)/"
    billing_ids = list(
        AuditEvent.objects.filter(organization=fleet.org, action__startswith="billing.").values_list("id", flat=True)
    )
    assert billing_ids and set(BILLING_ACTIONS) >= set(
        AuditEvent.objects.filter(id__in=billing_ids).values_list("action", flat=True)
    )
    shown = [int(n) for n in re.findall(events, "".join(ITEM.findall(page)))]
    assert shown == sorted(billing_ids, reverse=True)[:10]
    assert {int(n) for n in re.findall(events, log)} == set(billing_ids)
