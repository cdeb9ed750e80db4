"""Shared setup for benchmarks: a scratch database, production-like settings, Django ready.

Benchmarks are not tests: they print timings. Each creates its own scratch
database (PostgreSQL by default, since that is what scales; --sqlite for a file)
and drops it afterwards unless --keep is given.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_SERVER = "postgres://postgres@127.0.0.1:5432"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--sqlite", action="store_true", help="use a SQLite file instead of PostgreSQL")
    p.add_argument("--db-name", default=None, help="PostgreSQL scratch database name")
    p.add_argument("--keep", action="store_true", help="keep the scratch database (and reuse it if present)")
    return p


def setup(args, default_db: str) -> str:
    """Point Django at a scratch database and return its URL."""
    if args.sqlite:
        path = Path(tempfile.gettempdir()) / f"{default_db}.sqlite3"
        if path.exists() and not args.keep:
            path.unlink()
        url = f"sqlite:///{path}"
    else:
        import psycopg

        name = args.db_name or default_db
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if exists and not args.keep:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                exists = None
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG_SERVER}/{name}"
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + "x" * 50,
            "ALLOWED_HOSTS": "testserver,127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "STATIC_ROOT": str(Path(tempfile.gettempdir()) / "fleetadmin-bench-static"),
            "LOG_LEVEL": "ERROR",
            "API_KEY_FAILURE_LIMIT": "1000000000",
        }
    )
    # DEBUG=0 refuses to start without an id_token signing key; no benchmark signs one.
    os.environ.setdefault("OIDC_SIGNING_KEYS_FILE", str(Path(tempfile.gettempdir()) / "fleetadmin-bench-oidc.json"))
    os.environ.setdefault("API_KEY_PEPPERS", "1:fleetadmin-bench-pepper")  # DEBUG=0 refuses to start without one
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)  # 401s and 404s are the point of some benchmarks, not news
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)
    return url


def teardown(args, default_db: str) -> None:
    if args.keep or args.sqlite:
        return
    from django.db import connections

    connections.close_all()
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name or default_db}" WITH (FORCE)')


def timeit(fn, *, repeat: int, warmup: int = 3) -> dict[str, float]:
    """Median and p95 wall time of fn() in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "median_ms": statistics.median(samples),
        "p95_ms": samples[int(len(samples) * 0.95) - 1] if len(samples) >= 20 else samples[-1],
        "n": len(samples),
    }


def interleaved(cases: dict, *, rounds: int = 5, repeat: int = 10, warmup: int = 1) -> dict[str, dict[str, float]]:
    """Time every case in rounds, A B C … A B C …, so drift (caches, CPU frequency, the machine's
    other load) falls on every case alike. ``cases`` maps a label to a function of no arguments.
    Returns each label's median and p95 in milliseconds over all its samples."""
    samples: dict[str, list[float]] = {label: [] for label in cases}
    for fn in cases.values():
        for _ in range(warmup):
            fn()
    for _ in range(rounds):
        for label, fn in cases.items():
            for _ in range(repeat):
                start = time.perf_counter()
                fn()
                samples[label].append((time.perf_counter() - start) * 1000)
    results = {}
    for label, values in samples.items():
        values.sort()
        results[label] = {
            "median_ms": statistics.median(values),
            "p95_ms": values[max(int(len(values) * 0.95) - 1, 0)],
            "n": len(values),
        }
    return results


def database_label(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url


def cache_label() -> str:
    """Which cache the run used: the in-process default or Redis (CACHE_URL=redis://...)."""
    from django.conf import settings

    cache = settings.CACHES["default"]
    return f"{cache['BACKEND'].rsplit('.', 1)[-1]} {cache.get('LOCATION', '')}".strip()
