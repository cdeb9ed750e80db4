"""The auth service, branding and OAuth applications in a real browser."""

import re

from PIL import Image


def open_auth(page, login, demo_ids):
    login(page, "owner@example.com")
    page.goto(f"/orgs/{demo_ids['org']}/auth/")


def test_enable_and_disable_the_auth_service(page, login, demo_ids, console_errors):
    open_auth(page, login, demo_ids)
    state = page.locator("#auth-state")
    if "Enabled" in state.locator(".status").inner_text():
        page.get_by_role("link", name="Disable…").click()
        page.locator("input[name=confirm]").fill("disable")
        page.get_by_role("button", name="Disable auth service").click()
        page.wait_for_url(f"**/orgs/{demo_ids['org']}/auth/")
    page.evaluate("window.__marker = 1")
    page.get_by_role("button", name="Enable auth service").click()
    page.locator("#auth-state .status", has_text="Enabled").wait_for()
    assert page.evaluate("window.__marker") == 1  # swapped in place by htmx

    page.get_by_role("link", name="Disable…").click()
    assert "End users can no longer sign in" in page.locator("main").inner_text()
    page.locator("input[name=confirm]").fill("disabl")
    page.get_by_role("button", name="Disable auth service").click()
    assert "disable" in page.locator("main").inner_text()
    assert page.locator(".field-error, .form-errors").count() >= 1
    page.locator("input[name=confirm]").fill("disable")
    page.get_by_role("button", name="Disable auth service").click()
    page.wait_for_url(f"**/orgs/{demo_ids['org']}/auth/")
    assert page.locator("#auth-state .status").inner_text().strip() == "Disabled"
    assert not console_errors


def test_upload_a_logo_and_see_it_on_the_sign_in_preview(page, login, demo_ids, console_errors, tmp_path, unique):
    logo = tmp_path / "brand.png"
    Image.new("RGB", (120, 48), (200, 30, 60)).save(logo, format="PNG")
    open_auth(page, login, demo_ids)
    page.locator("input[name=logo]").set_input_files(str(logo))
    page.get_by_role("button", name="Upload logo").click()
    image = page.locator("#branding img")
    image.wait_for()
    assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) == 120
    email = f"help-{unique('x').split()[1]}@acme.example"
    page.locator("input[name=support_email]").fill(email)
    page.get_by_role("button", name="Save email").click()
    page.get_by_text("Support email saved.").wait_for()
    page.reload()
    assert page.locator("input[name=support_email]").input_value() == email
    page.get_by_role("link", name="Preview sign-in page").click()
    preview_logo = page.locator("main img").first
    preview_logo.wait_for()
    assert page.evaluate("(img) => img.naturalWidth", preview_logo.element_handle()) == 120
    assert email in page.locator("main").inner_text()
    assert "fleetadmin" not in page.locator("main").inner_text().lower()
    assert not console_errors


def test_oauth_app_lifecycle_with_inline_validation(page, login, demo_ids, console_errors, grant_clipboard, unique):
    grant_clipboard(page.context)
    open_auth(page, login, demo_ids)
    page.goto(f"/orgs/{demo_ids['org']}/auth/apps/new/")
    name = unique("console")
    page.get_by_label("Client name").fill(name)
    page.get_by_label("Client authentication").select_option("required")
    page.get_by_label("PKCE").select_option("required")
    page.get_by_label("URL validation policy").select_option("exact_match")
    page.locator("input[name=enabled_grants][value=authorization_code]").check()
    redirect = page.get_by_label("Redirect URLs")
    redirect.fill("http://app.example.com/callback")
    page.get_by_label("Logout URL").click()  # leaving the field validates it inline
    error = page.locator("#errors-redirect_uris .field-error")
    error.wait_for()
    assert "https" in error.inner_text()
    assert "/apps/new/" in page.url  # nothing was submitted
    redirect.fill("https://app.example.com/callback")
    page.get_by_label("Logout URL").fill("https://app.example.com/logout")
    page.get_by_label("Client name").click()
    page.wait_for_function("() => !document.querySelector('#errors-redirect_uris .field-error')")
    page.get_by_role("button", name="Create application").click()

    copy = page.get_by_role("button", name="Copy client secret")
    copy.wait_for()
    secret = copy.get_attribute("data-copy")
    assert secret.startswith("fas_")
    copy.click()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    client_id = re.search(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        page.locator(".secret-panel, main").first.inner_text(),
    ).group(0)

    page.goto(f"/orgs/{demo_ids['org']}/auth/apps/{client_id}/")
    detail = page.locator("main").inner_text()
    assert secret not in page.content()
    for expected in [
        name,
        "required",
        "exact_match",
        "https://app.example.com/callback",
        "https://app.example.com/logout",
        "authorization_code",
    ]:
        assert expected in detail, expected

    page.goto(f"/orgs/{demo_ids['org']}/auth/apps/{client_id}/edit/")
    page.get_by_label("Client name").fill(name + " v2")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"**/apps/{client_id}/")
    detail = page.locator("main").inner_text()
    assert name + " v2" in detail
    assert "https://app.example.com/callback" in detail and "authorization_code" in detail

    page.goto(f"/orgs/{demo_ids['org']}/auth/apps/{client_id}/delete/")
    page.locator("input[name=confirm]").fill("remove")
    page.get_by_role("button", name="Delete application").click()
    assert page.locator(".field-error, .form-errors").count() >= 1
    page.locator("input[name=confirm]").fill("delete")
    page.get_by_role("button", name="Delete application").click()
    page.wait_for_url("**/auth/apps/")
    assert client_id not in page.content()
    assert not console_errors
