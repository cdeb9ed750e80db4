"""`fleetadmin`: the platform's organization commands, against a fleetadmin portal.

Every command of the platform's "Manage your fleet" page works with `viam` replaced by
`fleetadmin`, with the same flags and value formats. `--json` prints machine-readable output.
"""

from __future__ import annotations

import base64
import functools
import json
import sys
from pathlib import Path
from typing import Any

import click

from fleetadmin.cli.client import Client, CliError, Credentials, config_path, load_credentials, save_credentials
from fleetadmin.core.text import confirmation_matches, one_of
from fleetadmin.fleet import rules as fleet_rules
from fleetadmin.keys import rules as key_rules
from fleetadmin.oauth import rules as oauth_rules

# The server's own enumerations (fleetadmin.oauth.rules, fleetadmin.keys.rules), not a copy.
CLIENT_AUTHENTICATION = list(oauth_rules.ClientAuthentication.values)
PKCE = list(oauth_rules.Pkce.values)
URL_VALIDATION = list(oauth_rules.UrlValidation.values)
GRANTS = list(oauth_rules.Grant.values)
GRACE = list(key_rules.GRACE_PERIODS)


def client() -> Client:
    return Client(load_credentials())


def output(data: Any, lines: list[str] | str | None = None) -> None:
    """Print --json output or human lines, depending on the current command's --json flag."""
    ctx = click.get_current_context()
    if ctx.params.get("as_json"):
        click.echo(json.dumps(data, indent=2, default=str))
    elif lines is not None:
        click.echo("\n".join(lines) if isinstance(lines, list) else lines)


def command(group: click.Group, name: str, **kwargs):
    """A subcommand with --json, whose CliError becomes one line on stderr and exit code 1."""

    def decorate(function):
        @functools.wraps(function)
        def run(*args, **params):
            try:
                return function(*args, **params)
            except CliError as error:
                click.echo(str(error), err=True)
                sys.exit(error.exit_code)

        run = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(run)
        return group.command(name, **kwargs)(run)

    return decorate


def comma_list(values: tuple[str, ...]) -> list[str]:
    """Flags may repeat or hold comma-separated lists, as the platform's CLI accepts."""
    items: list[str] = []
    for value in values:
        items.extend(part.strip() for part in value.split(",") if part.strip())
    return items


def confirm_word(word: str, warning: str, yes: bool) -> None:
    if yes:
        return
    click.echo(warning, err=True)
    try:
        typed = click.prompt(f"Type '{word}' to confirm", default="", show_default=False, err=True)
    except (click.Abort, EOFError):
        typed = ""
    if not confirmation_matches(typed, word):
        raise CliError(f"Aborted: you typed {typed.strip()!r}, not {word!r}. Nothing was changed.")


class OneOf(click.Choice):
    """One of the server's values, refused in the server's words: "must be one of …; got 'maybe'"."""

    def __init__(self, choices: list[str], refused=one_of):
        super().__init__(choices)
        self.refused = refused

    def convert(self, value, param, ctx):
        if value in self.choices:
            return value
        self.fail(self.refused(self.choices, value), param, ctx)


class ChoiceList(click.ParamType):
    """A comma-separated list whose every item must be one of the accepted values."""

    name = "list"

    def __init__(self, choices: list[str], unknown):
        self.choices = choices
        self.unknown = unknown

    def convert(self, value, param, ctx):
        items = comma_list((value,)) if isinstance(value, str) else value
        for item in items:
            if item not in self.choices:
                self.fail(self.unknown(item), param, ctx)
        return items


# ---- root -------------------------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option("1.0", prog_name="fleetadmin")
def cli() -> None:
    """Administer robot-fleet organizations through a fleetadmin portal."""


@cli.group()
def login() -> None:
    """Store credentials for later commands."""


@command(login, "api-key")
@click.option("--key-id", required=True, help="The API key's id.")
@click.option("--key", "key_value", required=True, help="The API key's value.")
@click.option("--base-url", default=None, help="The portal's URL (default: http://127.0.0.1:8000).")
def login_api_key(key_id: str, key_value: str, base_url: str | None, as_json: bool) -> None:
    """Log in with an API key; checks it against the server, then stores it (mode 0600)."""
    current = load_credentials()
    credentials = Credentials(base_url=(base_url or current.base_url).rstrip("/"), key_id=key_id, key=key_value)
    me = Client(credentials).get("/whoami")
    path = save_credentials(credentials)
    output(
        {"stored": str(path), "whoami": me},
        [f"Logged in with API key {key_id} ({me.get('name')}).", f"Credentials stored in {path}."],
    )


