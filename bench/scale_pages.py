"""Every page as an organization grows: 10, 1,000, 20,000 and 100,000 machines, as a ratio to /healthz.

One scratch PostgreSQL database (``--db-name``, default fa_e) holds one organization per size, each with
that many machines (40 per location), as many API keys, and audit events, all written by
``manage.py seed_scale``'s bulk path, plus 96 one-machine organizations so the owner's organizations list
has 100 rows. The same owner, operator and location owner belong to every sized organization.

Part 1, in process (Django's test client, ``DEBUG=0``): for each size, each page is requested in
interleaved rounds (healthz, page A, page B, ..., healthz, A, B, ...), and the median time of each is quoted
in ms and as a ratio to the median of ``/healthz`` measured in the same rounds; with the query count and
the HTML size of one response. A page slower than ``--give-up`` seconds is measured once and reported as is.

Part 2, under load: gunicorn with 2 sync workers on 127.0.0.1 (a free port), ``--clients`` concurrent
clients (default 8 and 32) hammering each page of the ``--load-size`` organization for ``--seconds``
seconds: requests per second, p50, p99 and errors (non-2xx or connection failures).

``--profile`` instead prints a cProfile of each page (30 requests at ``--profile-size`` machines): where the
time goes, by own time and by cumulative time.

    .venv/bin/python bench/scale_pages.py                       # all sizes, then load at 100,000
    .venv/bin/python bench/scale_pages.py --sizes 10,1000 --keep
    .venv/bin/python bench/scale_pages.py --profile --profile-size 100 --keep
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import timedelta

import _django
from _django import free_port, parser, setup, teardown

DB = "fa_e"
MACHINES_PER_LOCATION = 40
SMALL_ORGS = 96
OWNER, OPERATOR, LOCATION_OWNER = "scale-owner@example.com", "scale-operator@example.com", "scale-locowner@example.com"
PASSWORD = "scale-bench-password-1"  # noqa: S105 -- bench users on a scratch database


# ---- data ----------------------------------------------------------------------------------------


def _seed_scale_supports(option: str) -> bool:
    from django.core.management import load_command_class

    command = load_command_class("fleetadmin.fleet", "seed_scale")
    return any(option in action.option_strings for action in command.create_parser("manage.py", "seed_scale")._actions)


def _bulk_keys(organization, count: int) -> None:
    """Fallback for a seed_scale without --keys (the "before" code): the same mix of scopes, in bulk."""
    from django.db import transaction

    from fleetadmin import clock
    from fleetadmin.fleet.models import Location, Machine
    from fleetadmin.keys import tokens
    from fleetadmin.keys.models import ApiKey, ApiKeyAuthorization

    stored = tokens.hash_secret(tokens.generate("fak_"))
    locations = list(Location.objects.filter(organization=organization)[:200])
    machines = list(Machine.objects.filter(organization=organization).select_related("location")[:200])
    start = clock.now() - timedelta(days=365)
    for offset in range(0, count, 5000):
        keys, auths = [], []
        for i in range(offset, min(offset + 5000, count)):
            key = ApiKey(
                organization=organization,
                name=f"key-{i:06d}",
                secret_hash=stored.hash,
                pepper_id=stored.pepper_id,
                created_at=start + timedelta(seconds=i),
            )
            keys.append(key)
            if i % 3 == 0 or not machines:
                auths.append(
                    ApiKeyAuthorization(
                        key=key,
                        organization=organization,
                        role="organization_owner",
                        resource_type="organization",
                        scope_path="/",
                    )
                )
            elif i % 3 == 1:
                loc = locations[i % len(locations)]
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
                m = machines[i % len(machines)]
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


def _users():
    from django.contrib.auth import get_user_model

    User = get_user_model()
    users = []
    for email in (OWNER, OPERATOR, LOCATION_OWNER):
        user, created = User.objects.get_or_create(email=email)
        if created:
            user.set_password(PASSWORD)
            user.save()
        users.append(user)
    return users


def seed(sizes: list[int]) -> dict[int, object]:
    """organization per size (reused when --keep finds it), memberships included."""
    from django.core.management import call_command
    from django.db import connection

    from fleetadmin.fleet.models import Location, Machine, Membership, Organization

    owner, operator, location_owner = _users()
    has_keys = _seed_scale_supports("--keys")
    has_per_location = _seed_scale_supports("--machines-per-location")
    orgs = {}
    for size in sizes:
        name = f"Scale bench {size} machines"
        org = Organization.objects.filter(name=name).first()
        if org is None:
            before = set(Organization.objects.values_list("pk", flat=True))
            options = {"orgs": 1, "machines": size, "audit_events": 2000, "verbosity": 0, "seed": size}
            if has_keys:
                options["keys"] = size
            if has_per_location:
                options["machines_per_location"] = MACHINES_PER_LOCATION
            started = time.perf_counter()
            call_command("seed_scale", **options)
            org = Organization.objects.exclude(pk__in=before).get()
            if not has_keys:
                _bulk_keys(org, size)
            Organization.objects.filter(pk=org.pk).update(name=name)
            org.name = name
            print(f"seeded {size:,} machines (+ {size:,} keys) in {time.perf_counter() - started:.1f} s", flush=True)
        orgs[size] = org
        Membership.objects.get_or_create(user=owner, organization=org, location=None, role="organization_owner")
        Membership.objects.get_or_create(user=operator, organization=org, location=None, role="organization_operator")
        first_root = Location.objects.filter(organization=org, parent=None).order_by("name", "id").first()
        Membership.objects.get_or_create(
            user=location_owner, organization=org, location=first_root, role="location_owner"
        )
    small = Organization.objects.filter(name__startswith="Scale bench small ").count()
    if small < SMALL_ORGS:
        before = set(Organization.objects.values_list("pk", flat=True))
        call_command("seed_scale", orgs=SMALL_ORGS - small, machines=SMALL_ORGS - small, audit_events=0, verbosity=0)
        for i, org in enumerate(Organization.objects.exclude(pk__in=before).order_by("name")):
            Organization.objects.filter(pk=org.pk).update(name=f"Scale bench small {small + i:03d}")
            Membership.objects.get_or_create(user=owner, organization=org, location=None, role="organization_owner")
    assert Machine.objects.filter(organization=orgs[sizes[-1]]).count() == sizes[-1]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return orgs


def api_key_for(org) -> str:
    from fleetadmin.audit.services import SYSTEM
    from fleetadmin.keys.services import Grant, api_key_create

    issued = api_key_create(actor=SYSTEM, organization=org, grants=[Grant(role="organization_owner", resource=org)])
    return f"ApiKey {issued.key.pk}:{issued.value}"


SKIP: list[str] = []  # --skip: labels (substrings) of pages not to measure


def pages(org) -> list[tuple[str, str, str]]:
    """(label, who, path) for every page measured."""
    from fleetadmin.fleet.models import Location

    base = f"/orgs/{org.pk}"
    # The lazily expanded tree: the fullest location's page, its machines as the htmx expansion answers them.
    fullest = Location.objects.filter(organization=org).order_by("-machine_count", "id").first()
    tree = [
        ("overview search (owner)", "owner", f"{base}/?q=arm"),
        ("location page (owner)", "owner", f"{base}/locations/{fullest.pk}/"),
        ("location expansion, htmx (owner)", "owner_htmx", f"{base}/locations/{fullest.pk}/"),
    ]
    return [page for page in [*_pages(base), *tree] if not any(skip in page[0] for skip in SKIP)]


def _pages(base: str) -> list[tuple[str, str, str]]:
    return [
        ("org list", "owner", "/orgs/"),
        ("overview (owner)", "owner", f"{base}/"),
        ("overview (operator)", "operator", f"{base}/"),
        ("overview (location owner)", "location_owner", f"{base}/"),
        ("keys list (owner)", "owner", f"{base}/keys/"),
        ("keys list (operator)", "operator", f"{base}/keys/"),
        ("key search (owner)", "owner", f"{base}/keys/?q=key-0001"),
        ("create key form (owner)", "owner", f"{base}/keys/new/"),
        ("audit log (owner)", "owner", f"{base}/audit/"),
        ("whoami (API key)", "key", "/api/v1/whoami"),
    ]


# ---- part 1: in process --------------------------------------------------------------------------


def clients(org) -> dict[str, object]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    User = get_user_model()
    result = {}
    for who, email in (("owner", OWNER), ("operator", OPERATOR), ("location_owner", LOCATION_OWNER)):
        client = Client()
        client.force_login(User.objects.get(email=email))
        result[who] = client
    result["owner_htmx"] = Client(HTTP_HX_REQUEST="true")
    result["owner_htmx"].force_login(User.objects.get(email=OWNER))
    result["key"] = Client(HTTP_AUTHORIZATION=api_key_for(org))
    result["anonymous"] = Client()
    return result


def measure_in_process(orgs: dict[int, object], rounds: int, give_up: float) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    load = os.getloadavg()
    print(f"\n## In process (test client, DEBUG=0, {connection.vendor}), median of {rounds} interleaved rounds")
    print(f"load average at the start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores)\n")
    # Wall time includes the database's work; CPU time is this process's only (steadier on a busy machine).
    print("| machines | page | ms | × healthz | CPU ms | queries | HTML KB |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for size, org in orgs.items():
        who = clients(org)
        plan = pages(org)
        info = {}
        for _label, actor, path in plan:  # warm each client (session, last-login bookkeeping, caches)
            who[actor].get(path)
        for label, actor, path in plan:
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = who[actor].get(path)
                first = time.perf_counter() - started
            assert response.status_code == 200, (label, response.status_code)
            info[label] = (len(queries), len(response.content) / 1024, first)
        samples: dict[str, list[float]] = {"healthz": [], **{label: [] for label, _, _ in plan}}
        cpu: dict[str, list[float]] = {label: [] for label in samples}
        for _ in range(rounds):
            for label, actor, path in [("healthz", "anonymous", "/healthz"), *plan]:
                if label != "healthz" and info[label][2] > give_up:
                    continue  # measured once above; too slow to repeat
                started, started_cpu = time.perf_counter(), time.process_time()
                who[actor].get(path)
                samples[label].append((time.perf_counter() - started) * 1000)
                cpu[label].append((time.process_time() - started_cpu) * 1000)
        floor = statistics.median(samples["healthz"])
        floor_cpu = statistics.median(cpu["healthz"])
        print(f"| {size:,} | /healthz | {floor:.2f} | 1.0 | {floor_cpu:.2f} | 0 | 0 |")
        for label, _, _ in plan:
            ms = statistics.median(samples[label]) if samples[label] else info[label][2] * 1000
            cpu_ms = statistics.median(cpu[label]) if cpu[label] else float("nan")
            count, kb, _ = info[label]
            print(
                f"| {size:,} | {label} | {ms:.2f} | {ms / floor:.1f} | {cpu_ms:.2f} | {count} | {kb:.1f} |", flush=True
            )


def measure_counts(orgs: dict[int, object], rounds: int) -> None:
    """The organizations list's and tree header's counts: maintained counters against indexed COUNTs."""
    from fleetadmin.fleet.models import Location, Machine, Organization

    if not hasattr(Organization, "machine_count"):
        return  # the "before" code has no counters

    def timed(fn) -> float:
        samples = []
        for _ in range(rounds):
            started = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)

    print("\n## Counts: maintained counters vs indexed COUNT subqueries (ms, median)\n")
    print("| machines | counters (1 row) | COUNT(*) machines + locations |")
    print("| ---: | ---: | ---: |")
    for size, org in orgs.items():
        counter = timed(
            lambda org=org: Organization.objects.filter(pk=org.pk).values_list("location_count", "machine_count")[0]
        )
        counted = timed(
            lambda org=org: (
                Machine.objects.filter(organization=org).count(),
                Location.objects.filter(organization=org).count(),
            )
        )
        print(f"| {size:,} | {counter:.2f} | {counted:.2f} |", flush=True)


def profile(org, repeat: int = 30) -> None:
    who = clients(org)
    for label, actor, path in pages(org):
        for _ in range(3):
            who[actor].get(path)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(repeat):
            who[actor].get(path)
        profiler.disable()
        elapsed = (time.perf_counter() - started) * 1000 / repeat
        print(f"\n### {label}: {elapsed:.1f} ms per request under cProfile\n")
        for sort in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(sort).print_stats(18)
            print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


# ---- part 2: under load --------------------------------------------------------------------------


def session_cookie(email: str) -> str:
    from django.contrib.auth import get_user_model

    return _django.session_cookie(get_user_model().objects.get(email=email))


def start_gunicorn(url: str, port: int) -> subprocess.Popen:
    return _django.start_gunicorn(port, ["--workers", "2"], env={"DATABASE_URL": url, "DEBUG": "0"})  # 2 sync workers


def hammer(base: str, path: str, headers: dict, cookies: dict, clients: int, seconds: float) -> dict:
    import requests

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker():
        session = requests.Session()
        session.headers.update(headers)
        session.cookies.update(cookies)
        mine, failed = [], 0
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                response = session.get(base + path, timeout=60)
                ok = response.status_code == 200
            except requests.RequestException:
                ok = False
            mine.append((time.perf_counter() - started) * 1000)
            failed += not ok
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - began
    latencies.sort()
    return {
        "rps": len(latencies) / wall,
        "p50": statistics.median(latencies) if latencies else 0,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0,
        "errors": errors[0],
        "n": len(latencies),
    }


def measure_load(url: str, org, size: int, concurrency: list[int], seconds: float) -> None:
    from django.db import connections

    cookies = {
        "owner": {"sessionid": session_cookie(OWNER)},
        "operator": {"sessionid": session_cookie(OPERATOR)},
        "location_owner": {"sessionid": session_cookie(LOCATION_OWNER)},
        "key": {},
        "anonymous": {},
    }
    cookies["owner_htmx"] = cookies["owner"]
    key_header = {"Authorization": api_key_for(org)}
    connections.close_all()
    port = free_port()
    server = start_gunicorn(url, port)
    base = f"http://127.0.0.1:{port}"
    print(f"\n## Under load: gunicorn, 2 sync workers, 127.0.0.1, {seconds:g} s per cell, {size:,} machines\n")
    print("| page | clients | req/s | p50 ms | p99 ms | errors | requests |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    try:
        for label, actor, path in [("/healthz", "anonymous", "/healthz"), *pages(org)]:
            headers = key_header if actor == "key" else {"HX-Request": "true"} if actor == "owner_htmx" else {}
            for n in concurrency:
                r = hammer(base, path, headers, cookies[actor], n, seconds)
                print(
                    f"| {label} | {n} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['errors']} | {r['n']} |",
                    flush=True,
                )
    finally:
        _django.stop(server)


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--sizes", default="10,1000,20000,100000", help="machines per measured organization")
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--give-up", type=float, default=2.0, help="seconds; slower pages are measured once")
    p.add_argument("--load-size", type=int, default=0, help="organization size for the load part (default largest)")
    p.add_argument("--clients", default="8,32")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--no-load", action="store_true")
    p.add_argument("--skip", action="append", default=[], help="skip pages whose label contains this")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--profile-size", type=int, default=100)
    args = p.parse_args()
    args.db_name = args.db_name or DB
    SKIP.extend(args.skip)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if args.profile:
        sizes = [args.profile_size]
    # DEBUG=0 wants an id_token signing key (fleetadmin.idp); no measured page signs one.
    os.environ.setdefault("OIDC_SIGNING_KEYS_FILE", os.path.join(tempfile.gettempdir(), "fa-e-bench-oidc-keys.json"))
    url = setup(args, DB)
    try:
        started = time.perf_counter()
        orgs = seed(sizes)
        print(f"data ready in {time.perf_counter() - started:.1f} s", flush=True)
        if args.profile:
            profile(orgs[args.profile_size])
            return
        measure_in_process(orgs, args.rounds, args.give_up)
        measure_counts(orgs, args.rounds)
        if not args.no_load:
            load_size = args.load_size or sizes[-1]
            measure_load(url, orgs[load_size], load_size, [int(c) for c in args.clients.split(",")], args.seconds)
    finally:
        teardown(args, DB)


if __name__ == "__main__":
    main()
