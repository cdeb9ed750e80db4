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


def cpu_clock():
    """A clock of CPU nanoseconds spent on our behalf: this process's, plus, on PostgreSQL, its backend's
    (``/proc/<pid>/schedstat``, nanoseconds on a CPU; the server runs on this machine). Unlike wall time it
    does not grow while the work waits for a core, so it holds on a loaded machine."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return time.process_time_ns
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    path = f"/proc/{pid}/schedstat"

    def clock() -> int:
        with open(path) as stat:
            return time.process_time_ns() + int(stat.read().split()[0])

    clock.backend_pid = pid
    return clock


def paired_rounds(cases: dict, *, rounds: int = 12, repeat: int = 2, warmup: int = 3, seed: int = 1) -> dict:
    """Like ``interleaved``, made for ratios that must hold on a rerun of a shared, loaded machine.

    Every case is first called ``warmup`` times (the same caches and plans for all, whether the data was
    just seeded or comes from a ``--keep`` rerun). Then, in each of ``rounds`` rounds, every case runs
    ``repeat`` times, in an order shuffled per round (fixed ``seed``: no case always follows the same
    one), with the garbage collector paused during each call and run between rounds, so a collection
    lands on no timed call. Each call is timed twice: wall time, and the CPU time of this process and
    its database backend (``cpu_clock``). Returns {"wall": {label: per-round medians in ms}, "cpu": ...};
    ``ratio`` turns two labels' lists into the median of the per-round ratios, each taken within one
    round (seconds apart), so load that comes and goes over the run cancels out of it."""
    import gc
    import random

    clock = cpu_clock()
    order = list(cases)
    for _ in range(warmup):
        for fn in cases.values():
            fn()
    rng = random.Random(seed)
    per_round = {kind: {label: [] for label in cases} for kind in ("wall", "cpu")}
    for _ in range(rounds):
        rng.shuffle(order)
        gc.collect()
        for label in order:
            fn, walls, cpus = cases[label], [], []
            for _ in range(repeat):
                gc.disable()
                try:
                    cpu, start = clock(), time.perf_counter()
                    fn()
                    walls.append((time.perf_counter() - start) * 1000)
                    cpus.append((clock() - cpu) / 1e6)
                finally:
                    gc.enable()
            per_round["wall"][label].append(statistics.median(walls))
            per_round["cpu"][label].append(statistics.median(cpus))
    if getattr(clock, "backend_pid", None) is not None:
        assert cpu_clock().backend_pid == clock.backend_pid, "the database connection changed during the timing"
    return per_round


def ratio(slower: list[float], faster: list[float]) -> dict[str, float]:
    """The median, and the quartiles, of slower[i] / faster[i] over paired rounds (see ``paired_rounds``)."""
    values = sorted(s / f for s, f in zip(slower, faster, strict=True))
    quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {"median": statistics.median(values), "q1": quartiles[0], "q3": quartiles[2], "n": len(values)}


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, to quote next to any figure from a shared machine."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def database_label(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url


def cache_label() -> str:
    """Which cache the run used: the in-process default or Redis (CACHE_URL=redis://...)."""
    from django.conf import settings

    cache = settings.CACHES["default"]
    return f"{cache['BACKEND'].rsplit('.', 1)[-1]} {cache.get('LOCATION', '')}".strip()


# ---- shared by the benchmarks that run a real server ------------------------------------------------

# The README's "Production" command: 2 workers, threads, and a --timeout that only checks the worker
# is alive (gthread), so long exports are not killed mid-stream.
PRODUCTION_GUNICORN = ["--workers", "2", "--worker-class", "gthread", "--threads", "4", "--timeout", "30",
                       "--graceful-timeout", "600"]  # fmt: skip


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process, what: str, timeout: float = 60) -> None:
    """Until something accepts connections on 127.0.0.1:port; exit if the process dies first."""
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{what} did not start within {timeout:.0f} s")


def start_gunicorn(port: int, options: list[str] | None = None, *, log: str | None = None, env: dict | None = None):
    """gunicorn serving the portal on 127.0.0.1:port with this process's environment (DATABASE_URL, CACHE_URL,
    DEBUG=0 as set by ``setup``), ``options`` defaulting to the README's production ones; returns once
    /healthz answers. ``log`` is a file for its output (default: discarded). Stop it with ``stop``."""
    import subprocess
    import urllib.request

    from django.db import connections

    connections.close_all()  # the server must not inherit our connections' state
    options = PRODUCTION_GUNICORN if options is None else options
    command = [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--no-control-socket", "--log-level", "warning", *options]  # fmt: skip
    output = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 (the child holds it)
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=output, stderr=subprocess.STDOUT
    )
    wait_for_port(port, process, "gunicorn")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise SystemExit("gunicorn answered no /healthz within 60 s" + (f"; see {log}" if log else ""))


def stop(process, timeout: float = 15) -> None:
    """Terminate a server started here (its own process id only), killing it if it does not exit in time."""
    import subprocess

    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def session_cookie(user) -> str:
    """A signed-in session for ``user`` stored as the portal stores them, for an HTTP client's ``sessionid``."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of the (already sorted) values fall; 0 for no values."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]
