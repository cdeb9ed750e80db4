"""The view-test matrix for every auth-service screen: anonymous, another organization, operator, owner; htmx or not."""

import re
from types import SimpleNamespace

import pytest
from django.urls import reverse

from fleetadmin.audit.models import AuditEvent
from fleetadmin.core.actors import SYSTEM
from fleetadmin.oauth import services
from fleetadmin.oauth.models import AuthService, OAuthApplication
from tests.factories import OrganizationFactory
from tests.matrix import HTMX, MEMBERS, OWNERS, ROLES, Matrix, Read, Write
from tests.oauth.conftest import VALID_APP, png

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=", re.I)


def url(name, *args):
    return reverse(f"oauth:{name}", args=args)


@pytest.fixture
def app(fleet, make_app):
    services.support_email_set(actor=fleet.owner, organization=fleet.org, email="help@acme.test")
    services.logo_set(actor=fleet.owner, organization=fleet.org, data=png())
    return make_app().app


@pytest.fixture
def world(fleet, app):
    return SimpleNamespace(org=fleet.org, app=app)


def at(name, *, app=False):
    """The path of an auth-service screen of the world's organization (and of its application)."""
    return lambda w: url(name, w.org.pk, *([w.app.pk] if app else []))


CONTROLS = [
    "Enable auth service",
    "Disable…",
    "Upload logo",
    "Remove logo",
    "Save email",
    "Create application",
    ">Edit<",
    "Rotate secret…",
    "Delete…",
    'name="support_email"',
    'type="file"',
]


def app_form(**overrides):
    return {
        **VALID_APP,
        "redirect_uris": "\n".join(VALID_APP["redirect_uris"]),
        "origin_uris": "\n".join(VALID_APP["origin_uris"]),
        "client_name": "Written app",
        **overrides,
    }


def service_of(world) -> AuthService:
    return AuthService.objects.get(organization=world.org)


def snapshot(world):
    service = service_of(world)
    apps = sorted(OAuthApplication.objects.values_list("pk", "client_name", "secret_hash"))
    return (service.enabled, service.logo_sha256, service.support_email, apps)


def no_inline_code_nor_controls_below_owner(response, world, read, role, htmx):
    """Every screen: no inline script or style under the CSP; below the owner, no control to change anything."""
    if read.html:
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
        assert not INLINE_STYLE.search(html), INLINE_STYLE.search(html)
        assert "unsafe-inline" not in response["Content-Security-Policy"]
        if role != "owner":
            for control in CONTROLS:
                assert control not in html, control
    else:
        assert response["Content-Type"] == "image/png"


SERVICE_CARDS = {"enable": "auth-state", "logo_remove": "branding", "support_email": "support-email"}


def owner_answer(response, world, write, htmx):
    org = world.org.pk
    content = response.content.decode()
    if write.name in SERVICE_CARDS and htmx:  # the card, the history and the messages, swapped in place
        assert response.status_code == 200
        assert content.lstrip().startswith(f'<section id="{SERVICE_CARDS[write.name]}"')
        assert (
            'id="auth-history" class="card history" aria-labelledby="auth-history-heading" hx-swap-oob="true"'
            in content
        )
        assert 'id="messages" class="messages" aria-live="polite" hx-swap-oob="true"' in content
        assert write.actions[0] in content  # the new event is in the refreshed history
        assert "<html" not in content
    elif write.name in {"app_create", "app_rotate"}:  # the secret, once, never cached
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        assert "This is the only time the client secret is shown." in content
        if htmx and write.name == "app_create":  # the secret panel swapped over the whole screen
            assert response["HX-Retarget"] == "#app-screen"
            assert response["HX-Reswap"] == "outerHTML show:window:top"
            assert content.lstrip().startswith('<div id="app-screen">')
            new = OAuthApplication.objects.get(client_name="Written app")
            assert "Successfully created OAuth app <strong>Written app</strong> with client ID" in content
            assert str(new.pk) in content
    else:
        expected = {
            "app_edit": url("app_detail", org, world.app.pk),
            "app_delete": url("apps", org),
        }.get(write.name, url("service", org))
        if htmx and write.name != "app_delete":  # the delete screen's form is a plain form: a redirect either way
            assert response.status_code == 200 and response["HX-Redirect"] == expected
        else:
            assert response.status_code == 302 and response["Location"] == expected


