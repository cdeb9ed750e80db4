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