@command(cli, "logout")
def logout(as_json: bool) -> None:
    """Forget the stored credentials."""
    path = config_path()
    existed = path.exists()
    if existed:
        path.unlink()
    output({"removed": existed}, "Logged out." if existed else "Not logged in; nothing to remove.")


@command(cli, "whoami")
def whoami(as_json: bool) -> None:
    """Show what the stored credentials are."""
    me = client().get("/whoami")
    if me.get("type") == "api_key":
        lines = [
            f"API key {me['key_id']} ({me['name']})",
            *[f"  {a['role']} on {a['resource_type']} {a['resource_id']}" for a in me["authorizations"]],
        ]
    else:
        lines = [f"User {me.get('email')}"]
    output(me, lines)


# ---- organizations, locations, machines ---------------------------------------------------------------


@cli.group()
def organizations() -> None:
    """Organizations: list, API keys, auth service, logo, support email, billing service."""


@command(organizations, "list")
def organizations_list(as_json: bool) -> None:
    """List your organizations."""
    orgs = client().get("/organizations")
    output(orgs, [f"{o['name']} (id: {o['id']})" for o in orgs] or ["No organizations."])


@cli.group()
def locations() -> None:
    """Locations: list and API keys."""


@command(locations, "list")
@click.option(
    "--organization", "--org-id", "organization", default=None, help="Organization id (default: all of yours)."
)
def locations_list(organization: str | None, as_json: bool) -> None:
    """List locations."""
    api = client()
    org_ids = [organization] if organization else [o["id"] for o in api.get("/organizations")]
    rows = [loc for org_id in org_ids for loc in api.get(f"/organizations/{org_id}/locations")]
    output(rows, [f"{loc['name']} (id: {loc['id']})" for loc in rows] or ["No locations."])


@cli.group()
def machines() -> None:
    """Machines: list and API keys."""


@command(machines, "list")
@click.option("--organization", "--org-id", "organization", required=True, help="Organization id.")
@click.option("--location", "location", default=None, help="Only this location's machines.")
@click.option("--all", "all_machines", is_flag=True, help="Machines of every location of the organization.")
def machines_list(organization: str, location: str | None, all_machines: bool, as_json: bool) -> None:
    """List machines of an organization (--all) or of one location (--location)."""
    if not all_machines and not location:
        raise CliError("Error: give --all for every machine of the organization, or --location=<location-id>.")
    params = {"location_id": location} if location and not all_machines else None
    rows = client().get(f"/organizations/{organization}/machines", params=params)
    output(rows, [f"{m['name']} (id: {m['id']}, location: {m['location_name']})" for m in rows] or ["No machines."])


# ---- API keys at each scope ---------------------------------------------------------------------------


def _print_created_key(created: dict) -> None:
    output(
        created,
        [
            "Successfully created key:",
            f"Key ID: {created['id']}",
            f"Key Value: {created['key']}",
            "",
            created["warning"],
        ],
    )


