"""A whole audit-log CSV export over HTTP from gunicorn run as the README's "Production" section says.

Reuses bench/audit_log.py's data (run that first with ``--keep``: one organization with 1,000,000
events), starts gunicorn with the production options (gthread, --timeout 30) on 127.0.0.1, downloads
/orgs/<id>/audit/export.csv with a signed-in session, then checks the file with
``manage.py audit_export_verify`` (trailer line: row count and SHA-256) and prints rows/s.

    .venv/bin/python bench/export_http.py [--db-name fleetadmin_bench_audit]
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _django import ROOT, free_port, parser, session_cookie, setup, start_gunicorn, stop


def main() -> None:
    p = parser(__doc__)
    args = p.parse_args()
    args.keep = True  # the data is audit_log.py's: never drop it here
    setup(args, "fleetadmin_bench_audit")
    import requests
    from django.contrib.auth import get_user_model

    from fleetadmin.fleet.models import Organization

    organization = Organization.objects.filter(name__startswith="Scale Org").order_by("name").first()
    owner = get_user_model().objects.get(email="bench-audit@example.com")  # made by audit_log.py
    cookie = session_cookie(owner)
    port = free_port()
    server = start_gunicorn(port, log=str(Path(tempfile.gettempdir()) / "fleetadmin-bench-export-gunicorn.log"))
    path = Path(tempfile.gettempdir()) / "fleetadmin-bench-export.csv"
    try:
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
            size = 0
            for chunk in response.iter_content(1 << 20):
                out.write(chunk)
                size += len(chunk)
        elapsed = time.perf_counter() - began
    finally:
        stop(server)
    check = subprocess.run(
        [sys.executable, "manage.py", "audit_export_verify", str(path)], cwd=ROOT, capture_output=True, text=True
    )
    with path.open("rb") as f:
        rows = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b"")) - 2  # header, trailer
        f.seek(max(size - 200, 0))
        trailer = f.read().decode().strip().splitlines()[-1]
    print(f"HTTP export: {size / 1e6:.0f} MB, {rows:,} rows in {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s")
    print(f"last line: {trailer}")
    print(f"audit_export_verify: exit {check.returncode}: {(check.stdout + check.stderr).strip()}")
    path.unlink()
    sys.exit(check.returncode)


if __name__ == "__main__":
    main()