MATRIX = Matrix(
    world="world",
    read_roles=(*ROLES, "location_owner"),  # a location owner is a member with no say over the auth service
    reads=[
        Read("service", at("service"), partial=True),
        Read("preview", at("preview"), partial=True),
        Read("apps", at("apps"), partial=True),
        Read("app_detail", at("app_detail", app=True), partial=True),
        Read("app_create", at("app_create"), readers=OWNERS),
        Read("app_edit", at("app_edit", app=True), readers=OWNERS),
        Read("app_rotate", at("app_rotate", app=True), readers=OWNERS),
        Read("app_delete", at("app_delete", app=True), readers=OWNERS),
        # The logo is shown to end users: anyone who sees the organization may fetch it.
        Read("logo", at("logo"), readers=(*MEMBERS, "location_owner"), html=False),
        # Disabling a disabled service sends the owner back to the service page.
        Read("disable", at("disable"), readers=(), statuses={"owner": 302}),
    ],
    writes=[
        Write("enable", at("enable"), effect=lambda w: service_of(w).enabled, actions=["oauth.auth_service.enable"]),
        Write(
            "logo_remove",
            at("logo_remove"),
            effect=lambda w: not service_of(w).logo_sha256,
            actions=["oauth.logo.remove"],
        ),
        Write(
            "support_email",
            at("support_email"),
            data=lambda w: {"support_email": "new@acme.test"},
            effect=lambda w: service_of(w).support_email == "new@acme.test",
            actions=["oauth.support_email.set"],
        ),
        Write(
            "app_create",
            at("app_create"),
            data=lambda w: app_form(),
            effect=lambda w: OAuthApplication.objects.filter(client_name="Written app").exists(),
            actions=["oauth.oauth_app.create"],
        ),
        Write(
            "app_edit",
            at("app_edit", app=True),
            data=lambda w: app_form(client_name="Edited app"),
            effect=lambda w: OAuthApplication.objects.get(pk=w.app.pk).client_name == "Edited app",
            actions=["oauth.oauth_app.update"],
        ),
        Write(
            "app_rotate",
            at("app_rotate", app=True),
            effect=lambda w: OAuthApplication.objects.get(pk=w.app.pk).secret_hash != w.app.secret_hash,
            actions=["oauth.oauth_app.rotate"],
        ),
        Write(
            "app_delete",
            at("app_delete", app=True),
            data=lambda w: {"confirm": "delete"},
            effect=lambda w: not OAuthApplication.objects.filter(pk=w.app.pk).exists(),
            actions=["oauth.oauth_app.delete"],
        ),
    ],
    read_check=no_inline_code_nor_controls_below_owner,
    answer=owner_answer,
    state=snapshot,
    secret=re.compile("fas_"),
)
test_reads, test_refused_writes, test_writes = MATRIX.tests()


# ---- reads -----------------------------------------------------------------------------------------


def test_operator_disable_page_is_403_when_enabled(fleet, app, client_for):
    services.auth_service_enable(actor=fleet.owner, organization=fleet.org)
    assert client_for(fleet.operator).get(url("disable", fleet.org.pk)).status_code == 403


def test_owner_sees_every_control_on_the_service_page(fleet, app, client_for):
    content = client_for(fleet.owner).get(url("service", fleet.org.pk)).content.decode()
    for control in ["Enable auth service", "Upload logo", "Remove logo", "Save email", 'enctype="multipart/form-data"']:
        assert control in content
    assert 'value="help@acme.test"' in content
    assert f'href="{url("preview", fleet.org.pk)}"' in content
    assert 'aria-current="page">Auth service</a>' in content


def test_app_list_shows_every_column(fleet, app, client_for):
    content = client_for(fleet.owner).get(url("apps", fleet.org.pk)).content.decode()
    assert "Fleet dashboard" in content
    assert f'data-copy="{app.pk}"' in content
    assert ">authorization_code<" in content and ">refresh_token<" in content
    assert app.created_at.strftime("%b %-d, %Y") in content
    assert "Create application" in content


