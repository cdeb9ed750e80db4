"""Issue 12 items 15 and 16 in the browser: computed styles a person would see, not markup."""

from __future__ import annotations

DESKTOP = {"width": 1280, "height": 900}


def test_billing_urls_wrap_between_segments_not_letter_by_letter(page, login, demo_ids):
    page.set_viewport_size(DESKTOP)
    login(page, "owner@example.com")
    page.goto(f"/orgs/{demo_ids['org']}/billing/")
    code = page.locator("code.config-url").first
    style = code.evaluate("e => [getComputedStyle(e).overflowWrap, getComputedStyle(e).wordBreak]")
    assert style == ["break-word", "normal"]
    text = code.evaluate("e => e.textContent")
    marks = sum(text.rstrip("/?&").count(mark) for mark in "/?&")
    assert code.locator("wbr").count() == marks - 1  # one break between segments, none inside "//"
    # Every line ends at a segment's end ("/", or "?" / "&" in the query): never inside "billing" or the UUID.
    lines = code.evaluate(
        """e => { const r = document.createRange(), tops = {}; let node;
          const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
          while ((node = walker.nextNode())) { for (let k = 0; k < node.length; k++) {
            r.setStart(node, k); r.setEnd(node, k + 1);
            const top = Math.round(r.getBoundingClientRect().top); (tops[top] = tops[top] || []).push(node.data[k]); } }
          return Object.keys(tops).sort((a, b) => a - b).map(k => tops[k].join('')); }"""
    )
    assert len(lines) >= 1
    for line in lines[:-1]:
        assert line.endswith(("/", "?", "&")), lines
    assert code.evaluate("e => e.textContent") == "".join(lines)


def test_the_signin_page_has_no_shadow_in_its_corner(page):
    page.goto("/accounts/sign-in/")
    skip = page.locator(".skip-link")
    assert skip.evaluate("e => getComputedStyle(e).boxShadow") == "none"  # off-screen: no shadow peeking in
    skip.focus()  # (the email field has autofocus; a keyboard user reaches the link with Shift+Tab)
    assert skip.evaluate("e => getComputedStyle(e).boxShadow") != "none"  # shown on focus, with its shadow


def test_the_logo_frame_shows_the_logo_at_the_sign_in_size(page, login, demo_ids):
    page.set_viewport_size(DESKTOP)
    login(page, "owner@example.com")
    page.goto(f"/orgs/{demo_ids['org']}/auth/")
    assert "a wide logo (such as 256 × 64) fills the width" in page.locator("#logo-help").inner_text()
    assert "Square logos look best" not in page.content()
    rules = page.evaluate(
        """() => { const probe = (cls) => { const d = document.createElement('div'); d.className = cls;
             const i = document.createElement('img'); d.appendChild(i); document.body.appendChild(d);
             const s = getComputedStyle(i); const r = [s.maxWidth, s.maxHeight]; d.remove(); return r; };
           return [probe('logo-frame'), probe('wl-logo')]; }"""
    )
    assert rules[0] == rules[1] == ["200px", "72px"]
    # and the page fits its window (a nowrap issuer URL used to widen it to 1446 px)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= DESKTOP["width"]


PHONE = {"width": 390, "height": 844}


def test_members_and_invitations_are_cards_at_390_px(page, login, demo_ids, unique):
    """Each member and each pending invitation is one card at 390 px: every field labelled, none off-screen."""
    login(page, "owner@example.com")
    page.goto(f"/orgs/{demo_ids['org']}/members/")
    email = unique("a.rather.long.colleague.address").replace(" ", "-") + "@example.com"
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send invitation").click()
    invitation = page.locator(".invitations-table tbody tr", has_text=email)
    invitation.wait_for()

    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    for table in (".members-table", ".invitations-table"):
        scroller = page.locator(f"{table}").locator("xpath=ancestor::div[contains(@class,'table-scroll')]")
        assert scroller.evaluate("e => e.scrollWidth <= e.clientWidth"), table  # nothing hidden sideways
        assert page.locator(f"{table} thead").is_hidden()
    owner = page.locator(".members-table tbody tr", has_text="owner@example.com")
    for label in ("Role", "Scope", "Two-factor", "Last sign-in", "Invited by"):
        cell = owner.locator(f"td[data-label='{label}']")
        box = cell.bounding_box()
        assert cell.is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], label
        # the label is drawn before the value, inside the card
        assert cell.evaluate("e => getComputedStyle(e, '::before').content") == f'"{label}"'
    for name in ("Change role", "Remove"):
        box = owner.get_by_role("link", name=name).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], name
    title = invitation.locator("td.row-title")
    assert title.evaluate("e => e.scrollWidth <= e.clientWidth + 1")  # the long address wraps inside its card
    for name in ("Resend", "Revoke"):
        box = invitation.get_by_role("button", name=name).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], name
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm asks before revoking
    invitation.get_by_role("button", name="Revoke").click()  # leave no pending invitation for the other tests
    invitation.wait_for(state="detached")


def test_a_key_page_fits_390_px(page, login, demo_ids, server_clock, unique):
    """The authorizations table scrolls inside its card; its visually-hidden header no longer widens the page."""
    created = server_clock.manage("create_api_key", "--org-id", demo_ids["org"], "--name", unique("narrow"))
    key_id = created.stdout.split("Key ID: ")[1].split()[0]
    login(page, "owner@example.com")
    page.set_viewport_size(PHONE)
    page.goto(f"/orgs/{demo_ids['org']}/keys/{key_id}/")
    assert page.locator("section[aria-labelledby=auth-heading] table").is_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_audit_log_keeps_every_column_in_view_with_a_long_address(page, login, demo_ids, unique):
    """At 1280 px a long invitee address wraps instead of pushing the summary out of the card; at 390 px
    each event is one card whose long values stay beside their labels, inside the screen."""
    login(page, "owner@example.com")
    page.goto(f"/orgs/{demo_ids['org']}/members/")
    email = unique("an.unusually.long.address.for.the.audit.log").replace(" ", "-") + "@example.com"
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send invitation").click()
    page.locator(".invitations-table tbody tr", has_text=email).wait_for()

    page.set_viewport_size(DESKTOP)
    page.goto(f"/orgs/{demo_ids['org']}/audit/?q=action:fleet.membership.invite")  # newest first: ours
    row = page.locator(".audit-table tbody tr").first
    assert email.split("@")[0][:20] in row.inner_text()
    scroller = page.locator(".audit-table").locator("xpath=ancestor::div[contains(@class,'table-card')]")
    assert scroller.evaluate("e => e.scrollWidth <= e.clientWidth"), "a column is hidden to the right"
    card = scroller.bounding_box()
    summary = row.locator("td.summary").bounding_box()
    assert summary["x"] + summary["width"] <= card["x"] + card["width"] + 1

    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator(".audit-table thead").is_hidden()
    for label in ("Target", "Summary"):
        cell = row.locator(f"td[data-label='{label}']")
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], label
        label_top = cell.evaluate("e => e.getBoundingClientRect().top")
        first_line = cell.evaluate(
            "e => { const r = document.createRange(); const t = [...e.childNodes].find(n => n.textContent.trim());"
            " r.selectNodeContents(t); return r.getClientRects()[0].top; }"
        )
        assert first_line - label_top < 12, f"{label}: the value starts below its label"
