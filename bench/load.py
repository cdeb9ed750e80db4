"""A bounded load test: concurrent clients reading and writing through the JSON API and the web portal.

gunicorn as the README's "Production" section runs it (2 workers, gthread, DEBUG=0) on
127.0.0.1, on PostgreSQL, with the cache in Redis (CACHE_URL; redis://127.0.0.1:6379/0 unless
set). ``--clients`` threads (default 32), each with its own HTTP connection, API key and signed-in
session, run for ``--duration`` seconds (default 60) and stop by themselves, each picking its next
request at random from a fixed mix:

* JSON API, with an organization-owner key: whoami; the keys list; the audit events list; the
  OAuth applications list; create, rotate and delete API keys; create and update OAuth applications;
* web portal, signed in: the audit log (first page, a filter, a page further back), the keys list,
  the invoices list, and charging a customer (the invoice form, then its POST, as a browser does).

Afterwards, from the database: zero 5xx; for each audited write, the audit events of its action
against the writes that answered 2xx (3xx for the web form), so a lost or a duplicated event
shows (a rotation records two events: the new key's ``create`` and the old key's ``rotate``);
``audit_verify`` walks the hash chain; the invoice numbers run 1..N without a gap or a repeat. Exits
1 if any check fails.

    CACHE_URL=redis://127.0.0.1:6379/4 .venv/bin/python bench/load.py [--clients 32] [--duration 60] [--keep]
"""

from __future__ import annotations

import io
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

from _django import cache_label, database_label, free_port, parser, percentile, session_cookie, setup, start_gunicorn
from _django import stop as stop_server

DB = "fleetadmin_bench_load"
ADDRESS = "123 Main St, Springfield, IL, 62704"
APP = {
    "client_authentication": "required",
    "pkce": "required",
    "url_validation": "exact_match",
    "enabled_grants": ["authorization_code"],
    "redirect_uris": ["https://app.example.com/cb"],
    "logout_uri": "https://app.example.com/out",
}
# (operation, weight). Writes are about 40% of the requests.
MIX = [
    ("api whoami", 6),
    ("api keys list", 8),
    ("api audit events", 8),
    ("api oauth apps list", 4),
    ("api key create", 10),
    ("api key rotate", 6),
    ("api key delete", 6),
    ("api oauth app create", 4),
    ("api oauth app update", 6),
    ("web audit log", 8),
    ("web audit log, filtered", 5),
    ("web audit log, older page", 4),
    ("web keys list", 5),
    ("web invoices list", 3),
    ("web invoice create", 5),
]
# Each audited write, the audit events one success records: action -> count.
RECORDS = {
    "api key create": {"keys.api_key.create": 1},
    "api key rotate": {"keys.api_key.create": 1, "keys.api_key.rotate": 1},
    "api key delete": {"keys.api_key.delete": 1},
    "api oauth app create": {"oauth.oauth_app.create": 1},
    "api oauth app update": {"oauth.oauth_app.update": 1},
    "web invoice create": {"billing.invoice.create": 1},
}
TOKEN = re.compile(r'name="(csrfmiddlewaretoken|form_token)" value="([^"]+)"')
CUSTOMER = re.compile(r'<option value="([0-9a-f-]{36})"')
OLDER = re.compile(r'href="[^"]*\?[^"]*before=(\d+)')


def seed(clients: int):
    """An organization with an owner per client, an owner key per client, billing enabled with customers."""
    from django.contrib.auth import get_user_model

    from fleetadmin.billing import services as billing
    from fleetadmin.core.actors import SYSTEM
    from fleetadmin.fleet import services as fleet
    from fleetadmin.fleet.models import Organization
    from fleetadmin.keys.services import Grant, api_key_create

    organization = fleet.organization_create(actor=SYSTEM, name=f"Load Org {time.strftime('%H%M%S')}")
    for i in range(3):
        location = fleet.location_create(actor=SYSTEM, organization=organization, name=f"Site {i}")
        for j in range(5):
            fleet.machine_create(actor=SYSTEM, location=location, name=f"bot-{i}-{j}")
    billing.billing_service_enable(actor=SYSTEM, organization=organization, address=ADDRESS)
    for i in range(3):
        customer = fleet.organization_create(actor=SYSTEM, name=f"{organization.name} customer {i}")
        billing.customer_attach(actor=SYSTEM, billing_organization=organization, customer_id=customer.pk)
    User = get_user_model()
    identities = []
    for n in range(clients):
        user, _ = User.objects.get_or_create(email=f"load-owner-{organization.pk.hex[:8]}-{n}@example.com")
        fleet.membership_grant(actor=SYSTEM, user=user, organization=organization, role="organization_owner")
        issued = api_key_create(
            actor=SYSTEM,
            organization=organization,
            grants=[Grant(role="organization_owner", resource=organization)],
            name=f"load client {n}",
        )
        identities.append((f"ApiKey {issued.key.pk}:{issued.value}", session_cookie(user)))
    return Organization.objects.get(pk=organization.pk), identities


