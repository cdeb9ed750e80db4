import pytest

from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet.authz import can, roles_in
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("who", "permission", "target", "expected"),
    [
        ("owner", "fleet.add_location", "org", True),
        ("owner", "fleet.delete_location", "hq", True),
        ("owner", "fleet.delete_machine", "forklift", True),
        ("owner", "audit.view_log", "org", True),
        ("operator", "fleet.view", "arm", True),
        ("operator", "fleet.add_location", "org", False),
        ("operator", "fleet.rename_machine", "arm", False),
        ("operator", "audit.view_log", "org", True),
        ("location_owner", "fleet.view", "line_a", True),
        ("location_owner", "fleet.view", "warehouse", False),
        ("location_owner", "fleet.add_machine", "line_a", True),
        ("location_owner", "fleet.rename_machine", "arm", True),
        ("location_owner", "fleet.rename_machine", "forklift", False),
        ("location_owner", "fleet.add_location", "hq", False),
        ("location_owner", "fleet.delete_location", "line_a", False),
        ("location_owner", "audit.view_log", "org", False),
        ("location_owner", "fleet.view_organization", "org", True),
        ("outsider", "fleet.view_organization", "org", False),
        ("outsider", "fleet.view", "arm", False),
        ("anonymous", "fleet.view", "arm", False),
    ],
)
def test_permission_matrix(fleet, who, permission, target, expected):
    from django.contrib.auth.models import AnonymousUser

    actor = AnonymousUser() if who == "anonymous" else getattr(fleet, who)
    assert can(actor, permission, getattr(fleet, target)) is expected


def test_system_may_do_everything(fleet):
    assert can(SYSTEM, "fleet.delete_location", fleet.hq)


def test_unknown_permissions_are_a_programming_error(fleet):
    with pytest.raises(ValueError, match="Unknown permission"):
        can(fleet.owner, "fleet.launch_rockets", fleet.org)


def test_location_operator_reads_the_subtree_only(fleet):
    reader = MembershipFactory(organization=fleet.org, location=fleet.line_a, role="location_operator").user
    assert can(reader, "fleet.view", fleet.arm)
    assert not can(reader, "fleet.view", fleet.hq)
    assert not can(reader, "fleet.rename_machine", fleet.arm)
    assert roles_in(reader, fleet.org) == {"location_operator"}


def test_grants_are_loaded_once_per_user_object(fleet, django_assert_num_queries):
    user = UserFactory()
    MembershipFactory(user=user, organization=fleet.org, role="organization_owner")
    with django_assert_num_queries(1):
        for _ in range(5):
            can(user, "fleet.view", fleet.arm)
