"""Backup and restore (README, "Operations"): back up the seeded database, restore it into a new one, and
``audit_verify`` passes on the copy with the same events.

PostgreSQL: /usr/bin/pg_dump --format=custom, then pg_restore into a database created for it (dropped
after). SQLite: the online backup API (what ``sqlite3 db.sqlite3 ".backup copy.sqlite3"`` uses) into a
new file.
"""

from __future__ import annotations

import sqlite3
import subprocess
import urllib.parse

import pytest

from tests.ops.conftest import IS_POSTGRES, OpsDatabase, base_env, pg_create, pg_drop, run_manage, with_dbname

pytestmark = pytest.mark.django_db(databases=[])

COUNT_EVENTS = (
    "import json; from fleetadmin.audit.models import AuditEvent; "
    "head = list(AuditEvent.objects.order_by('-id').values_list('hash', flat=True)[:1]); "
    "print(json.dumps([AuditEvent.objects.count(), head]))"
)


def _pg_args(url: str) -> list[str]:
    parts = urllib.parse.urlsplit(url)
    args = ["--host", parts.hostname or "127.0.0.1", "--port", str(parts.port or 5432)]
    if parts.username:
        args += ["--username", urllib.parse.unquote(parts.username)]
    return args


def test_backup_restores_into_a_new_database_whose_audit_chains_verify(ops_db: OpsDatabase, tmp_path):
    original = ops_db.query(COUNT_EVENTS)
    assert original[0] > 0  # seed_demo wrote audited changes
    restored_name = ops_db.url.rsplit("/", 1)[1] + "_restored"
    if IS_POSTGRES:
        env = {"PATH": "/usr/bin:/bin"}
        parts = urllib.parse.urlsplit(ops_db.url)
        if parts.password:
            env["PGPASSWORD"] = urllib.parse.unquote(parts.password)
        dump = tmp_path / "fleetadmin.dump"
        name = parts.path.lstrip("/")
        subprocess.run(
            ["/usr/bin/pg_dump", *_pg_args(ops_db.url), "--format=custom", "--file", str(dump), name],
            env=env,
            check=True,
            capture_output=True,
        )
        restored_url = with_dbname(ops_db.url, restored_name)
        pg_create(ops_db.url, restored_name)
        try:
            subprocess.run(
                [
                    "/usr/bin/pg_restore",
                    *_pg_args(ops_db.url),
                    "--no-owner",
                    "--exit-on-error",
                    "-d",
                    restored_name,
                    str(dump),
                ],
                env=env,
                check=True,
                capture_output=True,
            )
            _verify_copy(restored_url, tmp_path, original)
        finally:
            pg_drop(ops_db.url, restored_name)
    else:
        copy = tmp_path / "restored.sqlite3"
        source = sqlite3.connect(ops_db.url.removeprefix("sqlite:///"))
        target = sqlite3.connect(copy)
        with target:
            source.backup(target)
        source.close()
        target.close()
        _verify_copy(f"sqlite:///{copy}", tmp_path, original)


def _verify_copy(url: str, tmp_path, original) -> None:
    env = base_env(url, tmp_path)
    copy = OpsDatabase(url=url, env=env, workdir=tmp_path)
    assert copy.query(COUNT_EVENTS) == original  # same events, same chain head (before audit_verify records its own)
    result = run_manage(env, "audit_verify", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"audit_verify: OK, verified {original[0]} events" in result.stdout
    migrations = run_manage(env, "migrate", "--check", check=False)
    assert migrations.returncode == 0, migrations.stdout + migrations.stderr
