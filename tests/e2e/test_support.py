"""Support in the browser: a ticket about a leaked key, resolved without seeing a secret, and seen by the customer."""

import re

from tests.e2e.test_keys import whoami

SUPPORT = "support@example.com"


def test_support_deletes_a_leaked_key_and_the_owner_sees_every_step(
    page, new_context, login, console_errors, unique, portal_server, demo_ids
):
    name = unique("leaked")
    created = portal_server.manage("create_api_key", "--org-id", demo_ids["org"], "--name", name)
    key_id = re.search(r"Key ID: (\S+)", created.stdout).group(1)
    key_value = re.search(r"Key Value: (\S+)", created.stdout).group(1)
    ticket = f"SUP-{int(key_id[:6], 16)}"
    assert whoami(portal_server.base_url, key_id, key_value)[0] == 200

    support = page
    login(support, SUPPORT)
    support.goto("/support/")
    support.get_by_label("Find an organization").fill(f"Hi, our key {key_id} leaked in a public repo, please kill it")
    support.get_by_role("button", name="Search").click()
    result = support.locator(".match", has_text=name)
    result.wait_for()
    assert "Acme Robotics" in result.inner_text()
    result.get_by_role("link", name="Open with ticket…").click()

    support.get_by_label("Ticket reference").fill("not a ticket")
    support.get_by_label("Reason").fill("Customer reports the key leaked on GitHub")
    support.get_by_role("button", name=re.compile("Open read-only")).click()
    assert "must match" in support.locator(".field-error").inner_text()
    support.get_by_label("Ticket reference").fill(ticket)
    support.get_by_role("button", name=re.compile("Open read-only")).click()
    support.wait_for_url(f"**/keys/{key_id}/")
    banner = support.get_by_role("region", name="Support access")
    assert ticket in banner.inner_text()
    assert support.get_by_role("link", name="Rotate…").count() == 0  # read-only: the owner's controls are gone

    banner.get_by_role("link", name="Delete this key…").click()
    support.get_by_role("button", name="Delete key").click()
    assert f"Deleted API key “{name}”" in support.locator("#messages").inner_text()
    assert whoami(portal_server.base_url, key_id, key_value)[1]["error"]["code"] == "deleted_key"
    support.get_by_role("region", name="Support access").get_by_role("button", name="End access").click()
    support.wait_for_url("**/support/")
    assert key_value not in support.content()

    owner = new_context().new_page()
    console_errors.attach(owner)
    login(owner, "owner@example.com")
    owner.goto(f"/orgs/{demo_ids['org']}/")
    owner.get_by_role("navigation", name="Acme Robotics").get_by_role("link", name="Support access").click()
    session = owner.locator(".session", has_text=ticket)
    text = session.inner_text()
    assert SUPPORT in text and "Customer reports the key leaked on GitHub" in text
    assert f"deleted api key {name}" in text and "Ended" in text
    assert "API key" in session.locator(".session-views").inner_text()
    owner.goto(f"/orgs/{demo_ids['org']}/audit/?q=ticket:{ticket}")
    log = owner.locator("main").inner_text()
    for action in ["support.access.open", "support.access.view", "keys.api_key.delete", "support.access.end"]:
        assert action in log
    assert not console_errors
