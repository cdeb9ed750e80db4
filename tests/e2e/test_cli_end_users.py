"""`fleetadmin organizations auth-service end-user list|invite|disable|enable|delete` against a real server over HTTP.

Each command's effect is checked in the server's database; errors are one line, in the rules' words
the JSON API uses, with a non-zero exit.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid

import pytest

from fleetadmin.idp.services import not_an_email
from tests.e2e.test_cli import FLEETADMIN, REPO_ROOT
from tests.e2e.test_cli import cli as logged_in_cli  # noqa: F401 -- the logged-in CLI fixture

pytestmark = pytest.mark.e2e


@pytest.fixture
def cli(logged_in_cli):  # noqa: F811
    """The logged-in CLI, importing this checkout's code (the console script may belong to another checkout)."""
    logged_in_cli.env["PYTHONPATH"] = str(REPO_ROOT)
    return logged_in_cli


EU = "organizations auth-service end-user"


def end_user_state(portal_server, org_id: str, email: str, end_user_id: str = ""):
    """The end user's row (or None) and the audit actions recorded for them, from the server's database."""
    return portal_server.query(
        "import json\nfrom fleetadmin.idp.models import EndUser\nfrom fleetadmin.audit.models import AuditEvent\n"
        f"u = EndUser.objects.filter(organization_id='{org_id}', email='{email}').first()\n"
        f"target = str(u.pk) if u else '{end_user_id}'\n"
        "ev = list(AuditEvent.objects.filter(target_id=target).order_by('id').values_list('action', flat=True))\n"
        "print(json.dumps({'row': {'disabled': u.is_disabled, 'invited': u.is_invited, 'id': str(u.pk)} if u else None,"
        " 'events': ev}))"
    )


def test_invite_list_disable_enable_delete(cli, portal_server, demo_ids):
    org = demo_ids["org"]
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    invited = cli(f"{EU} invite --org-id={org} --email={email.upper()} --name='Cli User'").stdout
    assert invited.startswith(f"Invited {email} (end user id: ")
    state = end_user_state(portal_server, org, email)
    assert state["row"] == {"disabled": False, "invited": True, "id": state["row"]["id"]}
    end_user_id = state["row"]["id"]

    listed = json.loads(cli(f"{EU} list --org-id={org} --query={email} --json").stdout)
    assert [(u["email"], u["status"], u["name"]) for u in listed["items"]] == [(email, "invited", "Cli User")]
    assert (
        f"{email} (Cli User) (end user id: {end_user_id}): invited"
        in cli(f"{EU} list --org-id={org} -q {email}").stdout
    )

    refused = cli(f"{EU} disable --org-id={org} --email={email}", stdin="no\n", check=False)
    assert refused.returncode == 1 and "Aborted: you typed 'no', not 'disable'. Nothing was changed." in refused.stderr
    assert end_user_state(portal_server, org, email)["row"]["disabled"] is False

    done = cli(f"{EU} disable --org-id={org} --email={email}", stdin="disable\n")
    assert f"Disabled {email}; their sessions and tokens are revoked." in done.stdout
    assert end_user_state(portal_server, org, email)["row"]["disabled"] is True
    assert cli(f"{EU} enable --org-id={org} --end-user-id={end_user_id}").stdout.strip() == (
        f"Enabled {email}; they can sign in again."
    )
    assert end_user_state(portal_server, org, email)["row"]["disabled"] is False

    refused = cli(f"{EU} delete --org-id={org} --end-user-id={end_user_id}", stdin="", check=False)
    assert refused.returncode == 1 and "Aborted" in refused.stderr
    assert end_user_state(portal_server, org, email)["row"] is not None
    deleted = cli(f"{EU} delete --org-id={org} --end-user-id={end_user_id} --yes --json").stdout
    assert json.loads(deleted) == {"deleted": end_user_id}
    state = end_user_state(portal_server, org, email, end_user_id)
    assert state["row"] is None
    assert state["events"] == [
        "idp.end_user.invite",
        "idp.end_user.disable",
        "idp.end_user.enable",
        "idp.end_user.delete",
    ]
    gone = cli(f"{EU} enable --org-id={org} --end-user-id={end_user_id}", check=False)
    assert gone.returncode == 1 and gone.stderr.strip() == "Not found: No such end user."