def _key_group(parent: click.Group, scope: str, flag: str, path: str) -> None:
    @parent.group("api-key")
    def group() -> None:
        """API keys."""

    group.help = f"API keys scoped to a {scope}."

    @command(group, "create")
    @click.option(flag, "resource_id", required=True, help=f"The {scope} id.")
    @click.option("--name", default=None, help="Key name (default: <name>-<RFC 3339 time>).")
    @click.option("--role", default=None, help="owner (default) or operator role name, e.g. location_operator.")
    def create(resource_id: str, name: str | None, role: str | None, as_json: bool) -> None:
        """Create an API key; its value is printed once."""
        body = {k: v for k, v in {"name": name, "role": role}.items() if v}
        _print_created_key(client().post(f"/{path}/{resource_id}/api-keys", body))

    @command(group, "list")
    @click.option(flag, "resource_id", required=True, help=f"The {scope} id.")
    def list_keys(resource_id: str, as_json: bool) -> None:
        """List API keys (never their values)."""
        api = client()
        if path == "organizations":
            org_id, keep = resource_id, None
        else:
            resource = api.get(f"/{path}/{resource_id}")
            org_id, keep = resource["organization_id"], resource_id
        items, cursor = [], ""
        while True:
            page = api.get(f"/organizations/{org_id}/api-keys", params={"after": cursor} if cursor else None)
            items.extend(page["items"])
            cursor = page["next"]
            if not cursor:
                break
        if keep:
            items = [k for k in items if any(a["resource_id"] == keep for a in k["authorizations"])]
        output(
            items,
            [
                f"{k['id']} {k['name']} ({', '.join(a['role'] for a in k['authorizations'])}; {k['status']})"
                for k in items
            ]
            or ["No API keys."],
        )

    @command(group, "rotate")
    @click.option("--key-id", required=True, help="The key to rotate.")
    @click.option(
        "--grace",
        type=OneOf(GRACE, lambda choices, got: key_rules.grace_refused(got)),
        default="none",
        show_default=True,
        help="How long the old value keeps working.",
    )
    def rotate(key_id: str, grace: str, as_json: bool) -> None:
        """Rotate a key: a new key id and value; the old one works for the grace period."""
        created = client().post(f"/api-keys/{key_id}/rotate", {"grace": grace})
        _print_created_key(created)

    @command(group, "delete")
    @click.option("--key-id", required=True, help="The key to delete.")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    def delete(key_id: str, yes: bool, as_json: bool) -> None:
        """Delete a key; anything using it stops working."""
        confirm_word("delete", f"Deleting API key {key_id}: anything using it stops authenticating at once.", yes)
        client().delete(f"/api-keys/{key_id}")
        output({"deleted": key_id}, f"Deleted API key {key_id}.")


_key_group(organizations, "organization", "--org-id", "organizations")
_key_group(locations, "location", "--location-id", "locations")
_key_group(machines, "machine", "--machine-id", "machines")


# ---- members ------------------------------------------------------------------------------------------

MEMBER_ROLES = list(fleet_rules.INVITABLE_ROLE_VALUES)


@organizations.group("members")
def members_group() -> None:
    """Members of an organization: list, invite, remove, set-role."""


def _member_line(m: dict) -> str:
    scope = f"location {m['location_id']}" if m["location_id"] else "organization"
    two_factor = "2FA on" if m["two_factor"] else "2FA off"
    return f"{m['email']} (membership id: {m['id']}): {m['role']} on {scope}, {two_factor}"


@command(members_group, "list")
@click.option("--org-id", required=True, help="Organization id.")
@click.option("--invitations", is_flag=True, help="Also list pending invitations (owners only).")
def members_list(org_id: str, invitations: bool, as_json: bool) -> None:
    """List the organization's members (and, with --invitations, pending invitations)."""
    api = client()
    rows = api.get(f"/organizations/{org_id}/members")
    pending = api.get(f"/organizations/{org_id}/invitations") if invitations else []
    lines = [_member_line(m) for m in rows] or ["No members."]
    lines += [
        f"invited: {i['email']} (invitation id: {i['id']}): {i['role']}, expires {i['expires_at']}" for i in pending
    ]
    output({"members": rows, "invitations": pending} if invitations else rows, lines)


@command(members_group, "invite")
@click.option("--org-id", required=True, help="Organization id.")
@click.option("--email", required=True, help="Who to invite.")
@click.option("--role", required=True, type=OneOf(MEMBER_ROLES), help="Their role.")
@click.option("--location-id", default=None, help="The location, for location_owner and location_operator.")
def members_invite(org_id: str, email: str, role: str, location_id: str | None, as_json: bool) -> None:
    """Invite someone by email; the link goes only to their mailbox and expires after 7 days."""
    body = {"email": email, "role": role}
    if location_id:
        body["location_id"] = location_id
    invitation = client().post(f"/organizations/{org_id}/invitations", body)
    output(
        invitation,
        f"Invited {invitation['email']} as {invitation['role']} (invitation id: {invitation['id']}); "
        f"the invitation expires {invitation['expires_at']}.",
    )


