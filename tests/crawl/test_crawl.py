"""The crawl: every URL pattern × every kind of caller, and the hostile-value set on every form and endpoint.

Runs on whichever database the suite runs on (CI runs it on SQLite and on PostgreSQL, where a NUL or
an over-long value is an error instead of a stored oddity). Each probe runs in a savepoint that is
rolled back, so every probe meets the same world and a refused write can be compared row by row.

What it proves, for every probe: no 5xx; nothing of the foreign organization in a response to a caller
outside it; a refused write leaves every row as it was; a hostile value is refused with a 4xx or stored
and rendered escaped (the raw ``<script>`` never comes back).
"""

from __future__ import annotations

import json
import zlib
from contextlib import contextmanager
from html.parser import HTMLParser

import pytest
from django.db import transaction

from tests.crawl.world import CALLERS, FOREIGN, KEY_CALLERS, SEES_FOREIGN, build_world, fill, fingerprint, url_patterns

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
HOSTILE = {
    "empty": "",
    "whitespace": " \t \u00a0 ",
    "long": "x" * 10_000,
    "nul": "a\x00b",
    "control": "a\x01\x07\x1b[0m\x7fb",
    "bidi_zero_width": "abc\u202edcba\u200b\ufeff",
    "sql": "' OR 1=1--",
    "script": SCRIPT,
    "formula": '=HYPERLINK("http://x")',
    "negative": "-1",
    "zero": "0",
    "huge": "9" * 40,
    "malformed_uuid": "1b4e28ba-2fa1-41d2-883f-0016d3cca42Z",
    "foreign_uuid": "<foreign>",
}
# Every field meets these; the rest rotate across fields, so each value meets many fields and the
# run stays a few minutes per database.
ALWAYS = ("nul", "long", "script")
ROTATING = sorted(set(HOSTILE) - set(ALWAYS))
PER_FIELD = 3
WRONG_TYPES = [123, -1, 10**30, 1.5, True, None, [], {}, ["x"], {"a": 1}]
QUERY_NAMES = ("q", "before", "after", "status", "customer", "actor", "action", "since", "until", "v", "next", "page")


def sample(name: str) -> list[str]:
    start = zlib.crc32(name.encode()) % len(ROTATING)
    return [*ALWAYS, *(ROTATING[(start + i) % len(ROTATING)] for i in range(PER_FIELD))]


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def world(settings):
    settings.AXES_ENABLED = False  # hundreds of sign-in probes from one address are the crawl, not an attack
    settings.API_KEY_FAILURE_LIMIT = 10**6
    return build_world()


class Failures(list):
    def check(self, condition: bool, what: str) -> None:
        if not condition:
            self.append(what)

    def assert_none(self, probes: int) -> None:
        shown = "\n".join(self[:40])
        assert not self, f"{len(self)} of {probes} probes failed:\n{shown}"


def _body(response) -> str:
    return (
        b"".join(response.streaming_content).decode(errors="replace")
        if response.streaming
        else (response.content.decode(errors="replace"))
    )


def _sides(world):
    return (("own", world.own), ("foreign", world.foreign))


# ---- every URL × every caller ----------------------------------------------------------------------


def test_every_url_as_every_caller_reads_without_5xx_or_leak(world):
    failures, probes = Failures(), 0
    for pattern in url_patterns():
        for side_name, side in _sides(world):
            url = fill(pattern, side)
            for caller in CALLERS:
                client = world.client(caller)
                with rolled_back():
                    response = client.get(url)
                    body = _body(response)
                probes += 1
                where = f"GET {url} as {caller}: {response.status_code}"
                failures.check(response.status_code < 500, where)
                if side_name == "foreign" and caller not in SEES_FOREIGN:
                    failures.check(FOREIGN not in body, f"{where} shows the foreign organization")
    print(f"crawl: {probes} reads over {len(url_patterns())} patterns × {len(CALLERS)} callers × 2 organizations")
    failures.assert_none(probes)