def test_list_pages_with_after_and_all(cli, portal_server, demo_ids):
    org = demo_ids["org"]
    prefix = f"page-{uuid.uuid4().hex[:6]}-"
    portal_server.query(
        "import json\nfrom fleetadmin import clock\nfrom fleetadmin.idp.models import EndUser\n"
        f"EndUser.objects.bulk_create([EndUser(organization_id='{org}', email=f'{prefix}{{i:03}}@example.com', "
        "created_at=clock.now()) for i in range(53)])\nprint(json.dumps(1))"
    )
    first = cli(f"{EU} list --org-id={org} --query={prefix}").stdout.splitlines()
    assert (
        len(first) == 51 and first[-1] == f"More end users: run again with --after={prefix}049@example.com (or --all)."
    )
    rest = json.loads(cli(f"{EU} list --org-id={org} --query={prefix} --after={prefix}049@example.com --json").stdout)
    assert [u["email"] for u in rest["items"]] == [f"{prefix}{i:03}@example.com" for i in (50, 51, 52)]
    every = json.loads(cli(f"{EU} list --org-id={org} --query={prefix} --all --json").stdout)
    assert len(every["items"]) == 53 and every["next"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # the rule's own words (fleetadmin.idp.services), as the End users page and the JSON API say them
        (f"{EU} invite --org-id={{org}} --email=not-an-email", f"Error: email: {not_an_email('not-an-email')}"),
        (
            f"{EU} invite --org-id={{org}} --email=n@example.com --name={'n' * 151}",
            "Error: name: at most 150 characters are accepted; got 151",
        ),
        (f"{EU} disable --org-id={{org}} --yes", "Error: give exactly one of --end-user-id=<id> or --email=<email>."),
        (
            f"{EU} disable --org-id={{org}} --email=nobody@example.com --yes",
            "Not found: no end user with the email nobody@example.com in organization {org}.",
        ),
        (f"{EU} list --org-id=00000000-0000-0000-0000-000000000000", "Not found: "),
        (f"{EU} enable --org-id={{org}} --end-user-id=not-a-uuid", "Error: end_user_id: "),
    ],
)
def test_errors_are_one_line_and_a_non_zero_exit(cli, demo_ids, args, message):
    result = cli(args.format(org=demo_ids["org"]), check=False)
    assert result.returncode == 1
    assert message.format(org=demo_ids["org"]) in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr + result.stdout


def test_an_operator_key_reads_but_cannot_change(cli, portal_server, demo_ids):
    org = demo_ids["org"]
    email = f"op-{uuid.uuid4().hex[:8]}@example.com"
    portal_server.manage("create_end_user", "--org-id", org, "--email", email, "--password", "long-password-1")
    created = portal_server.manage("create_api_key", "--org-id", org, "--role", "organization_operator")
    key_id = re.search(r"Key ID: (\S+)", created.stdout).group(1)
    value = re.search(r"Key Value: (\S+)", created.stdout).group(1)
    env = {**cli.env, "FLEETADMIN_API_KEY_ID": key_id, "FLEETADMIN_API_KEY": value}

    def run(args: str) -> subprocess.CompletedProcess:
        argv = [FLEETADMIN, *args.split()]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)

    listed = run(f"{EU} list --org-id={org} --query={email} --json")
    assert listed.returncode == 0 and json.loads(listed.stdout)["items"][0]["status"] == "active"
    for command in ("disable", "delete"):
        refused = run(f"{EU} {command} --org-id={org} --email={email} --yes")
        assert refused.returncode == 1 and refused.stderr.startswith("Permission denied: "), refused.stderr
    refused = run(f"{EU} invite --org-id={org} --email=x-{email}")
    assert refused.returncode == 1 and refused.stderr.startswith("Permission denied: ")
    state = end_user_state(portal_server, org, email)
    assert state["row"]["disabled"] is False
    assert end_user_state(portal_server, org, f"x-{email}")["row"] is None