def test_app_detail_shows_the_cli_read_fields_and_history(fleet, app, client_for):
    services.oauth_app_update(actor=fleet.owner, app=app, invite_redirect_uri="https://dashboard.example.com/join")
    content = client_for(fleet.owner).get(url("app_detail", fleet.org.pk, app.pk)).content.decode()
    for label in [
        "Client Name",
        "Client Authentication",
        "PKCE",
        "URL Validation Policy",
        "Logout URL",
        "Invite Redirect URL",
        "Redirect URLs",
        "Origin URLs",
        "Enabled Grants",
    ]:
        assert f"<dt>{label}</dt>" in content, label
    for value in [
        "https://dashboard.example.com/callback",
        "https://dashboard.example.com/logout",
        "https://dashboard.example.com/join",
        "https://dashboard.example.com",
        "<code>required</code>",
        "<code>exact_match</code>",
    ]:
        assert value in content, value
    assert "created oauth app" in content and "updated oauth app" in content
    assert f'data-copy="{app.pk}"' in content


def test_optional_fields_are_left_out_of_the_detail_when_unset(fleet, make_app, client_for):
    app = make_app(origin_uris=[], invite_redirect_uri="").app
    content = client_for(fleet.owner).get(url("app_detail", fleet.org.pk, app.pk)).content.decode()
    assert "<dt>Origin URLs</dt>" not in content and "<dt>Invite Redirect URL</dt>" not in content


def test_apps_of_another_organization_are_404_under_this_url(fleet, client_for):
    other = services.oauth_app_create(actor=SYSTEM, organization=OrganizationFactory(), **VALID_APP).app
    client = client_for(fleet.owner)
    assert client.get(url("app_detail", fleet.org.pk, other.pk)).status_code == 404
    assert client.post(url("app_delete", fleet.org.pk, other.pk), {"confirm": "delete"}).status_code == 404
    assert OAuthApplication.objects.filter(pk=other.pk).exists()
    assert client.get(f"/orgs/{fleet.org.pk}/auth/apps/not-a-uuid/").status_code == 404


def test_query_counts_are_pinned_and_do_not_grow(fleet, app, make_app, client_for, django_assert_num_queries):
    """session, user, organization, memberships (with the organization switcher's names), then per page below."""
    client = client_for(fleet.owner)
    client.get(url("apps", fleet.org.pk))
    for i in range(20):
        make_app(client_name=f"app {i}")
    with django_assert_num_queries(6):  # + applications, auth service state
        response = client.get(url("apps", fleet.org.pk))
    assert "app 19" in response.content.decode()
    with django_assert_num_queries(6):  # + application, its history
        client.get(url("app_detail", fleet.org.pk, app.pk))
    with django_assert_num_queries(9):  # + auth service (no logo bytes), app count, history, end users, sign-ins
        client.get(url("service", fleet.org.pk))
    with django_assert_num_queries(5):  # + auth service (the preview has no switcher)
        client.get(url("preview", fleet.org.pk))


# ---- forms: errors and inline validation -----------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_invalid_create_is_422_with_each_error_under_its_field(fleet, client_for, htmx):
    data = {
        **VALID_APP,
        "redirect_uris": "http://example.com/cb",
        "client_authentication": "not_required",
        "pkce": "not_required",
        "enabled_grants": [],
        "logout_uri": "",
    }
    response = client_for(fleet.owner).post(url("app_create", fleet.org.pk), data, **(HTMX if htmx else {}))
    assert response.status_code == 422
    content = response.content.decode()
    assert ("<html" in content) is not htmx
    assert "Fix the 4 fields marked below; nothing was saved." in content
    assert (
        "&#x27;http://example.com/cb&#x27; must use https (http is allowed only for localhost, "
        "127.0.0.1 and [::1])" in content
    )
    assert "&#x27;not_required&#x27; together with client_authentication" in content
    assert "choose at least one of" in content
    assert "enter an absolute https URL" in content
    assert 'aria-invalid="true"' in content
    assert not OAuthApplication.objects.exists() and not AuditEvent.objects.exists()


