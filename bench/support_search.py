"""The support console's search at the design size: 10,000 organizations, 100,000 machines, 200,000 keys.

Seeds the fleet with ``seed_scale`` (no audit events: search never reads them), then
200,000 API keys spread over the organizations, 20,000 users each a member of one,
and, when the OAuth app is installed, 10,000 OAuth applications. Times one search of
each kind (median and p95 over repeated runs, in milliseconds) and the console page
itself for a pasted sentence, with the number of queries each makes.

    .venv/bin/python bench/support_search.py [--sqlite] [--keep]
"""

from __future__ import annotations

import random
import uuid

from _django import parser, setup, teardown, timeit

DB = "fleetadmin_bench_support"
KEYS = 200_000
USERS = 20_000
APPS = 10_000
BATCH = 10_000


def seed() -> None:
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from fleetadmin import clock
    from fleetadmin.fleet.models import Membership, Organization
    from fleetadmin.keys import tokens
    from fleetadmin.keys.models import ApiKey, ApiKeyAuthorization

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
    if apps.is_installed("fleetadmin.oauth"):
        from fleetadmin.oauth.models import OAuthApplication

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
    args = parser(__doc__).parse_args()
    setup(args, DB)
    try:
        seed()
        from django.apps import apps
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext
        from django.urls import reverse

        from fleetadmin.fleet.models import Location, Machine, Organization
        from fleetadmin.keys.models import ApiKey
        from fleetadmin.support import selectors

        org = Organization.objects.order_by("id")[5000]
        key = ApiKey.objects.order_by("id")[100_000]
        queries = {
            "organization name (icontains, LIMIT 21)": "Scale Org 0421",
            "organization ID": str(org.pk),
            "location ID": str(Location.objects.order_by("id")[1000].pk),
            "machine ID": str(Machine.objects.order_by("id")[50_000].pk),
            "API key ID in a sentence": f"hi, our key {key.pk} stopped working",
            "member email": "member12345@example.com",
            "unknown UUID": str(uuid.uuid4()),
        }
        if apps.is_installed("fleetadmin.oauth"):
            from fleetadmin.oauth.models import OAuthApplication

            queries["OAuth client ID"] = str(OAuthApplication.objects.order_by("id")[5000].pk)
        print(f"{'search':<42} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'matches':>8}")
        for label, query in queries.items():
            with CaptureQueriesContext(connection) as captured:
                matches = len(selectors.search(query).matches)
            stats = timeit(lambda q=query: selectors.search(q), repeat=50)
            print(
                f"{label:<42} {stats['median_ms']:>10.2f} {stats['p95_ms']:>8.2f} "
                f"{len(captured.captured_queries):>8} {matches:>8}"
            )
        User = get_user_model()
        staff, _ = User.objects.get_or_create(
            email="bench-support@example.com", defaults={"is_staff": True, "is_superuser": True}
        )
        client = Client()
        client.force_login(staff)
        url = reverse("support:console")
        sentence = queries["API key ID in a sentence"]
        assert client.get(url, {"q": sentence}).status_code == 200
        stats = timeit(lambda: client.get(url, {"q": sentence}), repeat=30)
        print(f"{'console page, pasted sentence (full HTML)':<42} {stats['median_ms']:>10.2f} {stats['p95_ms']:>8.2f}")
    finally:
        teardown(args, DB)


if __name__ == "__main__":
    main()
