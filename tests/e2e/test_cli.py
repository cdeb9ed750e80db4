"""The `fleetadmin` CLI against a real server over HTTP.

The seed page (the platform's "Manage your fleet" documentation) is a list of `viam` commands.
Each one, with `viam` replaced by `fleetadmin` and its placeholders filled with real ids, must
do what the page says; its effect is checked in the server's database.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_PAGE = REPO_ROOT.parent / "shared" / "seed" / "000_4e06499cd6454ea8.txt"
FLEETADMIN = str(Path(sys.executable).parent / "fleetadmin")

# Every command line of the seed page, in the page's order, joined where the page continues a line.
SEED_COMMANDS = [
    "viam organizations list",
    "viam locations list",
    "viam machines list --organization=<org-id> --all",
    "viam organizations api-key create --org-id=<org-id> --name=my-org-key",
    "viam locations api-key create --location-id=<location-id> --name=my-location-key",
    "viam machines api-key create --machine-id=<machine-id>",
    "viam organizations auth-service enable --org-id=<org-id>",
    "viam organizations logo set --org-id=<org-id> --logo-path=./logo.png",
    "viam organizations support-email set --org-id=<org-id> --support-email=support@example.com",
    "viam organizations auth-service oauth-app create --org-id=<org-id> --client-name=my-app "
    "--client-authentication=unspecified --url-validation=exact_match --pkce=required "
    "--enabled-grants=authorization_code --redirect-uris=https://example.com/callback "
    "--logout-uri=https://example.com/logout --origin-uris=https://example.com",
    "viam organizations auth-service oauth-app list --org-id=<org-id>",
    "viam organizations auth-service oauth-app read --org-id=<org-id> --client-id=<client-id>",
    "viam organizations auth-service oauth-app update --org-id=<org-id> --client-id=<client-id> "
    "--client-name=updated-name",
    "viam organizations auth-service oauth-app delete --org-id=<org-id> --client-id=<client-id>",
    "viam organizations auth-service disable --org-id=<org-id>",
    'viam organizations billing-service enable --org-id=<org-id> --address="123 Main St, Springfield, IL, 62704"',
    "viam organizations billing-service get-config --org-id=<org-id>",
    "viam organizations billing-service update --org-id=<org-id> --address=<billing-address>",
    "viam organizations billing-service disable --org-id=<org-id>",
]


def commands_on_the_page(text: str) -> list[str]:
    """The `viam` commands of the page, continuation lines (ending in a backslash) joined."""
    commands, current = [], None
    for raw in text.splitlines():
        line = raw.strip()
        if current is not None:
            current += " " + line.rstrip("\\").strip()
            if not line.endswith("\\"):
                commands.append(current)
                current = None
        elif line.startswith("viam "):
            if line.endswith("\\"):
                current = line.rstrip("\\").strip()
            else:
                commands.append(line)
    return commands


def test_the_list_holds_every_command_of_the_seed_page():
    if not SEED_PAGE.exists():
        assert os.environ.get("CI") != "true", f"{SEED_PAGE} is missing; CI always has it"
        return
    on_page = commands_on_the_page(SEED_PAGE.read_text())
    assert len(on_page) >= 19
    missing = [command for command in on_page if command not in SEED_COMMANDS]
    assert not missing, f"the seed page has commands this test does not run: {missing}"


@pytest.fixture
def cli(portal_server, tmp_path, demo_ids):
    """Run `fleetadmin` as a user would: its own config dir, logged in with an organization owner key."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "LANG": "C.UTF-8",
    }

    def run(args: list[str] | str, *, stdin: str = "", check: bool = True) -> subprocess.CompletedProcess:
        argv = shlex.split(args) if isinstance(args, str) else args
        result = subprocess.run(
            [FLEETADMIN, *argv], cwd=tmp_path, env=env, input=stdin, capture_output=True, text=True, timeout=60
        )
        if check:
            assert result.returncode == 0, f"{argv}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        return result

    created = portal_server.manage("create_api_key", "--org-id", demo_ids["org"], "--name", "cli-login")
    key_id = re.search(r"Key ID: (\S+)", created.stdout).group(1)
    value = re.search(r"Key Value: (\S+)", created.stdout).group(1)
    run(["login", "api-key", f"--key-id={key_id}", f"--key={value}", f"--base-url={portal_server.base_url}"])
    run.env = env
    run.key_id = key_id
    run.value = value
    return run


def db(portal_server, expression: str):
    """Evaluate a Python expression in the server's Django, as JSON."""
    return portal_server.query(
        "import json\nfrom fleetadmin.fleet.models import *\nfrom fleetadmin.keys.models import *\n"
        "from django.apps import apps\n"
        f"print(json.dumps({expression}, default=str))"
    )


