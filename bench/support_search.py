"""The support console's search at the design size: 10,000 organizations, 100,000 machines, 200,000 keys.

Seeds the fleet with ``seed_scale`` (no audit events: search never reads them), then
200,000 API keys spread over the organizations, 20,000 users each a member of one,
and, when the OAuth app is installed, 10,000 OAuth applications. Times one search of
each kind (median and p95, in milliseconds, with its queries) against a baseline measured
in the same run, one organization fetched by primary key (the least any search can cost),
after VACUUM (ANALYZE); then whole pages: the console against the admin changelist search of the
one model an id belongs to, and a trivial view. Cases run in rounds, shuffled per round, each
timed in wall time and in CPU time (this process plus its PostgreSQL backend), and every ratio is
the median of per-round ratios (see bench/_django.py ``paired_rounds``), so it holds on a rerun.

``--scale`` shrinks every count alike (0.1: 1,000 organizations, 10,000 machines, 20,000 keys,
2,000 users, 1,000 OAuth applications) when seeding the design size does not fit the time.

    .venv/bin/python bench/support_search.py [--sqlite] [--keep] [--scale 1.0]
"""

from __future__ import annotations

import random
import statistics
import uuid

from _django import database_label, load_average, paired_rounds, parser, ratio, setup, teardown

DB = "fleetadmin_bench_support"
ORGS = 10_000
MACHINES = 100_000
KEYS = 200_000
USERS = 20_000
APPS = 10_000
BATCH = 10_000