def validate(client, fleet, data, field):
    return client.post(url("app_validate", fleet.org.pk), data, HTTP_HX_TRIGGER_NAME=field, **HTMX)


def test_inline_validation_returns_the_fields_feedback_out_of_band(fleet, client_for):
    client = client_for(fleet.owner)
    data = {**VALID_APP, "redirect_uris": "https://ok.example.com/cb\nhttp://bad.example.com/cb"}
    response = validate(client, fleet, data, "redirect_uris")
    assert response.status_code == 200
    assert response.content.decode() == (
        '<div id="errors-redirect_uris" class="field-feedback" aria-live="polite" hx-swap-oob="innerHTML">'
        '<p class="field-error">&#x27;http://bad.example.com/cb&#x27; must use https (http is allowed '
        "only for localhost, 127.0.0.1 and [::1])</p></div>\n"
    )
    fixed = validate(client, fleet, {**VALID_APP, "redirect_uris": "https://ok.example.com/cb"}, "redirect_uris")
    assert fixed.content.decode() == (
        '<div id="errors-redirect_uris" class="field-feedback" aria-live="polite" hx-swap-oob="innerHTML"></div>\n'
    )
    assert not AuditEvent.objects.exists() and not OAuthApplication.objects.exists()


def test_inline_validation_refreshes_the_related_field(fleet, client_for):
    client = client_for(fleet.owner)
    data = {**VALID_APP, "client_authentication": "not_required", "pkce": "not_required"}
    content = validate(client, fleet, data, "client_authentication").content.decode()
    assert 'id="errors-client_authentication"' in content
    assert 'id="errors-pkce"' in content and "&#x27;not_required&#x27; together with" in content
    wild = {**VALID_APP, "url_validation": "exact_match", "redirect_uris": "https://*.example.com/cb"}
    content = validate(client, fleet, wild, "url_validation").content.decode()
    assert 'id="errors-redirect_uris"' in content and "needs url_validation" in content
    assert 'id="errors-invite_redirect_uri"' not in content  # empty fields are not judged before they are filled


def test_inline_validation_shows_the_oauth21_warning_for_legacy_grants(fleet, client_for):
    data = {**VALID_APP, "enabled_grants": ["authorization_code", "implicit"]}
    content = validate(client_for(fleet.owner), fleet, data, "enabled_grants").content.decode()
    assert '<p class="field-warning">implicit: OAuth 2.1 drops the implicit grant' in content


def test_inline_validation_is_for_owners_and_htmx_only(fleet, client_for):
    assert validate(client_for(fleet.operator), fleet, VALID_APP, "pkce").status_code == 403
    assert validate(client_for(fleet.outsider), fleet, VALID_APP, "pkce").status_code == 404
    response = client_for(fleet.owner).post(url("app_validate", fleet.org.pk), VALID_APP)
    assert response.status_code == 400


def test_form_fields_carry_labels_and_inline_validation_hooks(fleet, client_for):
    content = client_for(fleet.owner).get(url("app_create", fleet.org.pk)).content.decode()
    validate_url = url("app_validate", fleet.org.pk)
    for name in ["client_name", "client_authentication", "pkce", "url_validation", "redirect_uris", "logout_uri",
                 "origin_uris", "invite_redirect_uri"]:  # fmt: skip
        assert f'<label for="id_{name}">' in content, name
        assert re.search(rf'name="{name}"[^>]*hx-post="{validate_url}"', content), name
        assert f'id="errors-{name}"' in content
    assert content.count('name="enabled_grants"') == 5
    assert '<label class="choice" for="id_enabled_grants_0">' in content
    assert 'hx-trigger="change"' in content and 'hx-swap="none"' in content
    assert 'name="form_token"' in content
    assert "selected>required</option>" in content  # secure defaults are preselected


