"""The API-keys list page with 200,000 keys in one organization, against Django's admin changelist.

Same data, same process, same run: the portal's list (keyset pagination, indexed
filters, authorizations prefetched) and the admin changelist of ApiKey (OFFSET
pagination, COUNT(*)), plus a trivial view as the floor. Reports median times and
the query count of each page.

    .venv/bin/python bench/keys_list.py [--keys 200000] [--sqlite] [--keep]
"""

import re
import time
from datetime import timedelta

from _django import parser, setup, teardown, timeit

DB = "fleetadmin_bench_keys"
BATCH = 10_000


def seed(n: int):
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from fleetadmin import clock
    from fleetadmin.core.actors import SYSTEM
    from fleetadmin.fleet import services as fleet_services
    from fleetadmin.fleet.models import Organization
    from fleetadmin.keys import tokens
    from fleetadmin.keys.models import ApiKey, ApiKeyAuthorization

    organization = Organization.objects.filter(name="Bench Keys Org").first()
    User = get_user_model()
    owner, _ = User.objects.get_or_create(
        email="bench-owner@example.com", defaults={"is_staff": True, "is_superuser": True}
    )
    owner.set_password("bench-password-1")
    owner.save()
    if organization is not None and ApiKey.objects.filter(organization=organization).count() >= n:
        return organization, owner
    organization = fleet_services.organization_create(actor=SYSTEM, name="Bench Keys Org")
    fleet_services.membership_grant(actor=SYSTEM, user=owner, organization=organization, role="organization_owner")
    locations = [
        fleet_services.location_create(actor=SYSTEM, organization=organization, name=f"Site {i}") for i in range(20)
    ]
    machines = [
        fleet_services.machine_create(actor=SYSTEM, location=locations[i % 20], name=f"bot-{i}") for i in range(200)
    ]
    stored = tokens.hash_secret(tokens.generate("fak_"))
    start = clock.now() - timedelta(days=365)
    step = timedelta(days=365) / n
    began = time.perf_counter()
    for offset in range(0, n, BATCH):
        keys, auths = [], []
        for i in range(offset, min(offset + BATCH, n)):
            key = ApiKey(
                organization=organization,
                name=f"key-{i:06d}",
                secret_hash=stored.hash,
                pepper_id=stored.pepper_id,
                created_at=start + step * i,
                created_by=owner,
                created_by_name=owner.email,
                expires_at=(start + step * i + timedelta(days=400)) if i % 3 == 0 else None,
            )
            keys.append(key)
            kind = i % 3
            if kind == 0:
                auths.append(
                    ApiKeyAuthorization(
                        key=key,
                        organization=organization,
                        role="organization_owner",
                        resource_type="organization",
                        scope_path="/",
                    )
                )
            elif kind == 1:
                loc = locations[i % 20]
                auths.append(
                    ApiKeyAuthorization(
                        key=key,
                        organization=organization,
                        role="location_owner",
                        resource_type="location",
                        location=loc,
                        scope_path=loc.path,
                    )
                )
            else:
                m = machines[i % 200]
                auths.append(
                    ApiKeyAuthorization(
                        key=key,
                        organization=organization,
                        role="robot_operator",
                        resource_type="robot",
                        machine=m,
                        scope_path=f"{m.location.path}m{m.pk.hex}/",
                    )
                )
        with transaction.atomic():
            ApiKey.objects.bulk_create(keys)
            ApiKeyAuthorization.objects.bulk_create(auths)
    print(f"seeded {n} keys in {time.perf_counter() - began:.1f} s")
    return organization, owner


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--keys", type=int, default=200_000)
    p.add_argument("--repeat", type=int, default=30)
    args = p.parse_args()
    url = setup(args, DB)
    try:
        from django.db import connection
        from django.test import Client

        organization, owner = seed(args.keys)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        from fleetadmin.core.actors import SYSTEM
        from fleetadmin.keys.services import Grant, api_key_create

        bench_key = api_key_create(
            actor=SYSTEM, organization=organization, grants=[Grant(role="organization_owner", resource=organization)]
        )
        api_client = Client(HTTP_AUTHORIZATION=f"ApiKey {bench_key.key.pk}:{bench_key.value}")
        client = Client()
        client.force_login(owner)
        base = f"/orgs/{organization.pk}/keys/"

        def next_cursor(response) -> str:
            return re.search(r"after=([A-Za-z0-9_-]+)", response.content.decode()).group(1)

        cursor = next_cursor(client.get(base))
        # Walk 20 pages in to get a "deep" cursor, as a user paging would.
        deep_cursor = cursor
        for _ in range(20):
            deep_cursor = next_cursor(client.get(base, {"after": deep_cursor}))
        cases = {
            "trivial view (/healthz)": "/healthz",
            "portal list, first page": base,
            "portal list, page 2": f"{base}?after={cursor}",
            "portal list, page 22": f"{base}?after={deep_cursor}",
            "portal list, search 'key-19999'": f"{base}?q=key-19999",
            "portal list, scope=location + status=active": f"{base}?scope=location&status=active",
            "API GET api-keys, first page (key auth)": f"/api/v1/organizations/{organization.pk}/api-keys",
            "API GET api-keys, page 2 (key auth)": f"/api/v1/organizations/{organization.pk}/api-keys?after={cursor}",
            "admin changelist, first page": "/admin/keys/apikey/",
            "admin changelist, page 22": "/admin/keys/apikey/?p=21",
            "admin changelist, search 'key-19999'": "/admin/keys/apikey/?q=key-19999",
        }
        print(f"database: {url.split('@')[-1] if '@' in url else url}; keys: {args.keys}")
        results = {}
        for label, path in cases.items():
            queries: list[str] = []

            def count(execute, sql, *rest, queries=queries):
                queries.append(sql)
                return execute(sql, *rest)

            caller = api_client if path.startswith("/api/") else client
            with connection.execute_wrapper(count):
                status = caller.get(path).status_code
            assert status == 200, (label, status)
            timing = timeit(lambda path=path, caller=caller: caller.get(path), repeat=args.repeat)
            results[label] = timing["median_ms"]
            print(
                f"{label:<48} {timing['median_ms']:8.2f} ms median  {timing['p95_ms']:8.2f} ms p95"
                f"  {len(queries):3d} queries"
            )
        floor = results["trivial view (/healthz)"]
        print()
        for label, ms in results.items():
            print(f"{label:<48} {ms / floor:8.1f}x trivial view")
        print()
        for portal, admin in [
            ("portal list, first page", "admin changelist, first page"),
            ("portal list, page 22", "admin changelist, page 22"),
            ("portal list, search 'key-19999'", "admin changelist, search 'key-19999'"),
        ]:
            print(f"{portal:<40} is {results[admin] / results[portal]:.1f}x faster than {admin}")
    finally:
        teardown(args, DB)


if __name__ == "__main__":
    main()
