"""One clock: every service reads fleetadmin.clock.now, so the tests' ``clock`` fixture moves all of them."""

import ast
from pathlib import Path

import pytest
from django.db import transaction

from fleetadmin import audit
from fleetadmin.core.actors import SYSTEM
from tests.conftest import T0

PACKAGE = Path(__file__).resolve().parents[2] / "fleetadmin"


def timezone_now_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "now"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in {"timezone", "datetime"}
    ]


def test_no_module_reads_the_time_except_through_fleetadmin_clock():
    found = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if "migrations" not in path.parts
        and path.name != "clock.py"
        and "management" not in path.parts  # bench seeding commands date their fake rows, they are not services
        # Django's session machinery dates expiry with timezone.now when it saves; its load must use the same clock.
        and path.name != "session_store.py"
        and (lines := timezone_now_calls(path))
    }
    assert found == {}


@pytest.mark.django_db
def test_the_clock_fixture_dates_audit_events(fleet, clock):
    with transaction.atomic():
        first = audit.record(actor=SYSTEM, action="test.thing.touch", organization=fleet.org)
    clock.advance(minutes=5)
    with transaction.atomic():
        second = audit.record(actor=SYSTEM, action="test.thing.touch", organization=fleet.org)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.created_at, second.created_at) == (T0, T0.replace(minute=11))