# Callers that may not write in the organization they probe.
REFUSED_ON = {
    "own": ("anonymous", "operator", "outsider", "support_no_grant", "operator_key"),
    "foreign": tuple(caller for caller in CALLERS if caller not in SEES_FOREIGN),
}
# Self-service routes where a signed-in caller acts on their own account or membership, not the organization's.
SELF_SERVICE = ("accounts/", "invitations/", "orgs/new/", "orgs/<uuid:org_id>/members/leave/")
PLAUSIBLE_FORM = {
    "name": "crawl write",
    "confirm": "delete",
    "customer_id": "00000000-0000-4000-8000-000000000001",
    "email": "crawl@example.com",
    "role": "organization_owner",
    "scope_type": "organization",
    "access": "owner",
    "enabled": "false",
    "address": "1 Crawl St, Springfield, IL, 62704",
    "description": "crawl",
    "subtotal": "1.00",
    "tax": "0",
    "ticket": "SUP-9",
    "reason": "crawl",
}
PLAUSIBLE_JSON = {"name": "crawl write", "address": "1 Crawl St, Springfield, IL, 62704", "email": "c@example.com"}


def test_refused_writes_change_nothing(world):
    failures, probes = Failures(), 0
    for pattern in url_patterns():
        if pattern.startswith(SELF_SERVICE):
            continue
        api = pattern.startswith("api/")
        methods = ("post", "put", "patch", "delete") if api else ("post",)
        for side_name, side in _sides(world):
            url = fill(pattern, side)
            for caller in REFUSED_ON[side_name]:
                if api != (caller in KEY_CALLERS) and caller != "anonymous" and not api:
                    continue  # keys only reach the API; web callers are probed on both
                client = world.client(caller)
                for method in methods:
                    with rolled_back():
                        before = fingerprint()
                        if api:
                            response = getattr(client, method)(url, PLAUSIBLE_JSON, content_type="application/json")
                        else:
                            response = client.post(url, PLAUSIBLE_FORM)
                        changed = fingerprint() != before
                    probes += 1
                    where = f"{method.upper()} {url} as {caller}: {response.status_code}"
                    failures.check(response.status_code < 500, where)
                    failures.check(not changed, f"{where} changed data")
    print(f"crawl: {probes} refused-write probes")
    failures.assert_none(probes)


# ---- the hostile-value set on every form -----------------------------------------------------------


