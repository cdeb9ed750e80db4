"""API keys in the browser: show once, copy, dependent pickers, rotation grace against the real server."""

import json
import re
import urllib.error
import urllib.request

KEY_VALUE = re.compile(r"^fak_[0-9A-Za-z]{46}$")


def whoami(base_url: str, key_id: str, value: str) -> tuple[int, dict]:
    request = urllib.request.Request(f"{base_url}/api/v1/whoami", headers={"Authorization": f"ApiKey {key_id}:{value}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def open_keys(page, login):
    login(page, "owner@example.com")
    page.goto("/orgs/")
    page.locator("main").get_by_role("link", name="Acme Robotics").click()
    page.get_by_role("navigation", name="Acme Robotics").get_by_role("link", name="API keys").click()
    page.wait_for_url("**/keys/")


def test_create_an_organization_key_copy_it_and_never_see_it_again(
    page, login, grant_clipboard, console_errors, unique, portal_server
):
    grant_clipboard(page.context)
    open_keys(page, login)
    page.get_by_role("link", name="Create API key").click()
    name = unique("ci-key")
    page.get_by_label("Name").fill(name)
    page.evaluate("window.__marker = 7")
    page.get_by_role("button", name="Create key").click()
    panel = page.locator(".secret-panel")
    panel.wait_for()
    assert page.evaluate("window.__marker") == 7  # htmx swapped the panel in: no navigation
    value = panel.locator("[data-testid=key-value]").inner_text().strip()
    key_id = panel.locator(".secret-list dd").first.locator("code").inner_text().strip()
    assert KEY_VALUE.match(value)
    assert "Keep this key somewhere safe; it has full write access to your organization." in panel.inner_text()
    panel.get_by_role("button", name="Copy key value").click()
    assert page.evaluate("navigator.clipboard.readText()") == value
    assert whoami(portal_server.base_url, key_id, value)[0] == 200

    page.reload()
    assert value not in page.content()
    page.go_back()
    assert value not in page.content()
    page.goto(f"/orgs/{whoami(portal_server.base_url, key_id, value)[1]['organization_id']}/keys/{key_id}/")
    assert name in page.content() and value not in page.content()
    page.goto(f"/orgs/{whoami(portal_server.base_url, key_id, value)[1]['organization_id']}/keys/")
    assert name in page.content() and value not in page.content()
    assert not console_errors


def test_create_a_machine_key_through_the_dependent_pickers(page, login, console_errors, unique, htmx_idle):
    open_keys(page, login)
    page.get_by_role("link", name="Create API key").click()
    page.locator("input[name=scope_type][value=robot]").check()  # the "Machine" scope radio
    # The server re-renders the form for the machine scope (only then does the location picker say this).
    page.get_by_text("narrows the machine list").wait_for()
    machine_select = page.locator("select[name=machine]")
    machine_select.wait_for(state="visible")
    htmx_idle(page)  # the re-rendered location select listens for "change" only once htmx has settled it
    page.locator("select[name=location]").select_option(label="Assembly Line A")
    # Other tests may add machines to Assembly Line A; what matters is that only its machines remain.
    page.wait_for_function(
        "() => { const names = [...document.querySelectorAll('select[name=machine] option')]"
        ".map(o => o.textContent.trim()); return names.includes('arm-01') && !names.includes('forklift-01'); }",
        polling=100,  # an interval, not animation frames, which a background page may not get
    )
    options = [o.strip() for o in machine_select.locator("option").all_inner_texts()]
    assert "arm-01" in options and "forklift-01" not in options
    htmx_idle(page)
    machine_select.select_option(label="arm-02")
    page.get_by_label("Operator: read access").check()
    name = unique("arm-02 reader")
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create key").click()
    panel = page.locator(".secret-panel")
    panel.wait_for()
    assert "Keep this key somewhere safe; it has read access to the machine arm-02." in panel.inner_text()
    page.get_by_role("link", name="Done: open the key").click()
    assert "robot_operator" in page.locator("section[aria-labelledby=auth-heading] table").inner_text()
    assert "arm-02" in page.locator("section[aria-labelledby=auth-heading] table").inner_text()
    assert not console_errors


def test_rotation_keeps_the_old_value_for_the_grace_period_only(
    page, login, console_errors, unique, server_clock, demo_ids
):
    base_url = server_clock.base_url
    created = server_clock.manage("create_api_key", "--org-id", demo_ids["org"], "--name", unique("rotating"))
    old_id = re.search(r"Key ID: (\S+)", created.stdout).group(1)
    old_value = re.search(r"Key Value: (\S+)", created.stdout).group(1)
    login(page, "owner@example.com")
    page.goto(f"/orgs/{demo_ids['org']}/keys/{old_id}/")
    page.get_by_role("link", name="Rotate…").click()
    page.get_by_label("1 hour").check()
    page.get_by_role("button", name="Rotate key").click()
    panel = page.locator(".secret-panel")
    panel.wait_for()
    new_value = panel.locator("[data-testid=key-value]").inner_text().strip()
    new_id = panel.locator(".secret-list dd").first.locator("code").inner_text().strip()
    assert new_id != old_id and KEY_VALUE.match(new_value)
    assert "keeps working until" in panel.inner_text()

    assert whoami(base_url, old_id, old_value)[0] == 200
    assert whoami(base_url, new_id, new_value)[0] == 200
    server_clock.advance_clock(59 * 60)
    assert whoami(base_url, old_id, old_value)[0] == 200
    server_clock.advance_clock(61 * 60)
    status, body = whoami(base_url, old_id, old_value)
    assert status == 401
    assert body["error"]["code"] == "rotated_out_key"
    assert new_id in body["error"]["message"]
    assert whoami(base_url, new_id, new_value)[0] == 200
    assert not console_errors
