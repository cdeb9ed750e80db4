"""The audit log at scale: first, filtered and deep pages, against Django's admin changelist; export rate.

One organization holds all the events (the worst case for its log page), seeded by
`seed_scale`. Same process, same run, cases interleaved (A B C ... A B C ...): a trivial
view as the floor, the portal's log pages (keyset pagination on the id, no COUNT, no
OFFSET), the admin changelist of AuditEvent on the same data (COUNT(*) and OFFSET pages).

The sample actor is a seeded user, never the benchmark's own account, so the export events
a run records cannot change what a `--keep` rerun measures.

Export: the rate of the current export (CSV by PostgreSQL's COPY, JSON lines from text rows)
against the previous implementation (model instances, one Python CSV row at a time), both
over the newest --export-sample events, interleaved; then one whole export through the view,
checked against its trailer (row count + SHA-256).

    .venv/bin/python bench/audit_log.py [--events 1000000] [--sqlite] [--keep]
"""

import csv
import json
import tempfile
import time

from _django import database_label, interleaved, parser, setup, teardown

DB = "fleetadmin_bench_audit"


class _Echo:
    def write(self, value):
        return value


def previous_export_csv(organization, filters):
    """The export as it was before (kept here as the baseline): model instances in keyset chunks of
    2,000, one csv.writer row and one WSGI chunk per event, datetime and dict per row."""
    from fleetadmin.audit.export import EXPORT_COLUMNS
    from fleetadmin.audit.models import AuditEvent

    base = filters.apply(AuditEvent.objects.filter(organization=organization)).order_by("-id")
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS).encode()
    before = None
    while True:
        rows = list((base if before is None else base.filter(id__lt=before))[:2000])
        for event in rows:
            yield writer.writerow(
                [
                    json.dumps(event.changes, sort_keys=True, ensure_ascii=False)
                    if column == "changes"
                    else (event.created_at.isoformat() if column == "created_at" else getattr(event, column))
                    for column in EXPORT_COLUMNS
                ]
            ).encode()
        if len(rows) < 2000:
            return
        before = rows[-1].id


