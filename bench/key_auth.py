"""Cost of authenticating a request with an API key, against an unauthenticated request.

Both requests go through the whole Django stack to GET /api/v1/whoami in the same
process and the same run: the unauthenticated one is answered 401 without touching the
database, the authenticated one parses the header, checks the checksum, loads the key,
computes HMAC-SHA256, compares in constant time and loads its authorizations.

    .venv/bin/python bench/key_auth.py [--sqlite] [--requests 2000]
"""

from _django import parser, setup, teardown, timeit

DB = "fleetadmin_bench_key_auth"


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--requests", type=int, default=2000)
    args = p.parse_args()
    url = setup(args, DB)
    try:
        from django.test import Client

        from fleetadmin.core.actors import SYSTEM
        from fleetadmin.fleet.services import organization_create
        from fleetadmin.keys.services import Grant, api_key_create

        organization = organization_create(actor=SYSTEM, name="Bench Org")
        issued = api_key_create(
            actor=SYSTEM, organization=organization, grants=[Grant(role="organization_owner", resource=organization)]
        )
        client = Client()
        header = f"ApiKey {issued.key.pk}:{issued.value}"

        def anonymous():
            assert client.get("/api/v1/whoami").status_code == 401

        def authenticated():
            assert client.get("/api/v1/whoami", HTTP_AUTHORIZATION=header).status_code == 200

        # Interleave rounds so drift (caches, CPU frequency) hits both sides equally.
        rounds = 5
        per_round = max(args.requests // rounds, 1)
        anon, auth = [], []
        for _ in range(rounds):
            anon.append(timeit(anonymous, repeat=per_round))
            auth.append(timeit(authenticated, repeat=per_round))
        anon_ms = sorted(r["median_ms"] for r in anon)[rounds // 2]
        auth_ms = sorted(r["median_ms"] for r in auth)[rounds // 2]
        print(f"database: {url.split('@')[-1] if '@' in url else url}")
        print(f"requests: {per_round * rounds} of each, interleaved in {rounds} rounds")
        print(f"unauthenticated GET /api/v1/whoami (401): median {anon_ms:.3f} ms")
        print(f"API-key GET /api/v1/whoami (200):        median {auth_ms:.3f} ms")
        print(
            f"ratio authenticated / unauthenticated:   {auth_ms / anon_ms:.2f}x"
            f"  (+{auth_ms - anon_ms:.3f} ms per request)"
        )
    finally:
        teardown(args, DB)


if __name__ == "__main__":
    main()