def test_login_stores_credentials_readable_only_by_the_user(cli, tmp_path):
    path = tmp_path / "config" / "fleetadmin" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["key_id"] == cli.key_id
    me = json.loads(cli("whoami --json").stdout)
    assert me["key_id"] == cli.key_id
    assert cli("logout").stdout.strip() == "Logged out."
    assert not path.exists()
    result = cli("organizations list", check=False)
    assert result.returncode == 1
    assert "Not logged in" in result.stderr


def test_environment_variables_override_the_stored_credentials(cli, portal_server):
    cli("logout")
    env = {
        **cli.env,
        "FLEETADMIN_BASE_URL": portal_server.base_url,
        "FLEETADMIN_API_KEY_ID": cli.key_id,
        "FLEETADMIN_API_KEY": cli.value,
    }
    result = subprocess.run([FLEETADMIN, "whoami"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert cli.key_id in result.stdout


def make_png(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (64, 64), (31, 79, 209)).save(path, format="PNG")


def test_every_seed_command_does_what_the_page_says(cli, portal_server, demo_ids, tmp_path):
    make_png(tmp_path / "logo.png")
    org = demo_ids["org"]
    ids = {
        "<org-id>": org,
        "<location-id>": demo_ids["hq"],
        "<machine-id>": demo_ids["arm"],
        "<billing-address>": '"456 Oak Ave, Apt 2, Chicago, IL, 60601"',
    }
    ran: set[int] = set()

    def seed(index: int, **kwargs) -> subprocess.CompletedProcess:
        line = SEED_COMMANDS[index]
        for placeholder, value in ids.items():
            line = line.replace(placeholder, value)
        assert line.startswith("viam ")
        ran.add(index)
        return cli(line[len("viam ") :], **kwargs)

    # organizations list / locations list / machines list --all
    assert "Acme Robotics" in seed(0).stdout
    assert "Headquarters" in seed(1).stdout
    listed = seed(2).stdout
    assert "arm-01" in listed and "forklift-01" in listed

    # API keys at each scope
    out = seed(3).stdout
    assert out.startswith("Successfully created key:\nKey ID: ")
    assert "Keep this key somewhere safe; it has full write access to your organization." in out
    assert db(
        portal_server, "list(ApiKey.objects.filter(name='my-org-key').values_list('authorizations__role', flat=True))"
    ) == ["organization_owner"]
    out = seed(4).stdout
    assert "full write access to your location" in out
    assert db(
        portal_server,
        "list(ApiKey.objects.filter(name='my-location-key')"
        ".values_list('authorizations__role', 'authorizations__location_id'))",
    ) == [["location_owner", demo_ids["hq"]]]
    out = seed(5).stdout
    machine_key_id = re.search(r"Key ID: (\S+)", out).group(1)
    assert db(
        portal_server,
        f"list(ApiKey.objects.filter(pk='{machine_key_id}')"
        f".values_list('authorizations__role', 'authorizations__machine_id', 'name'))",
    )[0][:2] == ["robot_owner", demo_ids["arm"]]

    # Auth service, logo, support email
    seed(6)
    service = f"apps.get_model('oauth', 'AuthService').objects.get(organization_id='{org}')"
    assert db(portal_server, f"{service}.enabled") is True
    seed(7)
    assert db(portal_server, f"bool({service}.logo)") is True
    seed(8)
    assert db(portal_server, f"{service}.support_email") == "support@example.com"

    # OAuth applications
    out = seed(9).stdout
    match = re.search(r"Successfully created OAuth app my-app with client ID (\S+) and client secret (\S+)", out)
    assert match, out
    ids["<client-id>"] = client_id = match.group(1)
    app = f"apps.get_model('oauth', 'OAuthApplication').objects.get(pk='{client_id}')"
    assert db(portal_server, f"{app}.pkce") == "required"
    assert client_id in seed(10).stdout.split()
    read = seed(11).stdout
    for expected in [
        "Client Name: my-app",
        "Client Authentication: unspecified",
        "PKCE: required",
        "URL Validation Policy: exact_match",
        "Logout URL: https://example.com/logout",
        "Redirect URLs: https://example.com/callback",
        "Origin URLs: https://example.com",
        "Enabled Grants: authorization_code",
    ]:
        assert expected in read, (expected, read)
    seed(12)
    assert db(portal_server, f"[{app}.client_name, {app}.pkce, {app}.redirect_uris]") == [
        "updated-name",
        "required",
        ["https://example.com/callback"],
    ]
    refused = seed(13, stdin="no\n", check=False)
    assert refused.returncode == 1 and "Aborted" in refused.stderr
    assert db(portal_server, f"apps.get_model('oauth', 'OAuthApplication').objects.filter(pk='{client_id}').exists()")
    seed(13, stdin="delete\n")
    assert not db(
        portal_server, f"apps.get_model('oauth', 'OAuthApplication').objects.filter(pk='{client_id}').exists()"
    )
    seed(14, stdin="disable\n")
    assert db(portal_server, f"{service}.enabled") is False

    # Billing
    billing = f"apps.get_model('billing', 'BillingService').objects.get(organization_id='{org}')"
    out = seed(15).stdout
    assert "123 Main St" in out
    assert db(
        portal_server,
        f"[{billing}.enabled, {billing}.line1, {billing}.city, {billing}.state, {billing}.zipcode, {billing}.country]",
    ) == [True, "123 Main St", "Springfield", "IL", "62704", "US"]
    config = seed(16).stdout
    for label in ["Billing address: 123 Main St", "Support email:", "Logo URL:", "Billing dashboard URL: http"]:
        assert label in config, (label, config)
    seed(17)
    assert db(portal_server, f"[{billing}.line1, {billing}.line2, {billing}.city]") == [
        "456 Oak Ave",
        "Apt 2",
        "Chicago",
    ]
    seed(18, stdin="disable\n")
    assert db(portal_server, f"[{billing}.enabled, {billing}.line1]") == [False, "456 Oak Ave"]

    assert ran == set(range(len(SEED_COMMANDS)))  # every command of the page ran


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            "organizations auth-service oauth-app create --org-id=00000000-0000-0000-0000-000000000000 "
            "--client-authentication=maybe --url-validation=exact_match --pkce=required "
            "--enabled-grants=authorization_code --redirect-uris=https://e.com/cb --logout-uri=https://e.com/out",
            # the rules' own words (fleetadmin.oauth.rules), the same as the web form and the JSON API say
            "Invalid value for '--client-authentication': must be one of unspecified, required, not_required, "
            "not_required_when_using_pkce; got 'maybe'",
        ),
        (
            "organizations auth-service oauth-app create --org-id=00000000-0000-0000-0000-000000000000 "
            "--client-authentication=required --url-validation=exact_match --pkce=required "
            "--enabled-grants=authorization_code,teleport --redirect-uris=https://e.com/cb --logout-uri=https://e.com/out",
            "Invalid value for '--enabled-grants': 'teleport' is not a grant; accepted: authorization_code, implicit, "
            "password, refresh_token, device_code",
        ),
        ("machines list --organization=00000000-0000-0000-0000-000000000000 --all", "Not found: "),
        ("machines list --organization=00000000-0000-0000-0000-000000000000", "give --all"),
    ],
)
def test_errors_are_one_clear_line_and_a_non_zero_exit(cli, args, message):
    result = cli(args, check=False)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_bad_key_and_an_unreachable_server_get_their_own_messages(cli, portal_server):
    env = {**cli.env, "FLEETADMIN_API_KEY": "fak_" + "A" * 46}
    result = subprocess.run([FLEETADMIN, "organizations", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("Not authenticated: ")
    assert "Traceback" not in result.stderr
    env = {**cli.env, "FLEETADMIN_BASE_URL": "http://127.0.0.1:9"}
    result = subprocess.run([FLEETADMIN, "organizations", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("Cannot reach the fleetadmin server at http://127.0.0.1:9")
    assert "Traceback" not in result.stderr


def test_json_output_and_key_list_rotate_delete(cli, demo_ids):
    created = json.loads(
        cli(f"locations api-key create --location-id={demo_ids['line_a']} --name=cli-json --json").stdout
    )
    assert created["key"].startswith("fak_") and created["authorizations"][0]["role"] == "location_owner"
    listed = json.loads(cli(f"locations api-key list --location-id={demo_ids['line_a']} --json").stdout)
    assert created["id"] in {k["id"] for k in listed}
    rotated = cli(f"locations api-key rotate --key-id={created['id']} --grace=1h").stdout
    new_id = re.search(r"Key ID: (\S+)", rotated).group(1)
    assert new_id != created["id"]
    refused = cli(f"locations api-key delete --key-id={new_id}", stdin="", check=False)
    assert refused.returncode == 1 and "Aborted" in refused.stderr
    assert cli(f"locations api-key delete --key-id={new_id} --yes").stdout.strip() == f"Deleted API key {new_id}."
    gone = cli(f"organizations api-key delete --key-id={new_id} --yes", check=False)
    assert gone.returncode == 1 and gone.stderr.startswith("Not found: ")