def rate(chunks, limit: int) -> float:
    """Rows per second while reading up to ``limit`` rows (lines) of a stream, then closing it."""
    began, rows = time.perf_counter(), 0
    for chunk in chunks:
        rows += chunk.count(b"\n")
        if rows >= limit:
            break
    elapsed = time.perf_counter() - began
    chunks.close()
    return rows / elapsed


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--repeat", type=int, default=4, help="requests per case per round")
    p.add_argument("--export-sample", type=int, default=200_000, help="rows per export-rate sample")
    p.add_argument("--export-rounds", type=int, default=2)
    args = p.parse_args()
    url = setup(args, DB)
    try:
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from fleetadmin.audit.export import audit_log_export, verify_export
        from fleetadmin.audit.models import AuditEvent
        from fleetadmin.audit.query import AuditFilters
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
            # Hint bits, visibility map, statistics: a first run right after the seed reads the same
            # state as a --keep rerun (this server runs without autovacuum; see bench/keys_list.py).
            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE) audit_auditevent")
        total = AuditEvent.objects.filter(organization=organization).count()
        oldest = AuditEvent.objects.filter(organization=organization).order_by("id").values_list("id", flat=True)[100]
        # The newest *seeded* user event: seed_scale's events come first (lowest ids), so this is
        # the same actor on every rerun, whatever the benchmark itself recorded since.
        sample_actor = (
            AuditEvent.objects.filter(organization=organization, actor_type="user")
            .exclude(actor_name=owner.email)
            .order_by("id")
            .values_list("actor_name", flat=True)[1000]
        )
        client, anonymous = Client(), Client()
        client.force_login(owner)
        log = f"/orgs/{organization.pk}/audit/"
        admin = "/admin/audit/auditevent/"
        cases = {
            "trivial view (/healthz)": "/healthz",
            "portal log, first page": log,
            "portal log, filtered (action prefix + actor)": f"{log}?q=action:fleet.machine.+actor:{sample_actor}",
            "portal log, actor only (exact, indexed)": f"{log}?q=actor:{sample_actor}",
            "portal log, filter matching nothing": f"{log}?q=action:fleet.machine.+actor:nobody@example.com",
            "portal log, deep page (the oldest events)": f"{log}?before={oldest}",
            "admin changelist, first page": admin,
            "admin changelist, search (same actor)": f"{admin}?q={sample_actor}",
            "admin changelist, deep page": f"{admin}?p={max(total // 100 - 2, 1)}",
        }
        print(f"database: {database_label(url)}; events in the organization: {total}; sample actor: {sample_actor}")
        queries_of, calls = {}, {}
        for label, path in cases.items():
            queries: list[str] = []

            def count(execute, sql, *rest, queries=queries):
                queries.append(sql)
                return execute(sql, *rest)

            caller = anonymous if path == "/healthz" else client  # the floor: no session to load
            with connection.execute_wrapper(count):
                response = caller.get(path)
            assert response.status_code == 200, (label, response.status_code)
            if "actor" in label and label.startswith("portal"):
                assert sample_actor in response.content.decode(), (label, "the filter must match events")
            queries_of[label] = queries
            calls[label] = lambda path=path, caller=caller: caller.get(path)
        results = interleaved(calls, rounds=args.rounds, repeat=args.repeat)
        for label, timing in results.items():
            queries = queries_of[label]
            no_count = not any("COUNT(" in q.upper() for q in queries)
            no_offset = not any(" OFFSET " in q.upper() for q in queries)
            print(
                f"{label:<46} {timing['median_ms']:9.2f} ms median {timing['p95_ms']:9.2f} ms p95"
                f" {len(queries):3d} queries  COUNT:{'no ' if no_count else 'yes'}"
                f" OFFSET:{'no' if no_offset else 'yes'}"
            )
        floor = results["trivial view (/healthz)"]["median_ms"]
        print()
        for label, timing in results.items():
            print(f"{label:<46} {timing['median_ms'] / floor:9.1f}x trivial view")
        print()
        for portal, other, note in [
            ("portal log, first page", "admin changelist, first page", ""),
            ("portal log, deep page (the oldest events)", "admin changelist, deep page", ""),
            (
                "portal log, actor only (exact, indexed)",
                "admin changelist, search (same actor)",
                "  (not the same query: the admin's search is a substring match, LIKE '%...%', over five"
                " columns, which no index serves; ours is an exact match on an indexed column)",
            ),
        ]:
            ratio = results[other]["median_ms"] / results[portal]["median_ms"]
            print(f"{portal:<46} is {ratio:.1f}x faster than {other}{note}")

        # Export rate: the previous implementation against the current one, interleaved, over the newest
        # --export-sample events, straight from the generators (no HTTP), then one whole export through the view.
        def current(fmt):
            result = audit_log_export(actor=SYSTEM, organization=organization, filters=AuditFilters(), fmt=fmt)
            return result.chunks

        samples: dict[str, list[float]] = {"previous CSV": [], "current CSV": [], "current JSON lines": []}
        for _ in range(args.export_rounds):
            samples["previous CSV"].append(rate(previous_export_csv(organization, AuditFilters()), args.export_sample))
            samples["current CSV"].append(rate(current("csv"), args.export_sample))
            samples["current JSON lines"].append(rate(current("jsonl"), args.export_sample))
        print()
        for label, rates in samples.items():
            best = sorted(rates)[len(rates) // 2]
            print(
                f"export, {label:<20} {best:9,.0f} rows/s (median of {len(rates)}, {args.export_sample:,} rows each;"
                f" {best / sorted(samples['previous CSV'])[len(rates) // 2]:.1f}x the previous export)"
            )

        def rss_mb() -> float:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
            return 0.0

        memory = [rss_mb()]
        began = time.perf_counter()
        response = client.get(f"/orgs/{organization.pk}/audit/export.csv")
        data = tempfile.TemporaryFile()  # noqa: SIM115 (closed when the run ends)
        for n, chunk in enumerate(response.streaming_content):
            data.write(chunk)
            if n % 20 == 0:
                memory.append(rss_mb())
        elapsed = time.perf_counter() - began
        check = verify_export(data)
        size = data.tell()
        print(
            f"whole CSV export through the view: {check.rows:,} rows, {size / 1e6:.0f} MB in {elapsed:.1f} s"
            f" = {check.rows / elapsed:,.0f} rows/s; trailer check: {check.message}"
            f" (resident memory {memory[0]:.0f} MB before, {max(memory):.0f} MB at most while streaming)"
        )
    finally:
        teardown(args, DB)


if __name__ == "__main__":
    main()
