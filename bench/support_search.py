"""The support console's search at the design size: 10,000 organizations, 100,000 machines, 200,000 keys.

Seeds the fleet with ``seed_scale`` (no audit events: search never reads them), then
200,000 API keys spread over the organizations, 20,000 users each a member of one,
and, when the OAuth app is installed, 10,000 OAuth applications. Times one search of
each kind (median and p95, in milliseconds, with its queries) against a baseline measured
in the same run, one organization fetched by primary key (the least any search can cost),
after ANALYZE; then whole pages: the console against the admin changelist search of the
one model an id belongs to, and a trivial view. Cases run interleaved (A B C ... A B C ...).

    .venv/bin/python bench/support_search.py [--sqlite] [--keep]
"""

from __future__ import annotations

import random
import uuid

from _django import database_label, interleaved, parser, setup, teardown

DB = "fleetadmin_bench_support"
KEYS = 200_000
USERS = 20_000
APPS = 10_000
BATCH = 10_000


def seed() -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from fleetadmin import clock
    from fleetadmin.fleet.models import Membership, Organization
    from fleetadmin.keys import tokens
    from fleetadmin.keys.models import ApiKey, ApiKeyAuthorization
    from fleetadmin.oauth.models import OAuthApplication

    if Organization.objects.count() >= 10_000:
        return
    call_command("seed_scale", orgs=10_000, machines=100_000, audit_events=0, verbosity=0)
    org_ids = list(Organization.objects.values_list("id", flat=True))
    rng = random.Random(7)
    stored = tokens.hash_secret(tokens.generate("fak_"))
    now = clock.now()
    for start in range(0, KEYS, BATCH):
        keys = [
            ApiKey(
                id=uuid.uuid4(),
                organization_id=rng.choice(org_ids),
                name=f"key-{start + i}",
                secret_hash=stored.hash,
                pepper_id=stored.pepper_id,
                created_at=now,
            )
            for i in range(BATCH)
        ]
        ApiKey.objects.bulk_create(keys)
        ApiKeyAuthorization.objects.bulk_create(
            ApiKeyAuthorization(
                key=key,
                organization_id=key.organization_id,
                role="organization_owner",
                resource_type="organization",
                scope_path="/",
            )
            for key in keys
        )
    User = get_user_model()
    unusable = make_password(None)
    users = User.objects.bulk_create(User(email=f"member{n}@example.com", password=unusable) for n in range(USERS))
    Membership.objects.bulk_create(
        Membership(user=user, organization_id=rng.choice(org_ids), role="organization_operator") for user in users
    )
    for start in range(0, APPS, BATCH):
        OAuthApplication.objects.bulk_create(
            OAuthApplication(
                organization_id=rng.choice(org_ids),
                client_name=f"app-{start + i}",
                client_authentication="required",
                pkce="required",
                url_validation="exact_match",
                enabled_grants=["authorization_code"],
                redirect_uris=["https://app.example.com/cb"],
                logout_uri="https://app.example.com/out",
                secret_hash=stored.hash,
                pepper_id=stored.pepper_id,
                created_at=now,
                updated_at=now,
            )
            for i in range(min(BATCH, APPS - start))
        )


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--repeat", type=int, default=10, help="calls per case per round")
    args = p.parse_args()
    url = setup(args, DB)
    try:
        seed()
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext
        from django.urls import reverse

        from fleetadmin.fleet.models import Location, Machine, Organization
        from fleetadmin.keys.models import ApiKey
        from fleetadmin.oauth.models import OAuthApplication
        from fleetadmin.support import selectors

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # fresh statistics after the bulk seed, as autovacuum would give later
        org = Organization.objects.order_by("id")[5000]
        key = ApiKey.objects.order_by("id")[100_000]
        location = Location.objects.order_by("id")[1000]
        machine = Machine.objects.order_by("id")[50_000]
        queries = {
            "organization name (icontains, LIMIT 21)": "Scale Org 0421",
            "organization ID": str(org.pk),
            "location ID": str(location.pk),
            "machine ID": str(machine.pk),
            "API key ID in a sentence": f"hi, our key {key.pk} stopped working",
            "member email": "member12345@example.com",
            "unknown UUID": str(uuid.uuid4()),
        }
        queries["OAuth client ID"] = str(OAuthApplication.objects.order_by("id")[5000].pk)
        floor_label = "baseline: one organization by primary key"
        calls = {floor_label: lambda: Organization.objects.filter(pk=org.pk).first()}
        queries_of, matches_of = {}, {}
        for label, query in queries.items():
            with CaptureQueriesContext(connection) as captured:
                matches_of[label] = len(selectors.search(query).matches)
            queries_of[label] = len(captured.captured_queries)
            calls[label] = lambda q=query: selectors.search(q)
        results = interleaved(calls, rounds=args.rounds, repeat=args.repeat)
        floor = results[floor_label]["median_ms"]
        print(f"database: {database_label(url)}; the selector, called directly; cases interleaved")
        print(f"{'search':<42} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'matches':>8} {'x baseline':>11}")
        for label, timing in results.items():
            print(
                f"{label:<42} {timing['median_ms']:>10.2f} {timing['p95_ms']:>8.2f} "
                f"{queries_of.get(label, 1):>8} {matches_of.get(label, 1):>8} {timing['median_ms'] / floor:>10.1f}x"
            )

        # Whole pages: the console against what support staff would use without it, the admin changelist
        # search of the one model the id belongs to (the console searches every kind at once).
        User = get_user_model()
        staff, _ = User.objects.get_or_create(
            email="bench-support@example.com", defaults={"is_staff": True, "is_superuser": True}
        )
        client = Client()
        client.force_login(staff)
        console = reverse("support:console")
        pages = {
            "trivial view (/healthz)": ("/healthz", {}),
            "console, organization name": (console, {"q": "Scale Org 0421"}),
            "admin organizations, search name": ("/admin/fleet/organization/", {"q": "Scale Org 0421"}),
            "console, machine ID": (console, {"q": str(machine.pk)}),
            "admin machines, search ID": ("/admin/fleet/machine/", {"q": str(machine.pk)}),
            "console, API key ID in a sentence": (console, {"q": queries["API key ID in a sentence"]}),
            "admin API keys, search ID": ("/admin/keys/apikey/", {"q": str(key.pk)}),
        }
        # The console's search may be a POST (so a pasted secret never lands in a URL); ask it the way it takes.
        console_send = client.post if client.get(console, {"q": "x"}).status_code == 405 else client.get
        page_calls = {}
        for label, (path, params) in pages.items():
            send = console_send if path == console else client.get
            response = send(path, params)
            assert response.status_code == 200, (label, response.status_code)
            page_calls[label] = lambda path=path, params=params, send=send: send(path, params)
        page_results = interleaved(page_calls, rounds=args.rounds, repeat=max(args.repeat // 2, 1))
        print()
        floor = page_results["trivial view (/healthz)"]["median_ms"]
        for label, timing in page_results.items():
            print(
                f"{label:<42} {timing['median_ms']:>10.2f} ms median {timing['p95_ms']:>8.2f} ms p95"
                f" {timing['median_ms'] / floor:>8.1f}x trivial view"
            )
        for console_label, admin_label in [
            ("console, organization name", "admin organizations, search name"),
            ("console, machine ID", "admin machines, search ID"),
            ("console, API key ID in a sentence", "admin API keys, search ID"),
        ]:
            ratio = page_results[admin_label]["median_ms"] / page_results[console_label]["median_ms"]
            print(f"{console_label:<42} takes {1 / ratio:.2f}x the time of {admin_label}")
    finally:
        teardown(args, DB)


if __name__ == "__main__":
    main()
