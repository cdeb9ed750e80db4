"""The scale lane: one organization with 20,000 machines in 500 locations and 20,000 keys.

Built once for the module with seed_scale's bulk path, inside one transaction that is rolled back at the
end (nothing to delete, and PostgreSQL refuses deleting audit events anyway). Every page an owner, an
operator or a location owner opens must answer with a bounded number of queries and under 300 KB of
HTML: no page grows with the organization. This is a test, not a benchmark: bench/scale_pages.py times
the same pages.
"""

import re
import time

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fleetadmin.audit.services import SYSTEM
from fleetadmin.fleet import views as fleet_views
from fleetadmin.fleet.models import Location, Machine, Membership, Organization, Role
from fleetadmin.keys import views as key_views
from fleetadmin.keys.models import ApiKey
from fleetadmin.keys.services import Grant, api_key_create
from tests.factories import UserFactory

MACHINES, LOCATIONS, KEYS = 20_000, 500, 20_000
MAX_HTML = 300 * 1024
HTMX = {"HTTP_HX_REQUEST": "true"}
PAGE = max(fleet_views.PICKER_SIZE, key_views.PICKER_SIZE)  # options per picker page


@pytest.fixture(scope="module")
def scale(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            started = time.perf_counter()
            call_command(
                "seed_scale",
                orgs=1,
                machines=MACHINES,
                machines_per_location=MACHINES // LOCATIONS,
                keys=KEYS,
                audit_events=200,
                verbosity=0,
            )
            org = Organization.objects.get()
            owner, operator, location_owner = UserFactory(), UserFactory(), UserFactory()
            root = Location.objects.filter(organization=org, parent=None).order_by("-subtree_machine_count").first()
            Membership.objects.create(user=owner, organization=org, role=Role.ORGANIZATION_OWNER)
            Membership.objects.create(user=operator, organization=org, role=Role.ORGANIZATION_OPERATOR)
            Membership.objects.create(user=location_owner, organization=org, location=root, role=Role.LOCATION_OWNER)
            issued = api_key_create(
                actor=SYSTEM, organization=org, grants=[Grant(role="organization_owner", resource=org)]
            )
            print(f"scale data built in {time.perf_counter() - started:.1f} s on {connection.vendor}")
            yield {
                "org": org,
                "root": root,
                "owner": owner,
                "operator": operator,
                "location_owner": location_owner,
                "key": issued,
            }
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def test_the_data_is_what_the_lane_promises(scale, db):
    org = scale["org"]
    org.refresh_from_db()
    assert Machine.objects.filter(organization=org).count() == MACHINES == org.machine_count
    assert Location.objects.filter(organization=org).count() == LOCATIONS == org.location_count
    assert ApiKey.objects.filter(organization=org).count() == KEYS + 1
    assert scale["root"].subtree_machine_count > 1000  # the location owner's subtree is big too


def pages(scale):
    org, root = scale["org"], scale["root"]
    biggest = Location.objects.filter(organization=org).order_by("-machine_count").first()
    o = org.pk
    key = ApiKey.objects.filter(organization=org, name__startswith="scale-key").first()
    # (who, path, extra headers, max queries)
    return [
        ("owner", reverse("fleet:organizations"), {}, 6),
        ("owner", reverse("fleet:organization", args=[o]), {}, 10),
        ("operator", reverse("fleet:organization", args=[o]), {}, 10),
        ("location_owner", reverse("fleet:organization", args=[o]), {}, 10),
        ("owner", reverse("fleet:organization", args=[o]) + "?q=arm", {}, 11),
        ("owner", reverse("fleet:location", args=[o, root.pk]), {}, 10),
        ("owner", reverse("fleet:location", args=[o, biggest.pk]), HTMX, 9),
        ("owner", reverse("fleet:location_picker", args=[o]) + "?for=machine&q=a", HTMX, 6),
        ("owner", reverse("keys:list", args=[o]), {}, 8),
        ("operator", reverse("keys:list", args=[o]), {}, 8),
        ("location_owner", reverse("keys:list", args=[o]), {}, 8),
        ("owner", reverse("keys:list", args=[o]) + "?q=key-0001", {}, 8),
        ("owner", reverse("keys:create", args=[o]) + "?scope_type=robot", {}, 8),
        ("location_owner", reverse("keys:create", args=[o]) + "?scope_type=location", {}, 8),
        ("owner", reverse("keys:detail", args=[o, key.pk]), {}, 12),
        ("owner", reverse("audit:log", args=[o]), {}, 12),
        # Members: the invite form's scope picker is a first page of locations; its search asks the picker.
        ("owner", reverse("fleet:members", args=[o]), {}, 11),
        ("operator", reverse("fleet:members", args=[o]), {}, 11),
        ("owner", reverse("fleet:location_picker", args=[o]) + "?for=scope", HTMX, 6),
        ("owner", reverse("fleet:location_picker", args=[o]) + "?for=scope&q=a", HTMX, 6),
        ("owner", reverse("fleet:location_picker", args=[o]) + "?for=parent&q=a", HTMX, 6),
        # The key form's pickers, reloaded on demand (htmx swaps the form): searches, and a chosen location.
        ("owner", reverse("keys:create", args=[o]) + "?scope_type=location&location_q=a", HTMX, 8),
        ("owner", reverse("keys:create", args=[o]) + f"?scope_type=robot&location={biggest.pk}", HTMX, 9),
        ("owner", reverse("keys:create", args=[o]) + "?scope_type=robot&machine_q=arm", HTMX, 8),
        ("location_owner", reverse("keys:create", args=[o]) + "?scope_type=robot&machine_q=a", HTMX, 8),
    ]


def test_every_page_is_bounded(scale, db, client):
    clients = {}
    for who in ("owner", "operator", "location_owner"):
        clients[who] = Client()
        clients[who].force_login(scale[who])
    report = []
    for who, path, headers, max_queries in pages(scale):
        clients[who].get(path, **headers)  # the first request after sign-in does session bookkeeping
        with CaptureQueriesContext(connection) as queries:
            response = clients[who].get(path, **headers)
        assert response.status_code == 200, (who, path, response.status_code)
        report.append((who, path, len(queries), len(response.content)))
        assert len(queries) <= max_queries, (who, path, [q["sql"][:120] for q in queries])
        assert len(response.content) < MAX_HTML, (who, path, len(response.content))
    print("\n".join(f"{who:15} {count:3} queries {size / 1024:7.1f} KB  {path}" for who, path, count, size in report))


def test_a_key_authenticates_in_one_query(scale, db, django_assert_num_queries):
    issued = scale["key"]
    api = Client(HTTP_AUTHORIZATION=f"ApiKey {issued.key.pk}:{issued.value}")
    assert api.get("/api/v1/whoami").status_code == 200  # writes last_used (at most once a minute)
    with django_assert_num_queries(1):
        assert api.get("/api/v1/whoami").json()["key_id"] == str(issued.key.pk)


def options_in(response) -> list[str]:
    return re.findall(r'<option value="([^"]*)"', response.content.decode())


def test_the_pickers_find_any_location_or_machine_but_list_one_page(scale, db):
    """On demand: a search reaches the last location and machine of 20,000, yet no answer lists more than a page."""
    org = scale["org"]
    owner = Client()
    owner.force_login(scale["owner"])
    last_location = Location.objects.filter(organization=org).order_by("-name", "-id").first()
    last_machine = Machine.objects.filter(organization=org).order_by("-name", "-id").first()
    picker = reverse("fleet:location_picker", args=[org.pk])
    key_form = reverse("keys:create", args=[org.pk])

    first_page = options_in(owner.get(picker + "?for=scope", **HTMX))
    assert 1 + PAGE >= len(first_page) > PAGE // 2  # a blank for "whole organization", then one page
    assert str(last_location.pk) not in first_page  # the 500th location is not on the first page...
    found = options_in(owner.get(picker, {"for": "scope", "q": last_location.name}, **HTMX))
    assert str(last_location.pk) in found and len(found) <= 1 + PAGE  # ...but its search finds it

    machines = options_in(owner.get(key_form, {"scope_type": "robot", "machine_q": last_machine.name}, **HTMX))
    assert str(last_machine.pk) in machines and len(machines) <= 2 * (1 + PAGE)  # location and machine pickers
    members = owner.get(reverse("fleet:members", args=[org.pk]))
    assert members.status_code == 200
    assert len(options_in(members)) < 200  # roles and one page of locations, not 500 locations
