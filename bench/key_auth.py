"""Cost of authenticating a request with an API key, against requests that do a real request's work.

All requests go through the whole Django stack to GET /api/v1/whoami, in the same process and
the same run, interleaved (A B C D, A B C D, ...):

- no credentials (401): the floor, touching neither the database nor the cache;
- a signed-in session (200): the baseline a real request pays, a session row and a user row;
- an API key with a wrong value (401): key lookup, HMAC, the failure throttle's cache reads and write;
- a valid API key (200): parse, checksum, key lookup, HMAC-SHA256, constant-time compare, its
  authorizations (one query for the key and its authorizations together; no cache call);
- ``GET /healthz`` (200): the framework's floor through the same middleware, touching nothing;
- and, outside HTTP, the two round trips a request is made of: one cache read (with Redis, one
  round trip to it) and one ``SELECT 1``, so the added milliseconds can be read in round trips.

The ratio to the signed-in session is the one to quote: both pay database and cache round trips,
so it holds when the machine is loaded. The ratio to the no-credentials floor does not: the
floor touches neither, so it grows with the database's latency under load (the added
milliseconds are printed with it, and the queries and cache calls of each request).

Run it with the cache production uses, e.g. CACHE_URL=redis://127.0.0.1:6379/5: the Redis round
trips are part of every key request, and the in-process default cache would hide them. The added
milliseconds are quoted next to each ratio.

Then, unless ``--no-http``, the same over HTTP against gunicorn with the README's production options
(2 workers, ``DEBUG=0``) on 127.0.0.1: one client, keep-alive, the cases interleaved in rounds, so the
issue's budget "whoami with a key <= 2x /healthz" is read in the same run, with the added milliseconds.

    CACHE_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/key_auth.py [--sqlite] [--keep] [--requests 2000]
"""

import _django
from _django import cache_label, database_label, interleaved, parser, setup, teardown

DB = "fleetadmin_bench_key_auth"


def count_calls(fn, cache, connection) -> tuple[int, int]:
    """(SQL queries, cache calls) one call of fn makes, counted around the cache object's public methods."""
    queries, calls = [], []
    names = ("get", "get_many", "set", "set_many", "add", "incr", "delete", "touch", "has_key")
    originals = {name: getattr(cache, name) for name in names}

    def counting(name):
        def wrapper(*args, **kwargs):
            calls.append(name)
            return originals[name](*args, **kwargs)

        return wrapper

    for name in names:
        setattr(cache, name, counting(name))
    try:
        with connection.execute_wrapper(lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)):
            fn()
    finally:
        for name in names:
            delattr(cache, name)  # back to the class's methods
    return len(queries), len(calls)


