"""The platform's SDK over gRPC (serve_grpc) against the JSON API (gunicorn), same data, same run.

One scratch database with 200,000 keys in one organization (the bulk path of
bench/keys_list.py). Both servers run as their own processes on 127.0.0.1, as in production:
gunicorn with 2 workers x 4 threads, serve_grpc with 8 ORM threads (one process). Measured from this process:

* ListKeys, first page: the SDK's ``list_keys`` against a serve_grpc started with
  ``--list-keys-limit 50`` (the JSON API's page size) and the JSON API's first page; and the default
  ListKeys (the newest 1,000 keys: the platform's message has no page token) against the JSON API
  reading the same 1,000 keys (20 pages);
* CreateKey: the SDK's ``create_key`` against ``POST /api/v1/organizations/<id>/api-keys``;
* calls per second with 8 concurrent clients (8 SDK clients, each its own connection, in one event
  loop; 8 threads with their own HTTP sessions), against 1 client.

    .venv/bin/python bench/grpc_api.py [--keys 200000] [--repeat 30] [--seconds 8] [--sqlite] [--keep]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _django import ROOT, free_port, parser, setup, teardown
from _django import wait_for_port as wait_for
from keys_list import seed

DB = "fa_d_bench_grpc"
CONCURRENCY = 8


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def timed_async(fn, repeat: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        await fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return median_ms(samples)


def timed(fn, repeat: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return median_ms(samples)


async def grpc_rate(clients, call, seconds: float) -> float:
    stop = time.perf_counter() + seconds
    counts = [0] * len(clients)

    async def worker(i, client):
        while time.perf_counter() < stop:
            await call(client)
            counts[i] += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(i, c) for i, c in enumerate(clients)))
    return sum(counts) / (time.perf_counter() - start)


def http_rate(sessions, call, seconds: float) -> float:
    stop = time.perf_counter() + seconds
    counts = [0] * len(sessions)

    def worker(i, session):
        while time.perf_counter() < stop:
            call(session)
            counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i, s)) for i, s in enumerate(sessions)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def report(r: dict[str, float], args, url: str) -> None:
    print(f"database: {url.split('@')[-1] if '@' in url else url}; keys in the organization: {args.keys:,}")
    print(f"cores: {os.cpu_count()}; clients run in this process, servers in their own")
    print("\nlatency, one client (median)")
    for label, name in [
        ("gRPC ListKeys, first page (50 keys)", "grpc first page"),
        ("JSON API first page (50 keys)", "http first page"),
        ("gRPC ListKeys (newest 1,000 keys)", "grpc list"),
        ("JSON API the same 1,000 keys (20 pages)", "http 1000"),
        ("gRPC CreateKey", "grpc create"),
        ("JSON API POST api-keys", "http create"),
    ]:
        print(f"  {label:<44} {r[name]:9.1f} ms")
    print(f"\nthroughput, calls/s ({args.seconds:.0f} s each)       1 client  {CONCURRENCY} clients")
    for label, name in [
        ("gRPC ListKeys, first page (50 keys)", "grpc first page"),
        ("JSON API first page (50 keys)", "http first page"),
        ("gRPC ListKeys (1,000 keys)", "grpc list"),
        ("JSON API 1,000 keys (20 pages)", "http 1000"),
        ("gRPC CreateKey", "grpc create"),
        ("JSON API POST api-keys", "http create"),
    ]:
        one = r.get(f"{name} rate 1")
        print(f"  {label:<36} {f'{one:9.1f}' if one else ' ' * 9} {r[f'{name} rate 8']:9.1f}")
    print("\nratios (above 1 means gRPC is faster)")
    ratios = [
        ("first page (50 keys): JSON / gRPC ListKeys (time)", r["http first page"] / r["grpc first page"]),
        ("1,000 keys: JSON 20 pages / gRPC ListKeys (time)", r["http 1000"] / r["grpc list"]),
        ("CreateKey: JSON POST / gRPC (time)", r["http create"] / r["grpc create"]),
        ("8 clients, first page: gRPC / JSON (calls/s)", r["grpc first page rate 8"] / r["http first page rate 8"]),
        ("8 clients, 1,000 keys: gRPC / JSON 20 pages (calls/s)", r["grpc list rate 8"] / r["http 1000 rate 8"]),
        ("8 clients, CreateKey: gRPC / JSON (calls/s)", r["grpc create rate 8"] / r["http create rate 8"]),
        (
            "gRPC ListKeys first page, 8 clients / 1 (calls/s)",
            r["grpc first page rate 8"] / r["grpc first page rate 1"],
        ),
        ("JSON first page, 8 clients / 1 (calls/s)", r["http first page rate 8"] / r["http first page rate 1"]),
        ("gRPC CreateKey, 8 clients / 1 (calls/s)", r["grpc create rate 8"] / r["grpc create rate 1"]),
    ]
    for label, ratio in ratios:
        print(f"  {label:<56} {ratio:6.2f}x")


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--keys", type=int, default=200_000)
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("--seconds", type=float, default=8.0, help="length of each throughput phase")
    args = p.parse_args()
    # DEBUG=0 wants an id_token signing key; nothing here signs one, so the file is never read.
    os.environ.setdefault("OIDC_SIGNING_KEYS_FILE", str(Path(tempfile.gettempdir()) / "fa_d_bench_oidc_keys.json"))
    url = setup(args, DB)
    processes: list[subprocess.Popen] = []
    try:
        from django.db import connection

        from fleetadmin.audit.services import SYSTEM
        from fleetadmin.keys.services import Grant, api_key_create

        organization, _ = seed(args.keys)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        issued = api_key_create(
            actor=SYSTEM,
            organization=organization,
            grants=[Grant(role="organization_owner", resource=organization)],
            name="bench grpc",
        )
        connection.close()
        key_id, key_value, org_id = str(issued.key.pk), issued.value, str(organization.pk)

        web_port, grpc_port, page_port = free_port(), free_port(), free_port()
        env = dict(os.environ)
        logs = Path(tempfile.gettempdir())
        servers = {
            "gunicorn": (
                [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{web_port}",
                 "--workers", "2", "--threads", "4", "--no-control-socket"],
                web_port,
            ),
            "serve_grpc": (
                [sys.executable, "manage.py", "serve_grpc", "--port", str(grpc_port), "--workers", "8",
                 "--portal-url", f"http://127.0.0.1:{web_port}"],
                grpc_port,
            ),
            # The same server answering ListKeys with one JSON-API-sized page, for a first-page comparison.
            "serve_grpc_page": (
                [sys.executable, "manage.py", "serve_grpc", "--port", str(page_port), "--workers", "8",
                 "--list-keys-limit", "50", "--portal-url", f"http://127.0.0.1:{web_port}"],
                page_port,
            ),
        }  # fmt: skip
        for name, (command, port) in servers.items():
            with (logs / f"fa_d_bench_{name}.log").open("wb") as log:
                processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
            wait_for(port, processes[-1], name)

        import requests
        from viam.app.app_client import APIKeyAuthorization
        from viam.app.viam_client import ViamClient
        from viam.rpc.dial import Credentials, DialOptions

        base = f"http://127.0.0.1:{web_port}/api/v1"
        headers = {"Authorization": f"ApiKey {key_id}:{key_value}"}
        keys_url = f"{base}/organizations/{org_id}/api-keys"
        authorization = [APIKeyAuthorization(role="owner", resource_type="organization", resource_id=org_id)]

        def http_first_page(session):
            response = session.get(keys_url, headers=headers, timeout=30)
            assert response.status_code == 200 and len(response.json()["items"]) == 50

        def http_thousand(session):
            after, seen = "", 0
            while seen < 1000:
                response = session.get(
                    keys_url, params={"after": after} if after else None, headers=headers, timeout=30
                )
                body = response.json()
                seen += len(body["items"])
                after = body["next"]
            assert seen == 1000

        def http_create(session):
            response = session.post(keys_url, json={"name": "bench http"}, headers=headers, timeout=30)
            assert response.status_code == 201

        async def grpc_list(client):
            assert len(await client.app_client.list_keys(org_id)) == 1000

        async def grpc_first_page(client):
            assert len(await client.app_client.list_keys(org_id)) == 50

        async def grpc_create(client):
            await client.app_client.create_key(org_id, authorization, name="bench grpc")

        async def dial(port: int = grpc_port):
            options = DialOptions(
                insecure=True, credentials=Credentials(type="api-key", payload=key_value), auth_entity=key_id
            )
            return await ViamClient.create_from_dial_options(options, app_url=f"127.0.0.1:{port}")

        async def grpc_side():
            clients = [await dial() for _ in range(CONCURRENCY)]
            paged = [await dial(page_port) for _ in range(CONCURRENCY)]
            try:
                out = {
                    "grpc first page": await timed_async(lambda: grpc_first_page(paged[0]), args.repeat),
                    "grpc first page rate 1": await grpc_rate(paged[:1], grpc_first_page, args.seconds),
                    "grpc first page rate 8": await grpc_rate(paged, grpc_first_page, args.seconds),
                    "grpc list": await timed_async(lambda: grpc_list(clients[0]), args.repeat),
                    "grpc create": await timed_async(lambda: grpc_create(clients[0]), args.repeat),
                    "grpc list rate 1": await grpc_rate(clients[:1], grpc_list, args.seconds),
                    "grpc list rate 8": await grpc_rate(clients, grpc_list, args.seconds),
                    "grpc create rate 1": await grpc_rate(clients[:1], grpc_create, args.seconds),
                    "grpc create rate 8": await grpc_rate(clients, grpc_create, args.seconds),
                }
            finally:
                for client in clients + paged:
                    client.close()
            return out

        sessions = [requests.Session() for _ in range(CONCURRENCY)]
        results = {
            "http first page": timed(lambda: http_first_page(sessions[0]), args.repeat),
            "http 1000": timed(lambda: http_thousand(sessions[0]), max(args.repeat // 3, 5)),
            "http create": timed(lambda: http_create(sessions[0]), args.repeat),
        }
        results |= asyncio.run(grpc_side())
        results |= {
            "http first page rate 1": http_rate(sessions[:1], http_first_page, args.seconds),
            "http first page rate 8": http_rate(sessions, http_first_page, args.seconds),
            "http 1000 rate 8": http_rate(sessions, http_thousand, args.seconds),
            "http create rate 1": http_rate(sessions[:1], http_create, args.seconds),
            "http create rate 8": http_rate(sessions, http_create, args.seconds),
        }

        report(results, args, url)
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        teardown(args, DB)


if __name__ == "__main__":
    main()
