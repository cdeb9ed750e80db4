"""Time `manage.py seed_scale` at the design size, then check that the audit chains it wrote verify.

Creates a scratch database (a temporary SQLite file by default; with --database-url
postgres://..., a PostgreSQL database named fleetadmin_bench_seed on that server), runs
migrate, then seed_scale with 10,000 organizations, 100,000 machines and 1,000,000 audit
events, and prints the wall time of each phase, the database size and the process's peak
memory. Afterwards it recomputes, for 3 random organizations, every event's hash in id
order with event_hash and compares it with the stored hash and prev_hash. The scratch
database is dropped at the end unless --keep is given.

    .venv/bin/python bench/seed_scale.py
    .venv/bin/python bench/seed_scale.py --database-url postgres://postgres@127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_DB = "fleetadmin_bench_seed"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default="", help="postgres://user@host:port[/any]; default: a SQLite temp file")
    p.add_argument("--orgs", type=int, default=10_000)
    p.add_argument("--machines", type=int, default=100_000)
    p.add_argument("--audit-events", type=int, default=1_000_000)
    p.add_argument("--batch-size", type=int, default=5000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--check-orgs", type=int, default=3, help="organizations whose chains are recomputed")
    p.add_argument("--keep", action="store_true", help="keep the scratch database (its URL is printed)")
    return p.parse_args()


def _pg_admin_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))


def create_database(args) -> tuple[str, str]:
    """(DATABASE_URL of a fresh scratch database, a description of where it is)."""
    if not args.database_url:
        directory = tempfile.mkdtemp(prefix="fleetadmin-bench-seed-")
        path = Path(directory) / "db.sqlite3"
        return f"sqlite:///{path}", str(path)
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("--database-url must be a postgres:// URL (leave it out for SQLite).")
    import psycopg

    with psycopg.connect(_pg_admin_url(args.database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_DB}"')
    parts = urlsplit(args.database_url)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{PG_DB}", parts.query, ""))
    return url, url


def drop_database(args, url: str) -> None:
    from django.db import connections

    connections.close_all()
    if url.startswith("sqlite:///"):
        shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)
        return
    import psycopg

    with psycopg.connect(_pg_admin_url(args.database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')


def configure_django(url: str) -> None:
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DEBUG": "0",  # as in production: no query log, no SQL formatting per statement
            "SECRET_KEY": "bench-" + "x" * 50,
            "SECURE_SSL_REDIRECT": "0",
            "LOG_LEVEL": "ERROR",
        }
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


def database_size(url: str) -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        size = Path(url.removeprefix("sqlite:///")).stat().st_size
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            size = cursor.fetchone()[0]
    return f"{size / 2**20:,.0f} MiB"


def check_chains(count: int, seed: int) -> tuple[int, int]:
    """Recompute the chains of `count` random seeded organizations; return (organizations, events) checked."""
    from fleetadmin.audit.hashing import event_hash
    from fleetadmin.audit.models import AuditEvent
    from fleetadmin.fleet.models import Location, Machine, Organization

    org_ids = list(Organization.objects.filter(name__startswith="Scale Org ").values_list("id", flat=True))
    chosen = random.Random(seed).sample(org_ids, min(count, len(org_ids)))
    checked = 0
    for org_id in chosen:
        prev_hash, prev_at, n = "", None, 0
        for event in AuditEvent.objects.filter(organization_id=org_id).order_by("id").iterator(chunk_size=2000):
            assert event.prev_hash == prev_hash, f"event {event.id} of {org_id}: prev_hash does not link"
            assert event_hash(event, prev_hash) == event.hash, f"event {event.id} of {org_id}: hash does not match"
            assert prev_at is None or event.created_at > prev_at, f"event {event.id} of {org_id}: created_at not rising"
            prev_hash, prev_at, n = event.hash, event.created_at, n + 1
        paths = dict(Location.objects.filter(organization_id=org_id).values_list("id", "path"))
        for loc_id, parent_id, path in Location.objects.filter(organization_id=org_id).values_list(
            "id", "parent_id", "path"
        ):
            assert path.endswith(f"/{loc_id.hex}/"), f"location {loc_id}: path does not end with its id"
            assert path == (paths[parent_id] if parent_id else "/") + f"{loc_id.hex}/", f"location {loc_id}: bad path"
        machines = Machine.objects.filter(organization_id=org_id)
        assert not machines.exclude(location__organization_id=org_id).exists(), f"{org_id}: machine in another org"
        print(f"  chain of {org_id}: {n:,} events verify; {len(paths)} locations, {machines.count()} machines ok")
        checked += n
    return len(chosen), checked


def main() -> None:
    args = parse_args()
    url, where = create_database(args)
    print(f"scratch database: {where}")
    configure_django(url)
    from django.core.management import call_command

    timings: list[tuple[str, float]] = []
    try:
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        timings.append(("migrate", time.perf_counter() - started))

        started = time.perf_counter()
        call_command(
            "seed_scale",
            orgs=args.orgs,
            machines=args.machines,
            audit_events=args.audit_events,
            batch_size=args.batch_size,
            seed=args.seed,
            verbosity=2,
        )
        timings.append(("seed_scale", time.perf_counter() - started))

        started = time.perf_counter()
        orgs, events = check_chains(args.check_orgs, args.seed)
        timings.append((f"check {orgs} chains ({events:,} events)", time.perf_counter() - started))

        size = database_size(url)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        print()
        for name, seconds in timings:
            print(f"{name:<40} {seconds:8.1f} s")
        print(f"{'database size':<40} {size:>10}")
        print(f"{'peak memory (RSS) of this process':<40} {peak:8.0f} MiB")
    finally:
        if args.keep:
            print(f"kept: DATABASE_URL={url}")
        else:
            drop_database(args, url)


if __name__ == "__main__":
    main()
