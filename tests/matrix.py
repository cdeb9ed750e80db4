"""One view-test matrix for every screen, in the spirit of NetBox's ``ViewTestCases``.

A test module declares what its screens are and who may use them; the harness turns that into
parametrized tests that ask the same questions of every screen:

    MATRIX = Matrix(
        world="world",                           # the fixture every path, data and effect receives
        reads=[Read("list", lambda w: ...), Read("create", lambda w: ..., readers=OWNERS)],
        writes=[Write("rename", lambda w: ..., data=..., effect=..., actions=("keys.api_key.rename",))],
        answer=owner_answer,                     # how the screen answers a write it accepts
    )
    test_reads, test_refused_writes, test_writes = MATRIX.tests()

What the generated tests hold every screen to:

- ``test_reads[<screen>-<role>]``: anonymous is sent to sign in (with ``next`` naming the page),
  another organization's owner gets 404, a member who is not among the readers gets 403, a reader
  gets 200 (a whole page without htmx, ``Vary: HX-Request``) and never a secret, and ``read_check``
  runs on the answer. A refusal is checked without and with ``HX-Request`` (a read changes
  nothing, so both ways share one test's fixtures), a reader's answer with it too where the read
  is declared ``partial``.
- ``test_refused_writes[<write>-<role>]``: the same refusals for a POST, made without and then with
  ``HX-Request``; after each, no audit event was recorded, the write's effect does not hold, the
  matrix's ``state`` is unchanged and the answer carries no secret.
- ``test_writes[<write>-<role>-plain|htmx]``: a writer's POST (one test each way, since it changes
  the data): the effect, false before, holds after; exactly the declared audit events were
  recorded, all by that writer; and the module's ``answer`` accepts the response.

Roles are the members of the ``fleet`` fixture (``owner``, ``operator``, ``location_owner``,
``outsider``: the owner of another organization) and ``anonymous``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pytest
from django.test import Client
from django.urls import reverse

from fleetadmin.audit.models import AuditEvent

HTMX = {"HTTP_HX_REQUEST": "true"}
WAYS = {"plain": {}, "htmx": HTMX}

ANONYMOUS = "anonymous"
OUTSIDER = "outsider"
OWNERS = ("owner",)
MEMBERS = ("operator", "owner")
ROLES = (ANONYMOUS, OUTSIDER, "operator", "owner")

World = Any
Check = Callable[..., None]


@dataclass(frozen=True)
class Read:
    """A screen a GET opens.

    ``readers`` are answered 200; the organization's other members 403, another organization's
    owner 404, anonymous a redirect to sign in. ``statuses`` names any other answer a role gets
    (a redirect, say). ``html``: the screen is rendered for a browser (a whole page without htmx,
    ``Vary: HX-Request``), not a file such as an image.
    """

    name: str
    path: Callable[[World], str]
    readers: Sequence[str] = MEMBERS
    statuses: Mapping[str, int] = field(default_factory=dict)
    roles: Sequence[str] | None = None  # only these roles, when the matrix's do not all apply
    html: bool = True
    partial: bool = False  # the screen answers htmx with a part of itself: a reader's htmx visit is checked too


@dataclass(frozen=True)
class Write:
    """A POST that changes something.

    ``effect(world)`` is true once the write has happened (``None``: nothing to observe but its
    answer); ``actions`` are the audit events a writer's POST records, in order; ``prepare(world)``
    makes the write possible first (for writer and refused roles alike).
    """

    name: str
    path: Callable[[World], str]
    data: Callable[[World], dict] = lambda world: {}
    effect: Callable[[World], bool] | None = None
    actions: Sequence[str] = ()
    writers: Sequence[str] = OWNERS
    prepare: Callable[[World], None] | None = None
    roles: Sequence[str] | None = None  # only these roles, when the matrix's do not all apply


@dataclass(frozen=True)
class Visit:
    """One generated case: a screen or a write, who asks, and (for accepted writes) which way."""

    spec: Read | Write
    role: str
    way: str = ""

    def __str__(self) -> str:
        return "-".join(part for part in (self.spec.name, self.role, self.way) if part)


@dataclass(frozen=True)
class Matrix:
    world: str
    reads: Sequence[Read] = ()
    writes: Sequence[Write] = ()
    read_roles: Sequence[str] = ROLES
    write_roles: Sequence[str] = ROLES
    answer: Check | None = None  # answer(response, world, write, htmx): a writer's POST was answered right
    read_check: Check | None = None  # read_check(response, world, read, role, htmx): more to hold on a 200 read
    state: Callable[[World], Any] | None = None  # what a refused write must leave as it was
    secret: re.Pattern | None = None  # never in a read's answer, nor in a refused write's

    def __post_init__(self):
        for kind, specs in (("read", self.reads), ("write", self.writes)):
            names = [spec.name for spec in specs]
            assert len(names) == len(set(names)), f"two {kind}s share a name: {names}"

    # ---- the cases -------------------------------------------------------------------------------

    def read_visits(self) -> list[Visit]:
        return [Visit(read, role) for read in self.reads for role in (read.roles or self.read_roles)]

    def refused_visits(self) -> list[Visit]:
        return [
            Visit(write, role)
            for write in self.writes
            for role in (write.roles or self.write_roles)
            if role not in write.writers
        ]

    def write_visits(self) -> list[Visit]:
        return [
            Visit(write, role, way)
            for write in self.writes
            for role in (write.roles or self.write_roles)
            if role in write.writers
            for way in WAYS
        ]

    def tests(self):
        """The three test functions, for the calling module to bind to names starting with ``test_``."""
        matrix = self

        @pytest.mark.parametrize("visit", self.read_visits(), ids=str)
        def test_reads(visit, request, client_for):
            matrix.check_read(visit, Setting(request, client_for, matrix.world))

        @pytest.mark.parametrize("visit", self.refused_visits(), ids=str)
        def test_refused_writes(visit, request, client_for):
            matrix.check_refused_write(visit, Setting(request, client_for, matrix.world))

        @pytest.mark.parametrize("visit", self.write_visits(), ids=str)
        def test_writes(visit, request, client_for):
            matrix.check_write(visit, Setting(request, client_for, matrix.world))

        return test_reads, test_refused_writes, test_writes

    # ---- the checks ------------------------------------------------------------------------------

    def check_read(self, visit: Visit, setting: Setting) -> None:
        read, role = visit.spec, visit.role
        world = setting.world
        path = read.path(world)
        client = setting.client(role)
        expected = read.statuses.get(role) or (200 if role in read.readers else refusal(role))
        ways = ("plain", "htmx") if expected != 200 or read.partial else ("plain",)
        for way in ways:
            response = client.get(path, **WAYS[way])
            assert response.status_code == expected, f"{way} GET {path} as {role}: {response.status_code}"
            if self.secret is not None:
                assert not self.secret.search(text(response)), f"{way} GET {path} as {role} shows a secret"
            if expected == 200 and read.html:
                assert "HX-Request" in response.get("Vary", ""), f"{way} GET {path}: no Vary: HX-Request"
                if way == "plain":
                    assert "<html" in text(response), f"GET {path} as {role}: not a whole page"
            if expected == 200:
                if self.read_check is not None:
                    self.read_check(response, world, read, role, way == "htmx")
            elif role == ANONYMOUS:
                assert_sent_to_sign_in(response, path)

    def check_refused_write(self, visit: Visit, setting: Setting) -> None:
        write, role = visit.spec, visit.role
        world = setting.world
        if write.prepare is not None:
            write.prepare(world)
        path, data = write.path(world), write.data(world)
        client = setting.client(role)
        for way, headers in WAYS.items():
            state = self.state(world) if self.state is not None else None
            last = last_event_id()
            response = client.post(path, data, **headers)
            assert response.status_code == refusal(role), f"{way} POST {path} as {role}: {response.status_code}"
            if role == ANONYMOUS:
                assert_sent_to_sign_in(response, path)
            assert not AuditEvent.objects.filter(id__gt=last).exists(), f"{way} POST {path} as {role} was audited"
            if write.effect is not None:
                assert not write.effect(world), f"{way} POST {path} as {role} took effect"
            if self.state is not None:
                assert self.state(world) == state, f"{way} POST {path} as {role} changed something"
            if self.secret is not None:
                assert not self.secret.search(text(response)), f"{way} POST {path} as {role} shows a secret"

    def check_write(self, visit: Visit, setting: Setting) -> None:
        write, role, htmx = visit.spec, visit.role, visit.way == "htmx"
        world = setting.world
        if write.prepare is not None:
            write.prepare(world)
        path, data = write.path(world), write.data(world)
        user = setting.user(role)
        client = setting.client(role)
        if write.effect is not None:
            assert not write.effect(world), f"{write.name} holds before the POST"
        last = last_event_id()
        response = client.post(path, data, **WAYS[visit.way])
        assert response.status_code < 400, f"POST {path} as {role}: {response.status_code} {text(response)[:300]}"
        if write.effect is not None:
            assert write.effect(world), f"POST {path} as {role} did not take effect"
        events = list(AuditEvent.objects.filter(id__gt=last).order_by("id"))
        assert [event.action for event in events] == list(write.actions)
        assert {event.actor_id for event in events} <= {str(user.pk)}
        if self.answer is not None:
            self.answer(response, world, write, htmx)


class Setting:
    """What a generated test reaches through its fixtures: the world, the fleet's users, their clients."""

    def __init__(self, request, client_for, world: str):
        self.fleet = request.getfixturevalue("fleet")
        self.world = request.getfixturevalue(world)
        self.client_for = client_for

    def user(self, role: str):
        return None if role == ANONYMOUS else getattr(self.fleet, role)

    def client(self, role: str) -> Client:
        return self.client_for(self.user(role))


def refusal(role: str) -> int:
    """The status a role that may not do something gets: sign in first, not found outside, forbidden inside."""
    return {ANONYMOUS: 302, OUTSIDER: 404}.get(role, 403)


def assert_sent_to_sign_in(response, path: str) -> None:
    location = response["Location"]
    prefix = reverse("accounts:login") + "?next="
    assert location.startswith(prefix), location
    assert unquote(location.removeprefix(prefix)) == path, location


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def text(response) -> str:
    return response.content.decode(errors="replace")
