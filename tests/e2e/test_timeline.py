"""The one audit timeline in the browser: two history pages, desktop and phone width, and the way to the full log."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import OWNER

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SHOTS = Path(os.environ.get("TIMELINE_SHOTS_DIR", "/tmp/shots-b"))
MINUTE = re.compile(r"^\w{3} \d{1,2}, \d{4} \d{2}:\d{2}$")  # "Dec 3, 2026 12:50": no seconds, no "ago"


@pytest.fixture
def key_with_history(portal_server, demo_ids, unique) -> dict:
    """A key of the demo organization created, then renamed, by its owner: two events in its history."""
    name = unique("timeline-bot").replace(" ", "-")
    code = f"""
import json
from django.contrib.auth import get_user_model
from fleetadmin.fleet.models import Organization, Role
from fleetadmin.keys.services import Grant, api_key_create, api_key_rename
owner = get_user_model().objects.get(email={OWNER!r})
org = Organization.objects.get(pk={demo_ids["org"]!r})
key = api_key_create(
    actor=owner, organization=org, grants=[Grant(role=Role.ORGANIZATION_OWNER, resource=org)], name={name!r}
).key
api_key_rename(actor=owner, key=key, name={name + "-renamed"!r})
print(json.dumps({{"key": str(key.pk), "name": {name + "-renamed"!r}}}))
"""
    return portal_server.query(code)


def _check_timeline(page: Page) -> None:
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_have_count(1)
    rows = timeline.get_by_test_id("timeline-event")
    assert rows.count() >= 1
    for index in range(rows.count()):
        row = rows.nth(index)
        time = row.locator("time")
        assert MINUTE.match(time.inner_text()), time.inner_text()
        assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", time.get_attribute("datetime"))
        assert row.locator("strong").first.inner_text().strip()  # who did it
    # Nothing in the card is wider than the card (a long action code or name wraps instead).
    overflow = timeline.evaluate(
        "card => [...card.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right"
        " > card.getBoundingClientRect().right + 0.5).map(e => e.outerHTML.slice(0, 80))"
    )
    assert overflow == []


def _shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("1280", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(size)
        _check_timeline(page)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        page.get_by_test_id("timeline").screenshot(path=str(SHOTS / f"{name}-{label}-timeline.png"))
    page.set_viewport_size(DESKTOP)


def test_key_history_and_its_full_history_in_the_log(page: Page, login, console_errors, demo_ids, key_with_history):
    org, key = demo_ids["org"], key_with_history["key"]
    page.set_viewport_size(DESKTOP)
    login(page, OWNER)
    page.goto(f"/orgs/{org}/keys/{key}/")
    timeline = page.get_by_test_id("timeline")
    expect(timeline.get_by_role("heading", name="History")).to_be_visible()
    rows = timeline.get_by_test_id("timeline-event")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("renamed api key")
    expect(rows.nth(1)).to_contain_text("created api key")
    expect(rows.nth(1)).to_contain_text("keys.api_key.create")
    _shoot(page, "key-detail")

    timeline.get_by_test_id("timeline-full").click()
    page.wait_for_url(re.compile(r"/audit/\?q="))
    query = page.locator("input[name=q]").first
    expect(query).to_have_value(f"type:keys.apikey target:{key}")
    assert page.locator("a[href*='/audit/events/']").count() >= 2  # both of the key's events, and only…
    expect(page.locator("main")).not_to_contain_text("location.create")  # …the key's: no fleet event
    assert not console_errors


def test_overview_activity_names_each_object(page: Page, login, console_errors, demo_ids):
    page.set_viewport_size(DESKTOP)
    login(page, OWNER)
    page.goto(f"/orgs/{demo_ids['org']}/")
    timeline = page.get_by_test_id("timeline")
    expect(timeline.get_by_role("heading", name="Activity")).to_be_visible()
    first = timeline.get_by_test_id("timeline-event").first
    expect(first.locator("strong").nth(1)).not_to_be_empty()  # the object the event is about
    _shoot(page, "overview")

    timeline.get_by_role("link", name="Refresh").click()  # htmx swaps the card for a fresh one
    expect(page.get_by_test_id("timeline")).to_have_count(1)
    _check_timeline(page)
    first_event = page.get_by_test_id("timeline-event").first.locator("a").first
    first_event.click()
    page.wait_for_url(re.compile(r"/audit/events/\d+/"))
    expect(page.locator("main")).to_contain_text("Address")  # the event's own page says where it came from
    assert not console_errors