def test_edit_form_is_prefilled_and_unchanged_fields_stay(fleet, app, client_for):
    client = client_for(fleet.owner)
    content = client.get(url("app_edit", fleet.org.pk, app.pk)).content.decode()
    assert 'value="Fleet dashboard"' in content
    assert ">\nhttps://dashboard.example.com/callback</textarea>" in content
    assert re.search(r'value="authorization_code"[^>]*checked', content)
    assert re.search(r'value="implicit"[^>]*>', content) and not re.search(r'value="implicit"[^>]*checked', content)
    before = OAuthApplication.objects.get(pk=app.pk)
    data = {**VALID_APP, "client_name": "Only the name", "redirect_uris": "https://dashboard.example.com/callback\r\n",
            "origin_uris": "https://dashboard.example.com"}  # fmt: skip
    assert client.post(url("app_edit", fleet.org.pk, app.pk), data).status_code == 302
    after = OAuthApplication.objects.get(pk=app.pk)
    assert after.client_name == "Only the name"
    for name in ["client_authentication", "pkce", "url_validation", "enabled_grants", "redirect_uris", "logout_uri",
                 "origin_uris", "invite_redirect_uri", "secret_hash"]:  # fmt: skip
        assert getattr(after, name) == getattr(before, name)
    (event,) = AuditEvent.objects.filter(action="oauth.oauth_app.update")
    assert event.changes == {"before": {"client_name": "Fleet dashboard"}, "after": {"client_name": "Only the name"}}


def test_an_unchanged_edit_saves_nothing(fleet, app, client_for):
    client = client_for(fleet.owner)
    data = {**VALID_APP, "redirect_uris": "https://dashboard.example.com/callback",
            "origin_uris": "https://dashboard.example.com"}  # fmt: skip
    response = client.post(url("app_edit", fleet.org.pk, app.pk), data, follow=True)
    assert "Nothing changed; nothing was saved." in response.content.decode()
    assert not AuditEvent.objects.filter(action="oauth.oauth_app.update").exists()


def test_resubmitting_a_create_form_creates_one_app(fleet, client_for):
    client = client_for(fleet.owner)
    data = {**VALID_APP, "form_token": "same-token", "redirect_uris": "https://dashboard.example.com/callback",
            "origin_uris": ""}  # fmt: skip
    first = client.post(url("app_create", fleet.org.pk), data)
    assert first.status_code == 200
    second = client.post(url("app_create", fleet.org.pk), data)
    app = OAuthApplication.objects.get()
    assert second.status_code == 302 and second["Location"] == url("app_detail", fleet.org.pk, app.pk)


# ---- the secret, shown once ------------------------------------------------------------------------


def test_the_client_secret_is_shown_once_and_never_again(fleet, client_for):
    client = client_for(fleet.owner)
    data = {**VALID_APP, "redirect_uris": "https://dashboard.example.com/callback", "origin_uris": ""}
    response = client.post(url("app_create", fleet.org.pk), data)
    content = response.content.decode()
    secret = re.search(r'data-testid="client-secret">(fas_[0-9A-Za-z]+)<', content).group(1)
    assert f'data-copy="{secret}"' in content
    app = OAuthApplication.objects.get()
    assert str(app.pk) in content
    assert response["Cache-Control"] == "no-store, no-cache, must-revalidate, private, max-age=0"
    for path in [
        url("apps", fleet.org.pk),
        url("app_detail", fleet.org.pk, app.pk),
        url("app_edit", fleet.org.pk, app.pk),
        url("app_rotate", fleet.org.pk, app.pk),
        url("app_delete", fleet.org.pk, app.pk),
        url("service", fleet.org.pk),
    ]:
        assert secret not in client.get(path).content.decode(), path
    assert secret not in str(list(OAuthApplication.objects.values()))
    assert secret not in str(list(AuditEvent.objects.values()))
    assert services.client_secret_matches(app, secret)


def test_rotation_shows_a_new_secret_once(fleet, app, client_for):
    client = client_for(fleet.owner)
    screen = client.get(url("app_rotate", fleet.org.pk, app.pk)).content.decode()
    assert "The current secret stops working at once" in screen
    response = client.post(url("app_rotate", fleet.org.pk, app.pk))
    content = response.content.decode()
    secret = re.search(r'data-testid="client-secret">(fas_[0-9A-Za-z]+)<', content).group(1)
    assert "the previous secret no longer works" in content
    assert "no-store" in response["Cache-Control"]
    assert secret not in client.get(url("app_detail", fleet.org.pk, app.pk)).content.decode()
    assert services.client_secret_matches(OAuthApplication.objects.get(pk=app.pk), secret)