@command(members_group, "remove")
@click.option("--org-id", required=True, help="Organization id.")
@click.option("--membership-id", required=True, help="The membership id (see `members list`).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def members_remove(org_id: str, membership_id: str, yes: bool, as_json: bool) -> None:
    """Remove a member from the organization (the last owner cannot be removed)."""
    confirm_word("remove", f"Membership {membership_id} loses its role in organization {org_id}.", yes)
    client().delete(f"/organizations/{org_id}/members/{membership_id}")
    output({"removed": membership_id}, f"Removed membership {membership_id}.")


@command(members_group, "set-role")
@click.option("--org-id", required=True, help="Organization id.")
@click.option("--membership-id", required=True, help="The membership id (see `members list`).")
@click.option("--role", required=True, type=OneOf(MEMBER_ROLES), help="The new role.")
@click.option("--location-id", default=None, help="The location, for location_owner and location_operator.")
def members_set_role(org_id: str, membership_id: str, role: str, location_id: str | None, as_json: bool) -> None:
    """Change a member's role or scope (the last owner cannot be demoted)."""
    member = client().patch(
        f"/organizations/{org_id}/members/{membership_id}", {"role": role, "location_id": location_id}
    )
    output(member, _member_line(member))


# ---- auth service, logo, support email ---------------------------------------------------------------


@organizations.group("auth-service")
def auth_service() -> None:
    """The white-label end-user auth service and its OAuth applications."""


@command(auth_service, "enable")
@click.option("--org-id", required=True)
def auth_service_enable(org_id: str, as_json: bool) -> None:
    """Enable the auth service."""
    state = client().post(f"/organizations/{org_id}/auth-service/enable")
    output(state, f"Enabled the auth service for organization {org_id}.")


@command(auth_service, "disable")
@click.option("--org-id", required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def auth_service_disable(org_id: str, yes: bool, as_json: bool) -> None:
    """Disable the auth service (configuration is kept)."""
    confirm_word(
        "disable",
        "Disabling the auth service affects custom auth views and emails: the organization's end users can no "
        "longer sign in to its apps. The configuration is kept and returns when you enable it again.",
        yes,
    )
    state = client().post(f"/organizations/{org_id}/auth-service/disable")
    output(state, f"Disabled the auth service for organization {org_id}.")


@organizations.group("logo")
def logo() -> None:
    """The organization's white-label logo (PNG, at most 200 KB)."""


@command(logo, "set")
@click.option("--org-id", required=True)
@click.option("--logo-path", required=True, type=click.Path(dir_okay=False, path_type=Path))
def logo_set(org_id: str, logo_path: Path, as_json: bool) -> None:
    """Upload the logo."""
    try:
        data = logo_path.read_bytes()
    except OSError as exc:
        raise CliError(f"Error: cannot read --logo-path {logo_path}: {exc.strerror}.") from None
    if len(data) > oauth_rules.LOGO_MAX_BYTES:
        raise CliError(f"Error: --logo-path {logo_path}: {oauth_rules.logo_too_large(len(data))}.")
    result = client().put(f"/organizations/{org_id}/logo", {"png_base64": base64.b64encode(data).decode()})
    output(result, f"Logo set. URL: {result.get('url')}")


@command(logo, "get")
@click.option("--org-id", required=True)
def logo_get(org_id: str, as_json: bool) -> None:
    """Print the logo's URL."""
    result = client().get(f"/organizations/{org_id}/logo")
    output(result, result.get("url") or "No logo is set for this organization.")


@organizations.group("support-email")
def support_email() -> None:
    """The support email shown to the organization's end users."""


@command(support_email, "set")
@click.option("--org-id", required=True)
@click.option("--support-email", "email", required=True)
def support_email_set(org_id: str, email: str, as_json: bool) -> None:
    """Set the support email."""
    if not email.strip():
        raise CliError("Error: --support-email cannot be empty.")
    result = client().put(f"/organizations/{org_id}/support-email", {"support_email": email})
    output(result, f"Support email set to {result.get('support_email')}.")


@command(support_email, "get")
@click.option("--org-id", required=True)
def support_email_get(org_id: str, as_json: bool) -> None:
    """Print the support email."""
    result = client().get(f"/organizations/{org_id}/support-email")
    output(result, result.get("support_email") or "No support email is set for this organization.")


# ---- OAuth applications ------------------------------------------------------------------------------


@auth_service.group("oauth-app")
def oauth_app() -> None:
    """OAuth applications of the auth service."""


def _app_options(required: bool):
    def decorate(function):
        options = [
            click.option("--client-name", default=None, help="Display name."),
            click.option("--client-authentication", type=OneOf(CLIENT_AUTHENTICATION), required=required),
            click.option("--url-validation", type=OneOf(URL_VALIDATION), required=required),
            click.option("--pkce", type=OneOf(PKCE), required=required),
            click.option(
                "--enabled-grants",
                type=ChoiceList(GRANTS, oauth_rules.unknown_grant),
                required=required,
                help="Comma-separated grants.",
            ),
            click.option("--redirect-uris", multiple=True, required=required, help="Comma-separated URIs."),
            click.option("--logout-uri", required=required),
            click.option("--origin-uris", multiple=True, help="Comma-separated origins."),
            click.option("--invite-redirect-uri", default=None),
        ]
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def _app_body(params: dict) -> dict:
    body: dict[str, Any] = {}
    for name in ("client_name", "client_authentication", "url_validation", "pkce", "logout_uri", "invite_redirect_uri"):
        if params.get(name) is not None:
            body[name] = params[name]
    if params.get("enabled_grants"):
        body["enabled_grants"] = params["enabled_grants"]
    for name in ("redirect_uris", "origin_uris"):
        if params.get(name):
            body[name] = comma_list(params[name])
    return body


@command(oauth_app, "create")
@click.option("--org-id", required=True)
@_app_options(required=True)
def oauth_app_create(org_id: str, as_json: bool, **params) -> None:
    """Create an OAuth application; its client secret is printed once."""
    created = client().post(f"/organizations/{org_id}/oauth-apps", _app_body(params))
    output(
        created,
        f"Successfully created OAuth app {created.get('client_name') or ''} with client ID {created['client_id']} "
        f"and client secret {created['client_secret']}",
    )


@command(oauth_app, "list")
@click.option("--org-id", required=True)
def oauth_app_list(org_id: str, as_json: bool) -> None:
    """List the organization's OAuth applications' client ids."""
    apps = client().get(f"/organizations/{org_id}/oauth-apps")
    output(apps, [a["client_id"] for a in apps] or ["No OAuth applications."])


def _read_lines(app: dict) -> list[str]:
    lines = [
        f"Client Name: {app.get('client_name') or ''}",
        f"Client Authentication: {app['client_authentication']}",
        f"PKCE: {app['pkce']}",
        f"URL Validation Policy: {app['url_validation']}",
        f"Logout URL: {app['logout_uri']}",
    ]
    if app.get("invite_redirect_uri"):
        lines.append(f"Invite Redirect URL: {app['invite_redirect_uri']}")
    lines.append(f"Redirect URLs: {', '.join(app['redirect_uris'])}")
    if app.get("origin_uris"):
        lines.append(f"Origin URLs: {', '.join(app['origin_uris'])}")
    lines.append(f"Enabled Grants: {', '.join(app['enabled_grants'])}")
    return lines


@command(oauth_app, "read")
@click.option("--org-id", required=True)
@click.option("--client-id", required=True)
def oauth_app_read(org_id: str, client_id: str, as_json: bool) -> None:
    """Show every field of an OAuth application (never its secret)."""
    app = client().get(f"/organizations/{org_id}/oauth-apps/{client_id}")
    output(app, _read_lines(app))


@command(oauth_app, "update")
@click.option("--org-id", required=True)
@click.option("--client-id", required=True)
@_app_options(required=False)
def oauth_app_update(org_id: str, client_id: str, as_json: bool, **params) -> None:
    """Change any subset of an application's fields; the others stay as they are."""
    body = _app_body(params)
    if not body:
        raise CliError("Error: nothing to update; give at least one of the create flags.")
    app = client().patch(f"/organizations/{org_id}/oauth-apps/{client_id}", body)
    output(app, [f"Successfully updated OAuth app {client_id}.", *_read_lines(app)])


@command(oauth_app, "delete")
@click.option("--org-id", required=True)
@click.option("--client-id", required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def oauth_app_delete(org_id: str, client_id: str, yes: bool, as_json: bool) -> None:
    """Delete an OAuth application."""
    confirm_word("delete", f"Deleting OAuth app {client_id}: its users can no longer sign in through it.", yes)
    client().delete(f"/organizations/{org_id}/oauth-apps/{client_id}")
    output({"deleted": client_id}, f"Successfully deleted OAuth app {client_id}.")


@command(oauth_app, "rotate-secret")
@click.option("--org-id", required=True)
@click.option("--client-id", required=True)
def oauth_app_rotate(org_id: str, client_id: str, as_json: bool) -> None:
    """Issue a new client secret (printed once); the old one stops working."""
    result = client().post(f"/organizations/{org_id}/oauth-apps/{client_id}/rotate-secret")
    output(result, f"New client secret for {client_id}: {result['client_secret']}")


# ---- end users of the auth service -------------------------------------------------------------------


@auth_service.group("end-user")
def end_user() -> None:
    """End users of the auth service: list, invite, disable, enable, delete."""


def _end_user_line(u: dict) -> str:
    name = f" ({u['name']})" if u.get("name") else ""
    last = u.get("last_sign_in_at") or "never"
    return f"{u['email']}{name} (end user id: {u['id']}): {u['status']}, last sign-in {last}"


def _end_user_id(api: Client, org_id: str, end_user_id: str | None, email: str | None) -> str:
    """The id given, or the id of the end user with exactly this email (looked up through the list)."""
    if bool(end_user_id) == bool(email):
        raise CliError("Error: give exactly one of --end-user-id=<id> or --email=<email>.")
    if end_user_id:
        return end_user_id
    wanted = email.strip().lower()
    page = api.get(f"/organizations/{org_id}/end-users", params={"q": wanted})
    for row in page["items"]:
        if row["email"] == wanted:
            return row["id"]
    raise CliError(f"Not found: no end user with the email {wanted} in organization {org_id}.")


def _end_user_target(function):
    function = click.option("--email", default=None, help="The end user's email (instead of --end-user-id).")(function)
    function = click.option("--end-user-id", default=None, help="The end user's id (see `end-user list`).")(function)
    return click.option("--org-id", required=True, help="Organization id.")(function)


@command(end_user, "list")
@click.option("--org-id", required=True, help="Organization id.")
@click.option("--query", "-q", default="", help="Only end users whose email starts with this.")
@click.option("--after", default="", help="Start after this email (the `next` of the previous page).")
@click.option("--all", "all_pages", is_flag=True, help="Follow every page (50 end users each).")
def end_user_list(org_id: str, query: str, after: str, all_pages: bool, as_json: bool) -> None:
    """List end users, ordered by email, one page of 50 (or every page with --all)."""
    api = client()
    items: list[dict] = []
    cursor = after
    while True:
        params = {k: v for k, v in {"q": query, "after": cursor}.items() if v}
        page = api.get(f"/organizations/{org_id}/end-users", params=params or None)
        items.extend(page["items"])
        cursor = page["next"]
        if not cursor or not all_pages:
            break
    lines = [_end_user_line(u) for u in items] or ["No end users."]
    if cursor:
        lines.append(f"More end users: run again with --after={cursor} (or --all).")
    output({"items": items, "next": cursor}, lines)


@command(end_user, "invite")
@click.option("--org-id", required=True, help="Organization id.")
@click.option("--email", required=True, help="Who to invite.")
@click.option("--name", default="", help="Their name (optional).")
def end_user_invite(org_id: str, email: str, name: str, as_json: bool) -> None:
    """Invite an end user by email; the link to set a password goes only to their mailbox (7 days)."""
    user = client().post(f"/organizations/{org_id}/end-users", {"email": email, "name": name})
    output(user, f"Invited {user['email']} (end user id: {user['id']}); the invitation expires in 7 days.")


def _call_on_end_user(
    org_id: str,
    end_user_id: str | None,
    email: str | None,
    method: str,
    path: str = "",
    *,
    confirm: tuple[str, str] | None = None,
    yes: bool = False,
) -> tuple[str, Any]:
    """Find the end user (by --end-user-id or --email), ask for the typed ``confirm`` word if given (its warning
    may name them as ``{who}``), then ``method`` the end user's URL plus ``path``. Returns (their id, the answer)."""
    api = client()
    target = _end_user_id(api, org_id, end_user_id, email)
    if confirm is not None:
        word, warning = confirm
        confirm_word(word, warning.format(who=email or target), yes)
    return target, getattr(api, method)(f"/organizations/{org_id}/end-users/{target}{path}")


@command(end_user, "disable")
@_end_user_target
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def end_user_disable(org_id: str, end_user_id: str | None, email: str | None, yes: bool, as_json: bool) -> None:
    """Disable an end user: sign-in is refused and their sessions and tokens are revoked."""
    warning = "Disabling end user {who}: they are signed out everywhere and cannot sign in."
    _, user = _call_on_end_user(org_id, end_user_id, email, "post", "/disable", confirm=("disable", warning), yes=yes)
    output(user, f"Disabled {user['email']}; their sessions and tokens are revoked.")


@command(end_user, "enable")
@_end_user_target
def end_user_enable(org_id: str, end_user_id: str | None, email: str | None, as_json: bool) -> None:
    """Enable a disabled end user: they can sign in again."""
    _, user = _call_on_end_user(org_id, end_user_id, email, "post", "/enable")
    output(user, f"Enabled {user['email']}; they can sign in again.")


@command(end_user, "delete")
@_end_user_target
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def end_user_delete(org_id: str, end_user_id: str | None, email: str | None, yes: bool, as_json: bool) -> None:
    """Delete an end user and everything they were issued."""
    warning = "Deleting end user {who}: their account and tokens are removed."
    target, _ = _call_on_end_user(org_id, end_user_id, email, "delete", confirm=("delete", warning), yes=yes)
    output({"deleted": target}, f"Deleted end user {email or target}.")


@command(end_user, "resend-invitation")
@_end_user_target
def end_user_resend(org_id: str, end_user_id: str | None, email: str | None, as_json: bool) -> None:
    """Mail a new invitation link; the previous link stops working."""
    _, user = _call_on_end_user(org_id, end_user_id, email, "post", "/resend-invitation")
    output(user, f"Invitation sent again to {user['email']}.")


@command(end_user, "revoke-invitation")
@_end_user_target
def end_user_revoke(org_id: str, end_user_id: str | None, email: str | None, as_json: bool) -> None:
    """Revoke an open invitation (the account, which never had a password, is removed)."""
    target, _ = _call_on_end_user(org_id, end_user_id, email, "delete", "/invitation")
    output({"revoked": target}, f"Revoked the invitation of {email or target}.")


@command(end_user, "sign-out-everywhere")
@_end_user_target
def end_user_sign_out(org_id: str, end_user_id: str | None, email: str | None, as_json: bool) -> None:
    """End every session of the end user and revoke their tokens."""
    target, result = _call_on_end_user(org_id, end_user_id, email, "post", "/sign-out-everywhere")
    output(result, f"Signed out {email or target} everywhere; {result['tokens_revoked']} tokens revoked.")


# ---- billing service ---------------------------------------------------------------------------------


@organizations.group("billing-service")
def billing_service() -> None:
    """White-label billing."""


def _config_lines(config: dict) -> list[str]:
    return [
        f"Billing enabled: {'yes' if config.get('enabled') else 'no'}",
        f"Billing address: {config.get('address') or '(none)'}",
        f"Support email: {config.get('support_email') or '(none)'}",
        f"Logo URL: {config.get('logo_url') or '(none)'}",
        f"Billing dashboard URL: {config.get('billing_dashboard_url') or '(none)'}",
    ]


@command(billing_service, "enable")
@click.option("--org-id", required=True)
@click.option("--address", required=True, help='"line1, line2 (optional), city, state, zipcode[, country]"')
def billing_enable(org_id: str, address: str, as_json: bool) -> None:
    """Enable billing with the billing address."""
    config = client().post(f"/organizations/{org_id}/billing-service/enable", {"address": address})
    output(config, ["Successfully enabled billing service.", *_config_lines(config)])


@command(billing_service, "get-config")
@click.option("--org-id", required=True)
def billing_get_config(org_id: str, as_json: bool) -> None:
    """Show the billing configuration."""
    config = client().get(f"/organizations/{org_id}/billing-service")
    output(config, _config_lines(config))


@command(billing_service, "update")
@click.option("--org-id", required=True)
@click.option("--address", required=True, help='"line1, line2 (optional), city, state, zipcode[, country]"')
def billing_update(org_id: str, address: str, as_json: bool) -> None:
    """Update the billing address."""
    config = client().patch(f"/organizations/{org_id}/billing-service", {"address": address})
    output(config, ["Successfully updated billing service.", *_config_lines(config)])


@command(billing_service, "disable")
@click.option("--org-id", required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def billing_disable(org_id: str, yes: bool, as_json: bool) -> None:
    """Disable billing (the address is kept)."""
    confirm_word("disable", "Disabling billing stops invoicing under your brand; the address is kept.", yes)
    config = client().post(f"/organizations/{org_id}/billing-service/disable")
    output(config, "Successfully disabled billing service.")


def main() -> None:
    cli(prog_name="fleetadmin")


if __name__ == "__main__":
    main()