class FormParser(HTMLParser):
    """The POST forms of a page: action and default values of every named field."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._form: dict[str, str] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            if (attrs.get("method") or "get").lower() == "post":
                self._form = {}
                self.forms.append((attrs.get("action") or "", self._form))
            return
        if self._form is None or not attrs.get("name"):
            if tag == "option" and self._form is not None and self._select and self._select not in self._form:
                self._form[self._select] = attrs.get("value") or ""
            return
        name = attrs["name"]
        if tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in {"file", "submit", "button", "image", "reset"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attrs:
                self._form.setdefault(name, "")
                if self._form[name] == "":
                    self._form[name] = attrs.get("value") or "on" if kind == "radio" else ""
                return
            self._form[name] = attrs.get("value") or ""
        elif tag == "select":
            self._select = name
        elif tag == "textarea":
            self._textarea = name
            self._form[name] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form[self._textarea] += data


def _forms_of_the_portal(world) -> dict[str, dict[str, str]]:
    """Every POST form the owner is shown anywhere in the portal, by action URL."""
    forms: dict[str, dict[str, str]] = {}
    for caller in ("owner", "support_granted"):
        client = world.client(caller)
        for pattern in url_patterns():
            if pattern.startswith("api/"):
                continue
            url = fill(pattern, world.own)
            with rolled_back():
                response = client.get(url)
                if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                    continue
                parser = FormParser()
                parser.feed(_body(response))
            for action, fields in parser.forms:
                target = action or url
                if target.startswith("/") and not target.startswith("/accounts/sign-out"):
                    forms.setdefault(f"{caller} {target.split('?')[0]}", {}).update(fields)
    return forms


def _hostile(name: str, world) -> str:
    value = HOSTILE[name]
    return str(world.foreign.org.pk) if value == "<foreign>" else value


def test_hostile_values_on_every_form(world):
    forms = _forms_of_the_portal(world)
    assert len(forms) > 40, sorted(forms)  # the crawl must actually find the portal's forms
    failures, probes = Failures(), 0
    for key, defaults in sorted(forms.items()):
        caller, action = key.split(" ", 1)
        client = world.client(caller)
        fields = [name for name in defaults if name != "csrfmiddlewaretoken"] or ["_"]
        for field in fields:
            for value_name in sample(field):
                data = {**defaults, field: _hostile(value_name, world)}
                with rolled_back():
                    response = client.post(action, data)
                    body = _body(response)
                probes += 1
                where = f"POST {action} as {caller} with {field}={value_name}: {response.status_code}"
                failures.check(response.status_code < 500, where)
                failures.check(SCRIPT not in body, f"{where} reflects the script unescaped")
    print(f"crawl: {probes} hostile form posts over {len(forms)} forms")
    failures.assert_none(probes)


def test_hostile_query_strings_on_every_page(world):
    failures, probes = Failures(), 0
    for pattern in url_patterns():
        url = fill(pattern, world.own)
        caller = "owner_key" if pattern.startswith("api/") else "owner"
        client = world.client(caller)
        for value_name in HOSTILE:
            value = _hostile(value_name, world)
            with rolled_back():
                response = client.get(url, dict.fromkeys(QUERY_NAMES, value))
                body = _body(response)
            probes += 1
            where = f"GET {url}?…={value_name} as {caller}: {response.status_code}"
            failures.check(response.status_code < 500, where)
            failures.check(SCRIPT not in body, f"{where} reflects the script unescaped")
    print(f"crawl: {probes} hostile query strings")
    failures.assert_none(probes)


# ---- the hostile-value set on every API endpoint ---------------------------------------------------


def _resolve(schema: dict, spec: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    if "anyOf" in schema:
        return _resolve(next((s for s in schema["anyOf"] if s.get("type") != "null"), schema["anyOf"][0]), spec)
    return schema


def _example(schema: dict, spec: dict):
    schema = _resolve(schema, spec)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: _example(prop, spec) for name, prop in (schema.get("properties") or {}).items()}
    return {"integer": 1, "number": 1, "boolean": False, "array": []}.get(kind, "crawl")


def _api_operations(world):
    spec = world.client("owner_key").get("/api/v1/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            body_schema = (
                (operation.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema")
            )
            url = path
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path":
                    url = url.replace("{" + parameter["name"] + "}", "<" + parameter["name"] + ">")
            yield method, url.lstrip("/"), _resolve(body_schema, spec) if body_schema else None, spec


def test_hostile_values_on_every_api_endpoint(world, settings):
    failures, probes = Failures(), 0
    client = world.client("owner_key")
    operations = list(_api_operations(world))
    assert len(operations) > 30
    for method, template, schema, spec in operations:
        url = fill(template, world.own)
        cases: list[tuple[str, bytes | str]] = [
            ("invalid JSON", b'{"name": '),
            ("wrong top-level type", json.dumps(["x"])),
        ]
        if schema is not None:
            base = _example(schema, spec)
            for name in schema.get("properties") or {}:
                for value_name in sample(name):
                    cases.append((f"{name}={value_name}", json.dumps({**base, name: _hostile(value_name, world)})))
                start = zlib.crc32(name.encode()) % len(WRONG_TYPES)
                for wrong in (WRONG_TYPES[start], WRONG_TYPES[(start + 3) % len(WRONG_TYPES)]):
                    cases.append((f"{name}={wrong!r}", json.dumps({**base, name: wrong})))
        for label, body in cases:
            with rolled_back():
                response = getattr(client, method)(url, body, content_type="application/json")
            probes += 1
            where = f"{method.upper()} {url} with {label}: {response.status_code}"
            failures.check(response.status_code < 500, where)
            if 400 <= response.status_code < 500 and response.get("Content-Type", "").startswith("application/json"):
                failures.check("error" in response.json(), f"{where} lacks the error shape")
        # A body over the limit, and path ids that are malformed or belong to the other organization.
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
        with rolled_back():
            response = getattr(client, method)(url, json.dumps({"name": "x" * 4096}), content_type="application/json")
        probes += 1
        if method != "get":
            failures.check(
                response.status_code == 413, f"{method.upper()} {url} over the limit: {response.status_code}"
            )
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
        for label, overrides in (
            (
                "malformed ids",
                {
                    name: "not-a-uuid"
                    for name in ("org_id", "key_id", "client_id", "location_id", "machine_id", "invitation_id")
                },
            ),
            ("foreign ids", None),
        ):
            target = fill(template, world.foreign) if overrides is None else fill(template, world.own, overrides)
            with rolled_back():
                response = getattr(client, method)(target, "{}", content_type="application/json")
                body = _body(response)
            probes += 1
            where = f"{method.upper()} {target} ({label}): {response.status_code}"
            failures.check(response.status_code < 500, where)
            failures.check(FOREIGN not in body, f"{where} shows the foreign organization")
    print(f"crawl: {probes} hostile API requests over {len(operations)} operations")
    failures.assert_none(probes)
