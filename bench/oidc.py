"""The OIDC provider under gunicorn on PostgreSQL: token endpoint (code exchange, refresh) and userinfo,
each as a ratio to /healthz measured in the same run; and the End users page at 100,000 end users
(query count constant from the first page to a deep keyset page; time vs. a trivial view).

    .venv/bin/python bench/oidc.py [--sqlite] [--keep] [--requests 200] [--end-users 100000]

One client, sequential requests, 2 sync gunicorn workers on 127.0.0.1 (a free port).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django

DB = "fa_a_bench_oidc"
REDIRECT = "http://127.0.0.1:9/callback"
PASSWORD = "bench-password-1"  # noqa: S105 -- a scratch account


def stats(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "rps": 1000 / statistics.mean(samples),
        "median_ms": statistics.median(samples),
        "p99_ms": samples[max(0, int(len(samples) * 0.99) - 1)],
    }


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    p = _django.parser(__doc__)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--end-users", type=int, default=100_000)
    args = p.parse_args()
    import tempfile

    # A throwaway id_token signing key for this run (DEBUG=0 refuses to sign without one).
    keys_file = Path(tempfile.mkdtemp(prefix="fa-bench-oidc-")) / "oidc-keys.json"
    os.environ["OIDC_SIGNING_KEYS_FILE"] = str(keys_file)
    url = _django.setup(args, DB)
    from django.core.management import call_command

    call_command("oidc_rotate_key", stdout=open(os.devnull, "w"))  # noqa: SIM115
    import requests
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from fleetadmin import clock
    from fleetadmin.core.actors import SYSTEM
    from fleetadmin.fleet.models import Membership, Organization, Role
    from fleetadmin.idp import services as idp_services
    from fleetadmin.idp.models import EndUser
    from fleetadmin.oauth import services

    org = Organization.objects.create(name="Bench Robotics")
    services.auth_service_enable(actor=SYSTEM, organization=org)
    issued = services.oauth_app_create(
        actor=SYSTEM,
        organization=org,
        client_authentication="required",
        pkce="required",
        url_validation="exact_match",
        enabled_grants=["authorization_code", "refresh_token"],
        redirect_uris=[REDIRECT],
        logout_uri="http://127.0.0.1:9/out",
    )
    idp_services.end_user_create(actor=SYSTEM, organization=org, email="bench@example.com", password=PASSWORD)
    hashed = make_password("x")  # one precomputed hash: Argon2 per row would take hours
    now = clock.now()
    seed_start = time.perf_counter()
    batch = [
        EndUser(organization=org, email=f"user{i:06}@example.com", password=hashed, created_at=now)
        for i in range(args.end_users)
    ]
    EndUser.objects.bulk_create(batch, batch_size=5000)
    print(f"seeded {args.end_users:,} end users in {time.perf_counter() - seed_start:.1f} s (bulk_create)", flush=True)
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.create_user(email="owner@bench.example", password=PASSWORD)
    Membership.objects.create(user=owner, organization=org, role=Role.ORGANIZATION_OWNER)

    # ---- part 1: HTTP under gunicorn
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--no-control-socket", "--log-level", "warning"],
        cwd=_django.ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    issuer = f"{base}/oidc/{org.pk}"
    try:
        for _ in range(200):
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        browser = requests.Session()
        page = browser.get(f"{issuer}/sign-in", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        browser.post(
            f"{issuer}/sign-in",
            data={"csrfmiddlewaretoken": token, "email": "bench@example.com", "password": PASSWORD},
            allow_redirects=False,
            timeout=10,
        )
        auth = (issued.app.client_id, issued.client_secret)

        def new_code() -> tuple[str, str]:
            verifier = secrets.token_urlsafe(48)
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            query = {"response_type": "code", "client_id": auth[0], "redirect_uri": REDIRECT, "scope": "openid email",
                     "code_challenge": challenge, "code_challenge_method": "S256", "state": "s"}  # fmt: skip
            location = browser.get(f"{issuer}/authorize?{urlencode(query)}", allow_redirects=False, timeout=10)
            return parse_qs(urlsplit(location.headers["Location"]).query)["code"][0], verifier

        # Codes live a minute (one-time, short-lived): each is minted just before its exchange, untimed.
        codes: list[tuple[str, str]] = []
        http = requests.Session()
        results: dict[str, list[float]] = {
            "healthz": [],
            "token: code exchange": [],
            "token: refresh": [],
            "userinfo": [],
        }
        current = {}

        def exchange():
            code, verifier = codes.pop()
            data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
            response = http.post(f"{issuer}/token", auth=auth, timeout=10, data={**data, "code_verifier": verifier})
            assert response.status_code == 200, response.text
            current.update(response.json())

        def refresh():
            data = {"grant_type": "refresh_token", "refresh_token": current["refresh_token"]}
            response = http.post(f"{issuer}/token", auth=auth, timeout=10, data=data)
            assert response.status_code == 200, response.text
            current.update(response.json())

        def userinfo():
            response = http.get(f"{issuer}/userinfo", timeout=10,
                                headers={"Authorization": f"Bearer {current['access_token']}"})  # fmt: skip
            assert response.status_code == 200, response.text

        def healthz():
            assert http.get(f"{base}/healthz", timeout=10).status_code == 200

        codes.append(new_code())
        exchange()
        for _ in range(5):  # warm-up
            healthz(), refresh(), userinfo()
        for _ in range(args.requests):  # interleaved, so load drift hits every case alike
            results["healthz"].append(timed(healthz))
            codes.append(new_code())
            results["token: code exchange"].append(timed(exchange))
            results["token: refresh"].append(timed(refresh))
            results["userinfo"].append(timed(userinfo))
    finally:
        server.terminate()
        server.wait(timeout=10)

    print(
        f"OIDC endpoints, {_django.database_label(url)}, gunicorn 2 workers, {args.requests} sequential requests each"
    )
    baseline = stats(results["healthz"])
    print(f"{'case':22} {'req/s':>8} {'median ms':>10} {'p99 ms':>8}   vs /healthz (req/s, median, p99)")
    for name, samples in results.items():
        s = stats(samples)
        print(f"{name:22} {s['rps']:8.1f} {s['median_ms']:10.2f} {s['p99_ms']:8.2f}   "
              f"{s['rps'] / baseline['rps']:.2f}x  {s['median_ms'] / baseline['median_ms']:.1f}x  "
              f"{s['p99_ms'] / baseline['p99_ms']:.1f}x")  # fmt: skip

    # ---- part 2: the End users page at N end users, in process
    client = Client()
    client.force_login(owner)
    page_url = f"/orgs/{org.pk}/auth/end-users/"
    deep = {"after": f"user{args.end_users - 100:06}@example.com"}
    counts = []
    for params in ({}, deep, {"q": "user0999"}):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page_url, params).status_code == 200
        counts.append(len(queries))
    cases = {
        "trivial view (/healthz)": lambda: client.get("/healthz"),
        "End users, first page": lambda: client.get(page_url),
        "End users, deep keyset page": lambda: client.get(page_url, deep),
        "End users, email search": lambda: client.get(page_url, {"q": "user0999"}),
    }
    timings = _django.interleaved(cases, rounds=5, repeat=10)
    trivial = timings["trivial view (/healthz)"]["median_ms"]
    print(
        f"\nEnd users page at {args.end_users + 1:,} end users; "
        f"queries: first {counts[0]}, deep {counts[1]}, search {counts[2]}"
    )
    for name, t in timings.items():
        print(f"{name:30} median {t['median_ms']:7.2f} ms  ({t['median_ms'] / trivial:.1f}x the trivial view)")
    _django.teardown(args, DB)


if __name__ == "__main__":
    main()
