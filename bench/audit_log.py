"""The audit log at scale: first, filtered and deep pages, against Django's admin changelist; CSV export rate.

One organization holds all the events (the worst case for its log page), seeded by
`seed_scale`. Same process, same run: a trivial view as the floor, the portal's log
pages (keyset pagination on the id, no COUNT, no OFFSET), the admin changelist of
AuditEvent on the same data (COUNT(*) and OFFSET pages), and the streamed CSV export
(rows per second and peak memory while streaming).

    .venv/bin/python bench/audit_log.py [--events 1000000] [--sqlite] [--keep]
"""

import time

from _django import parser, setup, teardown, timeit

DB = "fleetadmin_bench_audit"


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=20)
    args = p.parse_args()
    url = setup(args, DB)
    try:
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from fleetadmin.audit.models import AuditEvent
        from fleetadmin.core.actors import SYSTEM
        from fleetadmin.fleet import services as fleet_services
        from fleetadmin.fleet.models import Membership, Organization

        if AuditEvent.objects.count() < args.events:
            began = time.perf_counter()
            call_command("seed_scale", orgs=1, machines=50, audit_events=args.events, verbosity=0)
            print(f"seeded {args.events} events in one organization in {time.perf_counter() - began:.0f} s")
        organization = Organization.objects.filter(name__startswith="Scale Org").order_by("name").first()
        User = get_user_model()
        owner, _ = User.objects.get_or_create(
            email="bench-audit@example.com", defaults={"is_staff": True, "is_superuser": True}
        )
        if not Membership.objects.filter(user=owner, organization=organization).exists():
            fleet_services.membership_grant(
                actor=SYSTEM, user=owner, organization=organization, role="organization_owner"
            )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        total = AuditEvent.objects.filter(organization=organization).count()
        oldest = AuditEvent.objects.filter(organization=organization).order_by("id").values_list("id", flat=True)[100]
        sample_actor = (
            AuditEvent.objects.filter(organization=organization, actor_type="user")
            .values_list("actor_name", flat=True)
            .first()
        )
        client = Client()
        client.force_login(owner)
        log = f"/orgs/{organization.pk}/audit/"
        cases = {
            "trivial view (/healthz)": "/healthz",
            "portal log, first page": log,
            "portal log, filtered (action prefix + actor)": f"{log}?q=action:fleet.machine.+actor:{sample_actor}",
            "portal log, filter matching nothing": f"{log}?q=action:fleet.machine.+actor:nobody@example.com",
            "portal log, deep page (the oldest events)": f"{log}?before={oldest}",
            "admin changelist, first page": "/admin/audit/auditevent/",
            "admin changelist, search (same actor)": f"/admin/audit/auditevent/?q={sample_actor}",
            "admin changelist, deep page": f"/admin/audit/auditevent/?p={max(total // 100 - 2, 1)}",
        }
        print(f"database: {url.split('@')[-1] if '@' in url else url}; events in the organization: {total}")
        results = {}
        for label, path in cases.items():
            queries: list[str] = []

            def count(execute, sql, *rest, queries=queries):
                queries.append(sql)
                return execute(sql, *rest)

            with connection.execute_wrapper(count):
                status = client.get(path).status_code
            assert status == 200, (label, status)
            repeat = max(args.repeat // 4, 3) if label.startswith("admin") else args.repeat
            timing = timeit(lambda path=path: client.get(path), repeat=repeat, warmup=1)
            results[label] = timing["median_ms"]
            no_count = not any("COUNT(" in q.upper() for q in queries)
            no_offset = not any(" OFFSET " in q.upper() for q in queries)
            print(
                f"{label:<46} {timing['median_ms']:9.2f} ms median {timing['p95_ms']:9.2f} ms p95"
                f" {len(queries):3d} queries  COUNT:{'no ' if no_count else 'yes'}"
                f" OFFSET:{'no' if no_offset else 'yes'}"
            )
        floor = results["trivial view (/healthz)"]
        print()
        for label, ms in results.items():
            print(f"{label:<46} {ms / floor:9.1f}x trivial view")
        print()
        for portal, admin in [
            ("portal log, first page", "admin changelist, first page"),
            ("portal log, deep page (the oldest events)", "admin changelist, deep page"),
            ("portal log, filtered (action prefix + actor)", "admin changelist, search (same actor)"),
        ]:
            print(f"{portal:<46} is {results[admin] / results[portal]:.1f}x faster than {admin}")

        # Export: stream the whole log as CSV, measuring rows/s and the process's memory while streaming
        # (resident set size sampled every 50,000 rows; tracemalloc would slow the stream tenfold).
        def rss_mb() -> float:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
            return 0.0

        samples = [rss_mb()]
        began = time.perf_counter()
        response = client.get(f"/orgs/{organization.pk}/audit/export.csv")
        rows = size = 0
        for chunk in response.streaming_content:
            rows += 1
            size += len(chunk)
            if rows % 50_000 == 0:
                samples.append(rss_mb())
        elapsed = time.perf_counter() - began
        samples.append(rss_mb())
        print()
        print(
            f"CSV export: {rows - 1} rows, {size / 1e6:.0f} MB in {elapsed:.1f} s"
            f" = {(rows - 1) / elapsed:,.0f} rows/s; resident memory while streaming"
            f" {min(samples):.0f}-{max(samples):.0f} MB over {len(samples)} samples"
            f" (after 50k rows {samples[min(1, len(samples) - 1)]:.0f} MB, at the end {samples[-1]:.0f} MB)"
        )
    finally:
        teardown(args, DB)


if __name__ == "__main__":
    main()
