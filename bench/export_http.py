"""A whole audit-log CSV export over HTTP from gunicorn run as the README's "Production" section says.

Reuses bench/audit_log.py's data (run that first with ``--keep``: one organization with 1,000,000
events), starts gunicorn with the production options (gthread, --timeout 30) on 127.0.0.1, downloads
/orgs/<id>/audit/export.csv with a signed-in session, then checks the file with
``manage.py audit_export_verify`` (trailer line: row count and SHA-256) and prints rows/s.

The machine is shared, so a rate alone says little: each round also measures, interleaved with the
download, two baselines of the same run, and the figure to quote is the ratio:

- the same COPY statement run by ``psql`` into /dev/null (PostgreSQL's own cost, a C client: the
  most any export of these cells can reach);
- the export's chunks consumed in this process (``audit_log_export`` without HTTP).

Also printed: the CPU seconds the download cost the gunicorn worker, the PostgreSQL backend and the
client, and the load average before and after.

    .venv/bin/python bench/export_http.py [--db-name fleetadmin_bench_audit] [--rounds 2]
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _django import PG_SERVER, ROOT, free_port, load_average, parser, session_cookie, setup, start_gunicorn, stop

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def backends(database: str) -> list[int]:
    """The PostgreSQL backends serving ``database``, but this process's own."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database])
        return [pid for (pid,) in cursor.fetchall()]


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    args.keep = True  # the data is audit_log.py's: never drop it here
    url = setup(args, "fleetadmin_bench_audit")
    database = url.rsplit("/", 1)[-1]
    import requests
    from django.contrib.auth import get_user_model
    from django.db import connection
    from psycopg import ClientCursor

    from fleetadmin.audit import export
    from fleetadmin.audit.models import AuditEvent
    from fleetadmin.audit.query import AuditFilters
    from fleetadmin.core.actors import SYSTEM
    from fleetadmin.fleet.models import Organization

    organization = Organization.objects.filter(name__startswith="Scale Org").order_by("name").first()
    owner = get_user_model().objects.get(email="bench-audit@example.com")  # made by audit_log.py
    cookie = session_cookie(owner)
    total = AuditEvent.objects.filter(organization=organization).count()
    queryset = AuditEvent.objects.filter(organization=organization).order_by("-id").values_list(*export._PG_CSV_COLUMNS)
    sql, params = queryset.query.sql_with_params()
    connection.ensure_connection()
    copy_sql = f"COPY ({ClientCursor(connection.connection).mogrify(sql, params)}) TO STDOUT WITH (FORMAT csv)"

    def raw_copy() -> float:
        began = time.perf_counter()
        subprocess.run(["psql", "-X", "-q", "-o", "/dev/null", "-c", copy_sql, f"{PG_SERVER}/{database}"], check=True)
        return total / (time.perf_counter() - began)

    def in_process() -> float:
        began, size = time.perf_counter(), 0
        result = export.audit_log_export(actor=SYSTEM, organization=organization, filters=AuditFilters(), fmt="csv")
        for chunk in result.chunks:
            size += len(chunk)
        return total / (time.perf_counter() - began)

    port = free_port()
    server = start_gunicorn(port, log=str(Path(tempfile.gettempdir()) / "fleetadmin-bench-export-gunicorn.log"))
    path = Path(tempfile.gettempdir()) / "fleetadmin-bench-export.csv"

    def over_http() -> tuple[float, dict[str, float], str]:
        workers = children(server.pid)
        before = {pid: cpu_seconds(pid) for pid in workers + backends(database)}
        client_before = time.process_time()
        began = time.perf_counter()
        with (
            requests.get(
                f"http://127.0.0.1:{port}/orgs/{organization.pk}/audit/export.csv",
                cookies={"sessionid": cookie},
                stream=True,
                timeout=600,
            ) as response,
            path.open("wb") as out,
        ):
            assert response.status_code == 200, response.status_code
            for chunk in response.iter_content(1 << 20):
                out.write(chunk)
        elapsed = time.perf_counter() - began
        cpu = {"client": time.process_time() - client_before, "gunicorn worker": 0.0, "PostgreSQL backend": 0.0}
        for pid in workers:
            cpu["gunicorn worker"] += cpu_seconds(pid) - before.get(pid, 0.0)
        for pid in backends(database):
            cpu["PostgreSQL backend"] += cpu_seconds(pid) - before.get(pid, 0.0)
        check = subprocess.run(
            [sys.executable, "manage.py", "audit_export_verify", str(path)], cwd=ROOT, capture_output=True, text=True
        )
        with path.open("rb") as f:
            f.seek(-200, os.SEEK_END)
            trailer = f.read().decode().strip().splitlines()[-1]
        verdict = f"{trailer}; audit_export_verify exit {check.returncode}: {(check.stdout + check.stderr).strip()}"
        path.unlink()
        if check.returncode:
            raise SystemExit(f"the download is not complete: {verdict}")
        return total / elapsed, cpu, verdict

    print(f"database: {database}; {total:,} events; load average before: {load_average()}")
    figures: dict[str, list[float]] = {"HTTP": [], "raw COPY (psql)": [], "in-process": []}
    try:
        for n in range(args.rounds):
            figures["raw COPY (psql)"].append(raw_copy())
            rate, cpu, verdict = over_http()
            figures["HTTP"].append(rate)
            figures["in-process"].append(in_process())
            print(
                f"round {n + 1}: HTTP {rate:,.0f} rows/s, raw COPY {figures['raw COPY (psql)'][-1]:,.0f},"
                f" in-process {figures['in-process'][-1]:,.0f} (load {load_average()})"
            )
            print("  CPU seconds of the download: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()))
            print(f"  {verdict}")
    finally:
        stop(server)
    print()
    for label, rates in figures.items():
        print(f"{label:<16} best {max(rates):9,.0f} rows/s, rounds: {', '.join(f'{r:,.0f}' for r in rates)}")
    rounds = zip(figures["HTTP"], figures["raw COPY (psql)"], figures["in-process"], strict=True)
    for n, (http, copy, inproc) in enumerate(rounds):
        print(f"round {n + 1}: HTTP / raw COPY {http / copy:.2f}, HTTP / in-process {http / inproc:.2f}")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