def over_http(header: str, sessionid: str, *, rounds: int, per_round: int) -> None:
    """The same requests against gunicorn (2 workers, DEBUG=0): one keep-alive client, interleaved rounds."""
    import os

    import requests

    port = _django.free_port()
    server = _django.start_gunicorn(port)
    base = f"http://127.0.0.1:{port}"
    try:
        anonymous, session = requests.Session(), requests.Session()
        session.cookies.set("sessionid", sessionid)

        def call(client, path, status, **headers):
            def request():
                response = client.get(base + path, headers=headers, timeout=30)
                assert response.status_code == status, (path, response.status_code, response.content[:200])

            return request

        cases = {
            "GET /healthz (200)": call(anonymous, "/healthz", 200),
            "GET /api/v1/whoami, no credentials (401)": call(anonymous, "/api/v1/whoami", 401),
            "GET /api/v1/whoami, session, signed in (200)": call(session, "/api/v1/whoami", 200),
            "GET /api/v1/whoami, API key, valid (200)": call(anonymous, "/api/v1/whoami", 200, Authorization=header),
        }
        load = os.getloadavg()
        results = interleaved(cases, rounds=rounds, repeat=per_round, warmup=50)
        print(f"\n## Over HTTP: gunicorn {' '.join(_django.PRODUCTION_GUNICORN)}, DEBUG=0, 1 client, keep-alive")
        print(f"requests: {per_round * rounds} of each, interleaved in {rounds} rounds; load average before "
              f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after {os.getloadavg()[0]:.2f}")  # fmt: skip
        for label, timing in results.items():
            print(f"{label:<47} median {timing['median_ms']:7.3f} ms  p95 {timing['p95_ms']:7.3f} ms")
        key = results["GET /api/v1/whoami, API key, valid (200)"]["median_ms"]
        for label in ("GET /healthz (200)", "GET /api/v1/whoami, session, signed in (200)"):
            base_ms = results[label]["median_ms"]
            print(f"valid API key vs {label:<44} {key / base_ms:5.2f}x  ({key - base_ms:+.3f} ms per request)")
    finally:
        _django.stop(server)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--requests", type=int, default=2000, help="of each kind, over all rounds")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--no-http", action="store_true", help="skip the part against gunicorn")
    args = p.parse_args()
    url = setup(args, DB)
    try:
        from django.contrib.auth import get_user_model
        from django.test import Client

        from fleetadmin.core.actors import SYSTEM
        from fleetadmin.fleet.models import Organization
        from fleetadmin.fleet.services import membership_grant, organization_create
        from fleetadmin.keys import tokens
        from fleetadmin.keys.services import KEY_PREFIX, Grant, api_key_create

        organization = Organization.objects.filter(name="Bench Org").first()
        user, created = get_user_model().objects.get_or_create(email="bench-key-auth@example.com")
        if organization is None:
            organization = organization_create(actor=SYSTEM, name="Bench Org")
        if created:
            membership_grant(actor=SYSTEM, user=user, organization=organization, role="organization_owner")
        issued = api_key_create(
            actor=SYSTEM, organization=organization, grants=[Grant(role="organization_owner", resource=organization)]
        )
        anonymous, session = Client(), Client()
        session.force_login(user)
        header = f"ApiKey {issued.key.pk}:{issued.value}"
        # Well formed (its checksum holds), so it reaches the key lookup and the HMAC; just not the key's value.
        wrong = f"ApiKey {issued.key.pk}:{tokens.generate(KEY_PREFIX)}"

        from django.core.cache import cache
        from django.db import connection

        def cache_read():
            cache.get("bench-key-auth-probe")

        def select_one():
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()

        def call(client, status, **headers):
            def request():
                response = client.get("/api/v1/whoami", **headers)
                assert response.status_code == status, (response.status_code, response.content[:200])

            return request

        def healthz():
            response = anonymous.get("/healthz")
            assert response.status_code == 200, response.status_code

        cases = {
            "GET /api/v1/whoami, no credentials (401)": call(anonymous, 401),
            "GET /api/v1/whoami, session, signed in (200)": call(session, 200),
            "GET /api/v1/whoami, API key, wrong value (401)": call(anonymous, 401, HTTP_AUTHORIZATION=wrong),
            "GET /api/v1/whoami, API key, valid (200)": call(anonymous, 200, HTTP_AUTHORIZATION=header),
            "GET /healthz (200)": healthz,
            "one cache read (no HTTP)": cache_read,
            "one SELECT 1 (no HTTP)": select_one,
        }
        calls_of = {label: count_calls(fn, cache, connection) for label, fn in cases.items()}
        per_round = max(args.requests // args.rounds, 1)
        results = interleaved(cases, rounds=args.rounds, repeat=per_round, warmup=20)
        print(f"database: {database_label(url)}; cache: {cache_label()}")
        print(f"requests: {per_round * args.rounds} of each, interleaved in {args.rounds} rounds")
        for label, timing in results.items():
            median, p95 = timing["median_ms"], timing["p95_ms"]
            queries, cache_calls = calls_of[label]
            print(
                f"{label:<47} median {median:7.3f} ms  p95 {p95:7.3f} ms  {queries} queries, {cache_calls} cache calls"
            )
        key = results["GET /api/v1/whoami, API key, valid (200)"]["median_ms"]
        for baseline, label in (
            ("session, signed in (200)", "GET /api/v1/whoami, session, signed in (200)"),
            ("no credentials (401)", "GET /api/v1/whoami, no credentials (401)"),
            ("/healthz", "GET /healthz (200)"),
        ):
            base = results[label]["median_ms"]
            print(f"valid API key vs {baseline:<26} {key / base:5.2f}x  ({key - base:+.3f} ms per request)")
        round_trip = results["one cache read (no HTTP)"]["median_ms"]
        query = results["one SELECT 1 (no HTTP)"]["median_ms"]
        print(f"one cache round trip {round_trip:.3f} ms, one database round trip {query:.3f} ms (medians)")
        if not args.no_http:
            over_http(header, _django.session_cookie(user), rounds=args.rounds, per_round=per_round)
    finally:
        teardown(args, DB)


if __name__ == "__main__":
    main()
