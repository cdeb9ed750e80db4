"""The CLI runs without Django, so where it cannot import a rule it keeps a copy; these tests pin each copy to the
server's value, so a change on one side fails here instead of at a customer's prompt."""

from fleetadmin.cli import main as cli
from fleetadmin.fleet import members


def test_member_roles_are_the_servers_invitable_roles():
    assert [role.value for role in members.INVITABLE_ROLES] == cli.MEMBER_ROLES


def test_the_role_option_offers_exactly_those_roles():
    invite = cli.cli.commands["organizations"].commands["members"].commands["invite"]
    role = next(p for p in invite.params if p.name == "role")
    assert list(role.type.choices) == [role.value for role in members.INVITABLE_ROLES]
