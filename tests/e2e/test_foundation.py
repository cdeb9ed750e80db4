"""Browser tests of the foundation: sign-in, the organization overview and its fleet tree.

Each test signs in through the real form, drives the real app (gunicorn, DEBUG=0,
the production CSP) and ends by asserting that the browser saw no CSP violation
and no JavaScript error.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

OWNER = "owner@example.com"
OPERATOR = "operator@example.com"
DEMO_ORG = "Acme Robotics"
SCREENSHOTS = Path("/tmp/e2e-shots")
ORG_URL = re.compile(r"/orgs/[0-9a-f-]{36}/$")


# --------------------------------------------------------------------------- page helpers


def open_org(page: Page, name: str = DEMO_ORG) -> None:
    """From anywhere, open an organization's overview through the organization list."""
    page.goto("/orgs/")
    page.locator("main").get_by_role("link", name=name, exact=True).click()
    expect(page).to_have_url(ORG_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def tree(page: Page) -> Locator:
    return page.get_by_role("tree", name="Locations and machines")


def location_item(scope: Page | Locator, name: str) -> Locator:
    return scope.get_by_role("treeitem", name=f"Location {name}", exact=True)


def machine_item(scope: Page | Locator, name: str) -> Locator:
    return scope.get_by_role("treeitem", name=f"Machine {name}", exact=True)


def form_titled(page: Page, title: str) -> Locator:
    return page.locator("form").filter(has=page.get_by_role("heading", name=title, exact=True))


def option_value(select: Locator, label: str) -> str:
    """The value of the option whose label (indented with em spaces by depth) is ``label``."""
    values = select.locator("option").evaluate_all(
        "(options, label) => options"
        "  .filter(o => o.textContent.replace(/\\u2003/g, '').trim() === label)"
        "  .map(o => o.value)",
        label,
    )
    assert len(values) == 1, f"expected one option labelled {label!r}, found {len(values)}"
    return values[0]


def set_marker(page: Page) -> None:
    """A value that only survives if the document is never reloaded or replaced."""
    page.evaluate("window.__marker = 42")


def assert_no_full_page_load(page: Page) -> None:
    assert page.evaluate("window.__marker") == 42, "the page was reloaded (full navigation) instead of swapped"


def add_location(page: Page, name: str, inside: str | None = None) -> None:
    form = form_titled(page, "Add a location")
    form.get_by_label("Location name").fill(name)
    parent = form.get_by_label("Inside")
    parent.select_option(value=option_value(parent, inside) if inside else "")
    form.get_by_role("button", name="Add location").click()
    expect(location_item(tree(page), name)).to_be_visible()


def add_machine(page: Page, name: str, location: str) -> None:
    form = form_titled(page, "Add a machine")
    # Not get_by_label("Machine name"): see test_overview_form_labels_point_at_their_own_fields.
    form.locator("input[name='name']").fill(name)
    select = form.locator("select[name='location']")
    select.select_option(value=option_value(select, location))
    form.get_by_role("button", name="Add machine").click()
    expect(machine_item(location_item(tree(page), location), name)).to_be_visible()


def flash(page: Page) -> Locator:
    return page.locator("#messages")


# --------------------------------------------------------------------------- tests


def test_owner_signs_in_and_sees_the_fleet_tree(page: Page, login, console_errors):
    login(page, OWNER)
    # The owner belongs to two organizations, so they land on the list, not inside one.
    expect(page).to_have_url(re.compile(r"/orgs/$"))
    main = page.locator("main")
    expect(main.get_by_role("link", name="Globex Logistics", exact=True)).to_be_visible()

    main.get_by_role("link", name=DEMO_ORG, exact=True).click()
    expect(page).to_have_url(ORG_URL)
    expect(page.get_by_role("heading", level=1)).to_have_text(DEMO_ORG)

    fleet = tree(page)
    for name in ("Headquarters", "Warehouse East", "Field Lab"):
        expect(location_item(fleet, name)).to_be_visible()
    headquarters = location_item(fleet, "Headquarters")
    line_a = location_item(headquarters, "Assembly Line A")
    for machine in ("arm-01", "arm-02", "vision-cell"):
        expect(machine_item(line_a, machine)).to_be_visible()
    expect(machine_item(location_item(headquarters, "Assembly Line B"), "arm-03")).to_be_visible()
    expect(machine_item(location_item(location_item(fleet, "Warehouse East"), "Dock 1"), "forklift-01")).to_be_visible()
    # The other organization's machines are not in this tree.
    expect(machine_item(fleet, "sorter-01")).to_have_count(0)

    assert not console_errors, "\n".join(console_errors)


def test_owner_adds_location_and_machine_without_reloading(page: Page, login, console_errors, unique):
    location, machine = unique("Test Bay"), unique("rover")
    login(page, OWNER)
    open_org(page)
    set_marker(page)

    add_location(page, location, inside="Field Lab")
    expect(location_item(location_item(tree(page), "Field Lab"), location)).to_be_visible()
    expect(flash(page)).to_contain_text(f"Location “{location}” created.")
    expect(page.locator("section#activity")).to_contain_text(f"created location {location}")
    assert_no_full_page_load(page)

    add_machine(page, machine, location)
    expect(flash(page)).to_contain_text(f"Machine “{machine}” added to {location}.")
    expect(page.locator("section#activity")).to_contain_text(f"created machine {machine}")
    assert_no_full_page_load(page)

    # The new location is offered in both forms' pickers after the swap (a page of options by name; the
    # search box next to each picker finds the rest).
    parent_labels = form_titled(page, "Add a location").get_by_label("Inside").locator("option").all_inner_texts()
    assert location in [label.strip() for label in parent_labels]

    # And it is all really stored: a fresh load shows the same tree.
    page.reload()
    expect(machine_item(location_item(location_item(tree(page), "Field Lab"), location), machine)).to_be_visible()
    assert not console_errors, "\n".join(console_errors)


def test_owner_renames_a_machine_inline(page: Page, login, console_errors, unique):
    location, first, second = unique("Rename Lab"), unique("bot-a"), unique("bot-b")
    renamed = unique("bot-renamed")
    login(page, OWNER)
    open_org(page)
    add_location(page, location)
    add_machine(page, first, location)
    add_machine(page, second, location)
    set_marker(page)

    page.get_by_role("link", name=f"Rename machine {first}", exact=True).click()
    field = page.get_by_label(f"New name for machine {first}", exact=True)
    expect(field).to_be_focused()
    expect(field).to_have_value(first)
    field.fill(renamed)
    page.locator("form.rename-form").get_by_role("button", name="Save").click()

    place = location_item(tree(page), location)
    expect(machine_item(place, renamed)).to_be_visible()
    expect(machine_item(place, first)).to_have_count(0)
    expect(page.locator("form.rename-form")).to_have_count(0)
    expect(flash(page)).to_contain_text(f"Renamed “{first}” to “{renamed}”.")
    expect(page.locator("section#activity")).to_contain_text("renamed machine")
    assert_no_full_page_load(page)

    # A sibling already has that name: the error shows inline and the row stays editable.
    page.get_by_role("link", name=f"Rename machine {second}", exact=True).click()
    field = page.get_by_label(f"New name for machine {second}", exact=True)
    expect(field).to_be_focused()
    field.fill(renamed)
    rename_form = page.locator("form.rename-form")
    rename_form.get_by_role("button", name="Save").click()
    error = rename_form.get_by_role("alert")
    expect(error).to_contain_text(f"A machine named “{renamed}” already exists in {location}.")
    expect(field).to_be_visible()
    expect(field).to_be_editable()
    expect(field).to_have_value(renamed)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()

    # Only spaces: the browser lets it through ("required" is satisfied), the server refuses it.
    field.fill("   ")
    rename_form.get_by_role("button", name="Save").click()
    expect(error).to_contain_text("This field is required.")
    expect(field).to_be_editable()

    # Empty: the browser's own validation keeps the form open, nothing is sent.
    field.fill("")
    rename_form.get_by_role("button", name="Save").click()
    assert field.evaluate("input => input.validity.valueMissing") is True
    expect(field).to_be_editable()

    # Cancel brings the tree back, unchanged.
    rename_form.get_by_role("link", name="Cancel").click()
    expect(rename_form).to_have_count(0)
    expect(machine_item(place, second)).to_be_visible()
    expect(machine_item(place, renamed)).to_have_count(1)
    assert_no_full_page_load(page)
    assert not console_errors, "\n".join(console_errors)


def test_owner_deletes_a_machine_after_confirming(page: Page, login, console_errors, unique):
    location, machine = unique("Scrap Bay"), unique("doomed")
    login(page, OWNER)
    open_org(page)
    add_location(page, location)
    add_machine(page, machine, location)
    set_marker(page)

    delete_posts: list[str] = []
    page.on("request", lambda r: r.method == "POST" and "/delete/" in r.url and delete_posts.append(r.url))
    dialogs: list[str] = []

    def dismiss(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    delete_link = page.get_by_role("link", name=f"Delete machine {machine}", exact=True)
    page.once("dialog", dismiss)
    delete_link.click()
    page.wait_for_timeout(300)  # give a (wrong) request time to leave
    assert dialogs == [f"Delete machine “{machine}”? This cannot be undone."]
    assert delete_posts == []
    expect(machine_item(tree(page), machine)).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    delete_link.click()
    expect(machine_item(tree(page), machine)).to_have_count(0)
    expect(location_item(tree(page), location)).to_be_visible()
    expect(flash(page)).to_contain_text(f"Deleted machine “{machine}”.")
    expect(page.locator("section#activity")).to_contain_text(f"deleted machine {machine}")
    assert len(delete_posts) == 1
    assert_no_full_page_load(page)
    assert not console_errors, "\n".join(console_errors)


def test_without_javascript_forms_and_links_still_work(new_context, login, console_errors, unique):
    context = new_context(java_script_enabled=False)
    page = context.new_page()
    console_errors.attach(page)
    location = unique("No-JS Room")

    login(page, OWNER)
    open_org(page)
    form = form_titled(page, "Add a location")
    form.get_by_label("Location name").fill(location)
    form.get_by_label("Inside").select_option(value="")
    with page.expect_navigation():
        form.get_by_role("button", name="Add location").click()
    expect(page).to_have_url(ORG_URL)
    expect(location_item(tree(page), location)).to_be_visible()
    expect(flash(page)).to_contain_text(f"Location “{location}” created.")

    # Delete is a link to a confirmation page when htmx is not there to ask.
    page.get_by_role("link", name=f"Delete location {location}", exact=True).click()
    expect(page).to_have_url(re.compile(r"/locations/[0-9a-f-]{36}/delete/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Delete location “{location}”?")
    page.get_by_role("button", name="Delete location").click()
    expect(page).to_have_url(ORG_URL)
    expect(flash(page)).to_contain_text(f"Deleted location “{location}”.")
    expect(location_item(tree(page), location)).to_have_count(0)
    assert not console_errors, "\n".join(console_errors)


def test_operator_sees_the_tree_but_no_way_to_change_it(page: Page, login, console_errors):
    login(page, OPERATOR)
    # The operator belongs to one organization only; opening it from the list works too.
    open_org(page)
    fleet = tree(page)
    expect(location_item(fleet, "Headquarters")).to_be_visible()
    expect(machine_item(fleet, "arm-01")).to_be_visible()

    main = page.locator("main")
    expect(fleet.get_by_role("link", name=re.compile(r"^(Rename|Delete) (location|machine) "))).to_have_count(0)
    expect(fleet.get_by_text(re.compile(r"^(Rename|Delete)$"))).to_have_count(0)
    expect(main.locator("a[href*='/rename/'], a[href*='/delete/'], [hx-post], [hx-delete]")).to_have_count(0)
    for heading in ("Add a location", "Add a machine"):
        expect(main.get_by_role("heading", name=heading)).to_have_count(0)
    expect(main.get_by_role("button", name=re.compile(r"^Add (location|machine)$"))).to_have_count(0)
    expect(main.locator("form[method='post']")).to_have_count(0)
    assert not console_errors, "\n".join(console_errors)


def test_copy_button_copies_the_organization_id(page: Page, context, grant_clipboard, login, console_errors):
    grant_clipboard(context)
    login(page, OWNER)
    open_org(page)

    org_id = page.locator(".page-header code").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", org_id)
    assert page.url.rstrip("/").endswith(org_id)
    button = page.get_by_role("button", name=f"Copy organization ID {org_id}", exact=True)
    expect(button).to_have_text("Copy")
    button.click()
    expect(button).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == org_id
    expect(button).to_have_text("Copy", timeout=5_000)  # and it goes back
    assert not console_errors, "\n".join(console_errors)


def test_overview_fits_a_phone_screen(page: Page, login, console_errors):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    login(page, OWNER)
    open_org(page)

    page.set_viewport_size({"width": 1400, "height": 900})
    expect(location_item(tree(page), "Headquarters")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "overview-desktop.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(location_item(tree(page), "Headquarters")).to_be_visible()
    expect(form_titled(page, "Add a machine")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "overview-narrow.png"), full_page=True)
    widths = page.evaluate("() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert widths["scroll"] <= widths["inner"] + 1, f"horizontal scroll at 390px: {widths}"
    assert not console_errors, "\n".join(console_errors)


def test_overview_form_labels_point_at_their_own_fields(page: Page, login, console_errors):
    """Every label on the overview names exactly one field, inside its own form (no duplicate ids)."""
    login(page, OWNER)
    open_org(page)

    duplicates = page.evaluate(
        "() => { const seen = {}; document.querySelectorAll('[id]').forEach(e => seen[e.id] = (seen[e.id] || 0) + 1);"
        " return Object.keys(seen).filter(id => seen[id] > 1); }"
    )
    assert duplicates == [], f"duplicate element ids on the overview: {duplicates}"
    machine_form = form_titled(page, "Add a machine")
    expect(machine_form.get_by_label("Machine name", exact=True)).to_have_count(1)
    expect(page.get_by_label("Machine name", exact=True)).to_have_attribute("name", "name")
    assert (
        page.get_by_label("Machine name", exact=True).evaluate(
            "input => input.closest('form').querySelector('h3').textContent"
        )
        == "Add a machine"
    )
    assert not console_errors, "\n".join(console_errors)


GRANT_LOCATION_OWNER = """
from django.contrib.auth import get_user_model
from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet import services
from fleetadmin.fleet.models import Location, Organization, Role

organization = Organization.objects.get(name={org!r})
location = Location.objects.get(organization=organization, parent=None, name={location!r})
user = get_user_model().objects.create_user(email={email!r}, password={password!r}, full_name="Lena Location")
services.membership_grant(
    actor=SYSTEM, user=user, organization=organization, role=Role.LOCATION_OWNER, location=location
)
"""


def test_location_owner_adds_a_machine_in_their_location(page: Page, login, console_errors, portal_server, unique):
    """A location owner works in their subtree only, and has no activity panel to update."""
    email = f"{unique('lena').replace(' ', '-')}@example.com"
    machine = unique("lena-bot")
    script = GRANT_LOCATION_OWNER.format(
        org=DEMO_ORG, location="Headquarters", email=email, password=portal_server.password
    )
    portal_server.manage("shell", "-c", script)

    login(page, email)
    expect(page).to_have_url(ORG_URL)  # one organization: straight in
    fleet = tree(page)
    expect(location_item(fleet, "Headquarters")).to_be_visible()
    expect(location_item(fleet, "Warehouse East")).to_have_count(0)
    expect(page.get_by_role("heading", name="Add a location")).to_have_count(0)
    expect(page.locator("section#activity")).to_have_count(0)
    set_marker(page)

    add_machine(page, machine, "Assembly Line B")
    expect(flash(page)).to_contain_text(f"Machine “{machine}” added to Assembly Line B.")
    assert_no_full_page_load(page)
    # The write's response must not carry an activity panel this page does not have
    # (htmx reports an out-of-band swap without a target as a console error).
    assert not console_errors, "\n".join(console_errors)