# ---- typed confirmations ---------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["", "deleted", "yes", "delete it"])
def test_delete_needs_the_word_delete(fleet, app, client_for, typed):
    response = client_for(fleet.owner).post(url("app_delete", fleet.org.pk, app.pk), {"confirm": typed})
    assert response.status_code == 422
    content = response.content.decode()
    assert "Type delete to confirm" in content and "Nothing was changed." in content
    assert OAuthApplication.objects.filter(pk=app.pk).exists()
    assert not AuditEvent.objects.filter(action="oauth.oauth_app.delete").exists()


@pytest.mark.parametrize("typed", ["Delete", " DELETE "])
def test_delete_confirmation_ignores_case_and_surrounding_space(fleet, app, client_for, typed):
    response = client_for(fleet.owner).post(url("app_delete", fleet.org.pk, app.pk), {"confirm": typed})
    assert response.status_code == 302
    assert not OAuthApplication.objects.filter(pk=app.pk).exists()


def test_delete_confirmation_page_explains_and_asks_for_the_word(fleet, app, client_for):
    content = client_for(fleet.owner).get(url("app_delete", fleet.org.pk, app.pk)).content.decode()
    assert "Delete “Fleet dashboard”?" in content
    assert "Type “delete” to confirm" in content


def test_disable_explains_what_stops_and_needs_the_word_disable(fleet, app, client_for):
    services.auth_service_enable(actor=fleet.owner, organization=fleet.org)
    client = client_for(fleet.owner)
    screen = client.get(url("disable", fleet.org.pk)).content.decode()
    assert "End users can no longer sign in to the applications of Acme Robotics (1 OAuth application)." in screen
    assert "work again as soon as you re-enable the service" in screen
    assert "Type “disable” to confirm" in screen
    refused = client.post(url("disable", fleet.org.pk), {"confirm": "disabled"})
    assert refused.status_code == 422
    assert "Type disable to confirm; you typed “disabled”. Nothing was changed." in refused.content.decode()
    assert AuthService.objects.get(organization=fleet.org).enabled
    done = client.post(url("disable", fleet.org.pk), {"confirm": " disable "})
    assert done.status_code == 302
    assert not AuthService.objects.get(organization=fleet.org).enabled
    assert AuditEvent.objects.filter(action="oauth.auth_service.disable").count() == 1


def test_disable_page_when_already_disabled_goes_back(fleet, client_for):
    response = client_for(fleet.owner).get(url("disable", fleet.org.pk))
    assert response.status_code == 302 and response["Location"] == url("service", fleet.org.pk)


# ---- the sign-in preview ---------------------------------------------------------------------------


def test_sign_in_preview_is_branded_as_the_organization(fleet, app, client_for):
    content = client_for(fleet.owner).get(url("preview", fleet.org.pk)).content.decode()
    service = AuthService.objects.get(organization=fleet.org)
    # The preview is the real end-user page, so it shows the logo from its public URL under the issuer.
    assert f'src="/oidc/{fleet.org.pk}/logo.png?v={service.logo_version}"' in content
    assert "Sign in to Acme Robotics" in content
    assert 'Need help? Contact <a class="wl-email" href="mailto:help@acme.test">help@acme.test</a>' in content
    assert '<input type="email" id="wl-email"' in content and "disabled" in content
    assert '<label for="wl-password">Password</label>' in content
    assert 'class="signin-preview"' in content
    card = content[content.index('<section class="wl-card"') :]
    assert "fleetadmin" not in card
    assert 'class="sidebar"' not in content and 'class="topbar"' not in content
    assert "The auth service is disabled" in content


def test_sign_in_preview_without_logo_or_email_shows_the_name(fleet, client_for):
    content = client_for(fleet.operator).get(url("preview", fleet.org.pk)).content.decode()
    assert '<span class="wl-monogram" aria-hidden="true">A</span>' in content
    assert "Need help?" not in content
    assert "No support email is set" in content