class Client(threading.Thread):
    def __init__(self, n: int, base: str, org_id: str, identity, stop_at: float, seed: int):
        super().__init__(daemon=True)
        import requests

        self.n, self.base, self.org_id, self.stop_at = n, base, org_id, stop_at
        self.rng = random.Random(seed)
        self.api = requests.Session()
        self.api.headers["Authorization"] = identity[0]
        self.web = requests.Session()
        self.web.cookies.set("sessionid", identity[1])
        self.keys: list[str] = []  # ids of keys this client created (and may rotate or delete)
        self.apps: list[str] = []
        self.results: list[tuple[str, int, float]] = []  # (operation, status or 0 for no answer, ms)
        self.failures: list[str] = []
        self.older: str | None = None
        self.count = 0

    def request(self, operation: str, session, method: str, path: str, **kwargs):
        import requests

        started = time.perf_counter()
        try:
            response = session.request(method, self.base + path, timeout=60, allow_redirects=False, **kwargs)
        except requests.RequestException as error:
            self.results.append((operation, 0, (time.perf_counter() - started) * 1000))
            self.failures.append(f"{operation}: no answer ({type(error).__name__})")
            return None
        self.results.append((operation, response.status_code, (time.perf_counter() - started) * 1000))
        if response.status_code >= 400 and len(self.failures) < 20:
            self.failures.append(f"{operation} {method} {path}: {response.status_code} {response.text[:200]!r}")
        return response

    def run(self) -> None:
        operations, weights = zip(*MIX, strict=True)
        while time.monotonic() < self.stop_at:
            self.count += 1
            getattr(self, "op_" + self.rng.choices(operations, weights)[0].replace(" ", "_").replace(",", ""))()

    # ---- JSON API
    def op_api_whoami(self):
        self.request("api whoami", self.api, "GET", "/api/v1/whoami")

    def op_api_keys_list(self):
        self.request("api keys list", self.api, "GET", f"/api/v1/organizations/{self.org_id}/api-keys")

    def op_api_audit_events(self):
        self.request("api audit events", self.api, "GET", f"/api/v1/organizations/{self.org_id}/audit-events")

    def op_api_oauth_apps_list(self):
        self.request("api oauth apps list", self.api, "GET", f"/api/v1/organizations/{self.org_id}/oauth-apps")

    def op_api_key_create(self):
        body = {"name": f"load-{self.n}-{self.count}"}
        response = self.request(
            "api key create", self.api, "POST", f"/api/v1/organizations/{self.org_id}/api-keys", json=body
        )
        if response is not None and response.status_code == 201:
            self.keys.append(response.json()["id"])

    def op_api_key_rotate(self):
        if not self.keys:
            return self.op_api_key_create()
        key = self.keys.pop(self.rng.randrange(len(self.keys)))
        response = self.request("api key rotate", self.api, "POST", f"/api/v1/api-keys/{key}/rotate", json={})
        if response is not None and response.status_code == 201:
            self.keys.append(response.json()["id"])  # the old one is replaced: it cannot be rotated again

    def op_api_key_delete(self):
        if not self.keys:
            return self.op_api_key_create()
        key = self.keys.pop(self.rng.randrange(len(self.keys)))
        self.request("api key delete", self.api, "DELETE", f"/api/v1/api-keys/{key}")

    def op_api_oauth_app_create(self):
        body = {**APP, "client_name": f"load app {self.n}-{self.count}"}
        path = f"/api/v1/organizations/{self.org_id}/oauth-apps"
        response = self.request("api oauth app create", self.api, "POST", path, json=body)
        if response is not None and response.status_code == 201:
            self.apps.append(response.json()["client_id"])

    def op_api_oauth_app_update(self):
        if not self.apps:
            return self.op_api_oauth_app_create()
        app = self.rng.choice(self.apps)
        path = f"/api/v1/organizations/{self.org_id}/oauth-apps/{app}"
        self.request("api oauth app update", self.api, "PATCH", path, json={"client_name": f"load app {self.count}"})

    # ---- web portal
    def op_web_audit_log(self):
        response = self.request("web audit log", self.web, "GET", f"/orgs/{self.org_id}/audit/")
        if response is not None and response.status_code == 200:
            older = OLDER.search(response.text)
            self.older = older.group(1) if older else self.older

    def op_web_audit_log_filtered(self):
        path = f"/orgs/{self.org_id}/audit/?q=action:keys.api_key."
        self.request("web audit log, filtered", self.web, "GET", path)

    def op_web_audit_log_older_page(self):
        if self.older is None:
            return self.op_web_audit_log()
        self.request("web audit log, older page", self.web, "GET", f"/orgs/{self.org_id}/audit/?before={self.older}")

    def op_web_keys_list(self):
        self.request("web keys list", self.web, "GET", f"/orgs/{self.org_id}/keys/")

    def op_web_invoices_list(self):
        self.request("web invoices list", self.web, "GET", f"/orgs/{self.org_id}/billing/invoices/")

    def op_web_invoice_create(self):
        path = f"/orgs/{self.org_id}/billing/invoices/new/"
        form = self.request("web invoice form", self.web, "GET", path)
        if form is None or form.status_code != 200:
            return
        fields = dict(TOKEN.findall(form.text))
        customers = CUSTOMER.findall(form.text)
        data = {
            **fields,
            "customer": self.rng.choice(customers),
            "description": f"Load test charge {self.n}-{self.count}",
            "subtotal": f"{self.rng.randint(1, 9999)}.00",
            "tax": "0.00",
        }
        headers = {"Referer": self.base + path}  # Django's CSRF check wants one under HTTPS only; harmless here
        self.request("web invoice create", self.web, "POST", path, data=data, headers=headers)


