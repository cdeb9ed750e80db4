"""The CLI offers exactly the server's choices: it reads them from the same rules modules."""

from fleetadmin.cli import main as cli
from fleetadmin.fleet import members


def _option(*path: str, name: str):
    command = cli.cli
    for part in path:
        command = command.commands[part]
    return next(p for p in command.params if p.name == name)


def test_the_role_options_offer_exactly_the_servers_invitable_roles():
    server = [role.value for role in members.INVITABLE_ROLES]
    for command in ("invite", "set-role"):
        role = _option("organizations", "members", command, name="role")
        assert list(role.type.choices) == server, command