def seed(scale: float) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from fleetadmin import clock
    from fleetadmin.fleet.models import Membership, Organization
    from fleetadmin.keys import tokens
    from fleetadmin.keys.models import ApiKey, ApiKeyAuthorization
    from fleetadmin.oauth.models import OAuthApplication

    orgs, keys_total, users_total, apps_total = (int(n * scale) for n in (ORGS, KEYS, USERS, APPS))
    if Organization.objects.count() >= orgs:
        return
    call_command("seed_scale", orgs=orgs, machines=int(MACHINES * scale), audit_events=0, verbosity=0)
    org_ids = list(Organization.objects.values_list("id", flat=True))
    rng = random.Random(7)
    stored = tokens.hash_secret(tokens.generate("fak_"))
    now = clock.now()
    for start in range(0, keys_total, BATCH):
        keys = [
            ApiKey(
                id=uuid.uuid4(),
                organization_id=rng.choice(org_ids),
                name=f"key-{start + i}",
                secret_hash=stored.hash,
                pepper_id=stored.pepper_id,
                created_at=now,
            )
            for i in range(min(BATCH, keys_total - start))
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
    users = User.objects.bulk_create(
        User(email=f"member{n}@example.com", password=unusable) for n in range(users_total)
    )
    Membership.objects.bulk_create(
        Membership(user=user, organization_id=rng.choice(org_ids), role="organization_operator") for user in users
    )
    for start in range(0, apps_total, BATCH):
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
            for i in range(min(BATCH, apps_total - start))
        )


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--repeat", type=int, default=3, help="calls per case per round")
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the design size to seed (default 1.0)")
    args = p.parse_args()
    url = setup(args, DB)
    try:
        seed(args.scale)
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
                # Statistics, hint bits and visibility map as autovacuum would leave them, on every run alike.
                cursor.execute("VACUUM (ANALYZE)")
        org = Organization.objects.order_by("id")[Organization.objects.count() // 2]
        key = ApiKey.objects.order_by("id")[ApiKey.objects.count() // 2]
        location = Location.objects.order_by("id")[Location.objects.count() // 10]
        machine = Machine.objects.order_by("id")[Machine.objects.count() // 2]
        member = f"member{get_user_model().objects.filter(email__startswith='member').count() * 6 // 10}@example.com"
        # A name less its last digit, matching about ten organizations (the first version's "Scale Org 0421").
        org_name = Organization.objects.order_by("name").values_list("name", flat=True)[
            Organization.objects.count() // 20
        ][:-1]
        queries = {
            "organization name (icontains, LIMIT 21)": org_name,
            "organization ID": str(org.pk),
            "location ID": str(location.pk),
            "machine ID": str(machine.pk),
            "API key ID in a sentence": f"hi, our key {key.pk} stopped working",
            "member email": member,
            "unknown UUID": str(uuid.uuid4()),
        }
        queries["OAuth client ID"] = str(
            OAuthApplication.objects.order_by("id")[OAuthApplication.objects.count() // 2].pk
        )
        floor_label = "baseline: one organization by primary key"
        calls = {floor_label: lambda: Organization.objects.filter(pk=org.pk).first()}
        queries_of, matches_of = {}, {}
        for label, query in queries.items():
            with CaptureQueriesContext(connection) as captured:
                matches_of[label] = len(selectors.search(query).matches)
            queries_of[label] = len(captured.captured_queries)
            calls[label] = lambda q=query: selectors.search(q)
        print(f"load average before timing: {load_average()}")
        per_round = paired_rounds(calls, rounds=args.rounds, repeat=args.repeat)
        print(f"database: {database_label(url)}; the selector, called directly; rounds shuffled, paired ratios")
        print(
            f"{'search':<42} {'wall ms':>8} {'CPU ms':>8} {'queries':>8} {'matches':>8}"
            f" {'x baseline (wall)':>18} {'x baseline (CPU)':>17}"
        )
        for label in calls:
            wall, cpu = (ratio(per_round[k][label], per_round[k][floor_label]) for k in ("wall", "cpu"))
            print(
                f"{label:<42} {statistics.median(per_round['wall'][label]):>8.2f}"
                f" {statistics.median(per_round['cpu'][label]):>8.2f}"
                f" {queries_of.get(label, 1):>8} {matches_of.get(label, 1):>8}"
                f" {wall['median']:>17.1f}x {cpu['median']:>16.1f}x"
            )

        # Whole pages: the console against what support staff would use without it, the admin changelist
        # search of the one model the id belongs to (the console searches every kind at once).
        User = get_user_model()
        staff, _ = User.objects.get_or_create(
            email="bench-support@example.com", defaults={"is_staff": True, "is_superuser": True}
        )
        # The console needs a two-factor sign-in (SUPPORT_REQUIRE_TWO_FACTOR): an authenticator, and a
        # session verified with it, as the sign-in's code step leaves it.
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.filter(user=staff, confirmed=True).first() or TOTPDevice.objects.create(
            user=staff, name="bench authenticator", confirmed=True
        )
        client = Client()
        client.force_login(staff)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        console = reverse("support:console")
        pages = {
            "trivial view (/healthz)": ("/healthz", {}),
            "console, organization name": (console, {"q": org_name}),
            "admin organizations, search name": ("/admin/fleet/organization/", {"q": org_name}),
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
        pages_per_round = paired_rounds(page_calls, rounds=args.rounds, repeat=max(args.repeat // 2, 1))
        print()
        floor = "trivial view (/healthz)"
        for label in page_calls:
            wall, cpu = (ratio(pages_per_round[k][label], pages_per_round[k][floor]) for k in ("wall", "cpu"))
            print(
                f"{label:<42} {statistics.median(pages_per_round['wall'][label]):>9.2f} ms wall"
                f" {statistics.median(pages_per_round['cpu'][label]):>9.2f} ms CPU"
                f" {wall['median']:>7.1f}x trivial view (wall) {cpu['median']:>7.1f}x (CPU)"
            )
        for console_label, admin_label in [
            ("console, organization name", "admin organizations, search name"),
            ("console, machine ID", "admin machines, search ID"),
            ("console, API key ID in a sentence", "admin API keys, search ID"),
        ]:
            wall, cpu = (
                ratio(pages_per_round[k][console_label], pages_per_round[k][admin_label]) for k in ("wall", "cpu")
            )
            print(
                f"{console_label:<42} takes {wall['median']:.2f}x the wall time of {admin_label}"
                f" (quartiles {wall['q1']:.2f}-{wall['q3']:.2f}), {cpu['median']:.2f}x its CPU time"
                f" (quartiles {cpu['q1']:.2f}-{cpu['q3']:.2f})"
            )
        print(f"load average after timing: {load_average()}")
    finally:
        teardown(args, DB)


if __name__ == "__main__":
    main()