def summarize(clients: list[Client], wall: float) -> tuple[dict, list[tuple]]:
    by_operation: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for client in clients:
        for operation, status, ms in client.results:
            by_operation[operation].append((status, ms))
    rows = []
    for operation in [*(op for op, _ in MIX if op in by_operation), "web invoice form"]:
        if operation not in by_operation:
            continue
        results = by_operation[operation]
        latencies = sorted(ms for _, ms in results)
        statuses = Counter(status for status, _ in results)
        rows.append(
            (
                operation,
                len(results),
                len(results) / wall,
                statistics.median(latencies),
                percentile(latencies, 0.99),
                sum(n for s, n in statuses.items() if s >= 500),
                statuses,
            )
        )
    return by_operation, rows


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    if args.sqlite:
        sys.exit("bench/load.py runs on PostgreSQL (several gunicorn workers writing at once).")
    os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/0")
    os.environ.setdefault("OIDC_SIGNING_KEYS_FILE", str(Path(tempfile.gettempdir()) / "fleetadmin-bench-oidc.json"))
    url = setup(args, args.db_name or DB)
    failed: list[str] = []
    try:
        from django.core.management import call_command
        from django.db import connection

        from fleetadmin.audit.models import AuditEvent
        from fleetadmin.billing.models import Invoice

        organization, identities = seed(args.clients)
        before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        port = free_port()
        log = str(Path(tempfile.gettempdir()) / f"{args.db_name or DB}-gunicorn.log")
        server = start_gunicorn(port, log=log)
        try:
            base = f"http://127.0.0.1:{port}"
            stop_at = time.monotonic() + args.duration
            clients = [
                Client(n, base, str(organization.pk), identities[n], stop_at, args.seed * 1000 + n)
                for n in range(args.clients)
            ]
            began = time.monotonic()
            for client in clients:
                client.start()
            for client in clients:
                client.join(args.duration + 120)
            wall = time.monotonic() - began
            hung = [c.n for c in clients if c.is_alive()]
        finally:
            stop_server(server)

        by_operation, rows = summarize(clients, wall)
        total = sum(len(v) for v in by_operation.values())
        latencies = sorted(ms for v in by_operation.values() for _, ms in v)
        statuses = Counter(status for v in by_operation.values() for status, _ in v)
        errors_5xx = sum(n for s, n in statuses.items() if s >= 500)
        no_answer = statuses.get(0, 0)
        print(f"database: {database_label(url)}; cache: {cache_label()}; gunicorn: README production options")
        print(
            f"load: {args.clients} clients for {args.duration:g} s (wall {wall:.1f} s), 127.0.0.1;"
            f" cores: {os.cpu_count()}"
        )
        print()
        print(
            f"| {'operation':<28} | {'requests':>8} | {'req/s':>7} | {'p50 ms':>7} | {'p99 ms':>7} | {'5xx':>4}"
            " | statuses"
        )
        print(f"| {'-' * 28} | {'-' * 8}:| {'-' * 6}:| {'-' * 6}:| {'-' * 6}:| {'-' * 3}:| ---")
        for operation, n, rps, p50, p99, e5, st in rows:
            shown = " ".join(f"{s}:{c}" for s, c in sorted(st.items()))
            print(f"| {operation:<28} | {n:>8} | {rps:>7.1f} | {p50:>7.1f} | {p99:>7.1f} | {e5:>4} | {shown}")
        print(
            f"| {'all':<28} | {total:>8} | {total / wall:>7.1f} | {statistics.median(latencies):>7.1f} |"
            f" {percentile(latencies, 0.99):>7.1f} | {errors_5xx:>4} | no answer: {no_answer}"
        )

        # Audit events of each action against the writes that succeeded.
        succeeded = Counter()
        for operation, results in by_operation.items():
            ok = sum(
                1 for status, _ in results if (200 <= status < 300) or (operation.startswith("web") and status == 302)
            )
            for action, per in RECORDS.get(operation, {}).items():
                succeeded[action] += ok * per
        recorded = Counter(
            AuditEvent.objects.filter(id__gt=before, organization=organization).values_list("action", flat=True)
        )
        print()
        print(f"| {'audit action':<26} | {'2xx writes x events':>19} | {'events':>7} | check")
        print(f"| {'-' * 26} | {'-' * 18}:| {'-' * 6}:| ---")
        for action in sorted(succeeded):
            verdict = "ok" if recorded[action] == succeeded[action] else (
                "LOST" if recorded[action] < succeeded[action] else "DUPLICATED")  # fmt: skip
            print(f"| {action:<26} | {succeeded[action]:>19} | {recorded[action]:>7} | {verdict}")
            if verdict != "ok":
                failed.append(f"audit {action}: {recorded[action]} events for {succeeded[action]} successful writes")
        others = {a: n for a, n in recorded.items() if a not in succeeded}
        if others:
            print(f"other audit events in the organization during the run: {dict(sorted(others.items()))}")

        out = io.StringIO()
        try:
            call_command("audit_verify", stdout=out, stderr=out)
            print(out.getvalue().strip())
        except SystemExit:
            failed.append("audit_verify: " + out.getvalue().strip())
            print(out.getvalue().strip())

        numbers = sorted(Invoice.objects.filter(billing_organization=organization).values_list("number", flat=True))
        expected = list(range(1, len(numbers) + 1))
        invoices_ok = numbers == expected and len(numbers) == succeeded["billing.invoice.create"]
        print(
            f"invoice numbers: {len(numbers)} invoices,"
            f" numbered {numbers[0] if numbers else '-'}..{numbers[-1] if numbers else '-'}"
            f", {'no gap, no repeat' if numbers == expected else 'GAPS OR REPEATS'};"
            f" {succeeded['billing.invoice.create']} charges answered 302"
        )
        if not invoices_ok:
            failed.append(f"invoice numbers: {len(numbers)} invoices, not 1..N or not one per successful charge")
        if errors_5xx:
            failed.append(f"{errors_5xx} responses were 5xx (server log: {log})")
        if no_answer:
            failed.append(f"{no_answer} requests got no answer")
        if hung:
            failed.append(f"clients {hung} did not stop")
        unexpected = [f for c in clients for f in c.failures][:10]
        if unexpected:
            print("\nfirst refusals/failures seen by the clients:")
            for line in unexpected:
                print("  " + line)
    finally:
        from django.db import connections

        connections.close_all()
        from _django import teardown

        teardown(args, args.db_name or DB)
    print()
    if failed:
        print("FAILED:\n  " + "\n  ".join(failed))
        sys.exit(1)
    print("all checks passed: zero 5xx, every successful write audited exactly once, chain verifies, invoices 1..N")


if __name__ == "__main__":
    main()
