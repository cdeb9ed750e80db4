"""What an org admin, an operator and a support engineer hit in the browser (issue 12), one test per defect."""

from __future__ import annotations

import re

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def org_page(page, login, path: str = "", email: str = "owner@example.com", *, org_id: str) -> None:
    login(page, email)
    page.goto(f"/orgs/{org_id}/{path}")


# ---- 1. audit log: a bare term searches; a bad query is an inline message, never a swapped-out page


def test_audit_bare_term_searches_and_a_bad_query_stays_inside_the_page(page, login, demo_ids, console_errors):
    org_page(page, login, "audit/", org_id=demo_ids["org"])
    page.get_by_label("Query").fill("arm-01")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"q=arm-01"))
    rows = page.locator("#events tbody tr")
    assert rows.count() >= 1
    assert all("arm-01" in text for text in rows.locator("td:nth-child(4)").all_inner_texts())
    assert page.get_by_role("navigation", name="Acme Robotics").is_visible()  # still the styled page

    page.get_by_label("Query").fill(demo_ids["arm"])
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(demo_ids["arm"]))
    assert rows.count() >= 1

    page.get_by_label("Query").fill("colour:red")
    page.get_by_role("button", name="Search").click()
    alert = page.locator("#events [role=alert]")
    alert.wait_for()
    assert "Unknown qualifier 'colour'" in alert.inner_text()
    assert page.get_by_role("navigation", name="Acme Robotics").is_visible()
    assert page.locator("h1").inner_text() == "Audit log"
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != "Times New Roman"
    assert not console_errors


# ---- 2. overview tree: names in full at every width; the id and the actions give way first

_CUT_NAMES = """(selector) => [...document.querySelectorAll(selector)].filter((el) => {
  const box = el.getBoundingClientRect(), row = el.closest('.node-row').getBoundingClientRect();
  return el.scrollWidth > el.clientWidth + 1 || box.right > row.right + 1 || box.width < 1
    || box.right > document.documentElement.clientWidth;
}).map((el) => el.textContent)"""


def test_overview_tree_shows_every_name_in_full_at_every_width(page, login, demo_ids, unique, console_errors):
    org_page(page, login, org_id=demo_ids["org"])
    long_name = unique("Field Test Site North Building Seven Loading Bay")
    page.get_by_label("Location name").fill(long_name)
    page.get_by_role("button", name="Add location").click()
    page.locator(".node-name", has_text=long_name).wait_for()
    for viewport in (PHONE, DESKTOP, {"width": 1440, "height": 900}):
        page.set_viewport_size(viewport)
        assert page.locator(".node-name").count() >= 10
        assert page.evaluate(_CUT_NAMES, ".node-name") == [], viewport
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], viewport
        for name in ("Field Lab", "Assembly Line A", "arm-01", "inventory-drone", long_name):
            assert page.locator(".node-name", has_text=name).first.inner_text() == name
    assert not console_errors


# ---- 3, 4. keys list: every column on screen at 1280, cards on a phone, rotated keys told apart


def _rotated_pair(portal_server, name: str) -> dict:
    return portal_server.query(
        "import json; from datetime import timedelta; from fleetadmin.fleet.models import Organization; "
        "from fleetadmin.accounts.models import User; from fleetadmin.keys.services import Grant, api_key_create, "
        "api_key_rotate; o = Organization.objects.get(name='Acme Robotics'); "
        "u = User.objects.get(email='owner@example.com'); "
        f"k = api_key_create(actor=u, organization=o, name={name!r}, "
        "grants=[Grant(role='organization_operator', resource=o)]).key; "
        "n = api_key_rotate(actor=u, key=k, grace=timedelta(days=1)).key; "
        "print(json.dumps({'old': str(k.pk), 'new': str(n.pk)}))"
    )


_OFF_SCREEN = """() => {
  const card = document.querySelector('#key-table .table-card').getBoundingClientRect();
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('#key-table th, #key-table td')]
    .filter((cell) => { const box = cell.getBoundingClientRect(); return box.right > Math.min(card.right, width) + 1; })
    .map((cell) => cell.textContent.trim().slice(0, 30));
}"""


def test_keys_list_fits_at_1280_and_tells_rotated_keys_apart(page, login, demo_ids, portal_server, unique):
    name = unique("ci-deploy-prod-eu").replace(" ", "-")
    pair = _rotated_pair(portal_server, name)
    page.set_viewport_size(DESKTOP)
    org_page(page, login, f"keys/?q={name}", org_id=demo_ids["org"])
    assert page.locator("#key-table tbody tr").count() == 2
    assert page.evaluate(_OFF_SCREEN) == []
    card = page.locator("#key-table .table-card")
    assert card.evaluate("(el) => el.scrollWidth <= el.clientWidth")  # no hidden sideways scroll
    link = page.locator("#key-table .key-name .strong-link").first
    line_height = float(link.evaluate("(el) => parseFloat(getComputedStyle(el).lineHeight)"))
    assert link.bounding_box()["height"] < 1.5 * line_height  # the name does not wrap at its hyphens

    old_row = page.locator("#key-table tbody tr", has=page.locator(f"input[value='{pair['old']}']"))
    new_row = page.locator("#key-table tbody tr", has=page.locator(f"input[value='{pair['new']}']"))
    assert "In grace" in old_row.inner_text() and "end of rotation grace" in old_row.inner_text()
    assert "never" not in old_row.locator("td[data-label=Expires]").inner_text()
    old_row.get_by_role("link", name=re.compile(pair["new"][:8])).click()
    page.wait_for_url(f"**/keys/{pair['new']}/")
    assert "Replaces" in page.locator(".facts").inner_text()
    page.go_back()
    assert "Replaces" in new_row.inner_text() and "Active" in new_row.inner_text()

    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for label in ("Name", "Access", "Status"):
        cell = new_row.locator(f"td[data-label={label}]")
        box = cell.bounding_box()
        assert cell.is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], label


# ---- 17, 19. after creating a key, focus is on the result's heading; id:value and ready lines copy


def test_created_key_takes_focus_and_offers_ready_lines(page, login, demo_ids, unique, grant_clipboard, portal_server):
    from tests.e2e.test_keys import whoami

    grant_clipboard(page.context)
    org_page(page, login, "keys/new/", org_id=demo_ids["org"])
    page.get_by_label("Name").fill(unique("ready-key").replace(" ", "-"))
    page.get_by_role("button", name="Create key").click()
    page.locator(".secret-panel").wait_for()
    page.wait_for_function("document.activeElement && document.activeElement.id === 'secret-heading'")
    pair = page.locator("[data-testid=key-pair]").inner_text().strip()
    page.get_by_role("button", name="Copy key ID and value").click()
    assert page.evaluate("navigator.clipboard.readText()") == pair
    key_id, value = pair.split(":", 1)
    assert whoami(portal_server.base_url, key_id, value)[0] == 200
    assert f"--key-id {key_id} --key {value}" in page.locator("[data-testid=key-login]").inner_text()
    assert f"ApiKey {pair}" in page.locator("[data-testid=key-curl]").inner_text()
