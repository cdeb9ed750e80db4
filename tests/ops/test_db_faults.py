"""Database faults against a real gunicorn: the connection lost mid-request, a worker killed mid-write.

PostgreSQL: the test holds the organization's row lock (the audit chain's lock) from its own connection,
so the portal's request stops inside its transaction, after the new key's INSERT and before the audit
event. Then the test terminates that backend (pg_terminate_backend) or SIGKILLs the gunicorn worker.
SQLite has no server connection to lose; its equivalent of "the database stops answering mid-request"
is the write lock held elsewhere beyond the busy timeout ("database is locked", an OperationalError),
and a worker killed while it waits for that lock.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import uuid
from contextlib import contextmanager

import pytest

from tests.ops.conftest import IS_POSTGRES, pg_connect_kwargs, wait_until

pytestmark = pytest.mark.django_db(databases=[])  # nothing in-process; the portal has its own database


def _key_headers(ops_db) -> dict[str, str]:
    return {"Authorization": f"ApiKey {ops_db.key_id}:{ops_db.key_value}"}


def _keys_named(ops_db, name: str) -> int:
    return ops_db.query(
        "import json; from fleetadmin.keys.models import ApiKey; "
        f"print(json.dumps(ApiKey.objects.filter(name={name!r}).count()))"
    )


def _events_naming(ops_db, name: str) -> int:
    return ops_db.query(
        "import json; from fleetadmin.audit.models import AuditEvent; "
        f"print(json.dumps(AuditEvent.objects.filter(target_name__contains={name!r}).count()))"
    )


def _assert_chains_verify(ops_db) -> None:
    result = ops_db.manage("audit_verify", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "audit_verify: OK" in result.stdout


class Background:
    """One HTTP request in a thread, because the portal is made to stop in the middle of it."""

    def __init__(self, call):
        self.result = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self.thread.start()

    def _run(self, call):
        try:
            self.result = call()
        except BaseException as error:  # the worker killed under it: the connection resets
            self.error = error

    def join(self, timeout: float = 60) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the request never finished"


@contextmanager
def organization_locked(ops_db):
    """Hold what the portal's write must wait for; yield a function telling whether it is waiting, and its pid."""
    if IS_POSTGRES:
        import psycopg

        kwargs = pg_connect_kwargs(ops_db.url)
        holder = psycopg.connect(**{**kwargs, "autocommit": False})
        watcher = psycopg.connect(**kwargs)
        holder.execute("SELECT 1 FROM fleet_organization WHERE id = %s FOR UPDATE", [uuid.UUID(ops_db.org_id)])

        def waiting_backend() -> int | None:
            row = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
                "AND pid <> pg_backend_pid()"
            ).fetchone()
            return row[0] if row else None

        def holds_new_key_row(pid: int) -> bool:
            # The waiting transaction has already written the key: it holds RowExclusiveLock on keys_apikey.
            return bool(
                watcher.execute(
                    "SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE l.pid = %s AND c.relname = 'keys_apikey' AND l.mode = 'RowExclusiveLock'",
                    [pid],
                ).fetchone()
            )

        try:
            yield waiting_backend, holds_new_key_row, watcher
        finally:
            holder.rollback()
            holder.close()
            watcher.close()
    else:
        holder = sqlite3.connect(ops_db.url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the write lock the portal's IMMEDIATE transaction needs
        try:
            yield None, None, None
        finally:
            holder.execute("ROLLBACK")
            holder.close()


@contextmanager
def key_creation_stopped_mid_write(ops_db, portal, name: str):
    """POST a new key and hold it inside its transaction: yield (the request, its backend pid, a watcher connection).

    On PostgreSQL the request is waiting after the key's INSERT and before its audit event; on SQLite it is
    waiting for the write lock (SQLite shows no waiters, so pid and watcher are None there).
    """
    path = f"/api/v1/organizations/{ops_db.org_id}/api-keys"
    with organization_locked(ops_db) as (waiting_backend, holds_new_key_row, watcher):
        request = Background(lambda: portal.request("POST", path, {"name": name}, _key_headers(ops_db)))
        pid = None
        if IS_POSTGRES:
            wait_until(lambda: waiting_backend() is not None, 30, "the portal's transaction to wait for the lock")
            pid = waiting_backend()
            assert holds_new_key_row(pid), "the request should be stopped after writing the key, before its audit"
        yield request, pid, watcher


def test_database_lost_mid_request_answers_503_writes_nothing_and_the_next_request_recovers(ops_db, start_portal):
    env = dict(ops_db.env)
    if not IS_POSTGRES:
        env["DATABASE_URL"] = ops_db.url + "?timeout=1"  # give up on the lock after a second, not twenty
    portal = start_portal(env, workers=1)
    worker = portal.worker_pids()
    name = f"lost-connection-{uuid.uuid4().hex[:8]}"
    path = f"/api/v1/organizations/{ops_db.org_id}/api-keys"

    with key_creation_stopped_mid_write(ops_db, portal, name) as (request, pid, watcher):
        if IS_POSTGRES:
            watcher.execute("SELECT pg_terminate_backend(%s)", [pid])
        request.join()

    assert request.error is None, repr(request.error)
    status, headers, body = request.result
    assert status == 503, body
    assert headers["Content-Type"] == "application/json"
    assert headers["Retry-After"] == "5"
    error = json.loads(body)["error"]
    assert error["code"] == "database_unavailable"
    assert "Traceback" not in body.decode() and "postgres" not in body.decode().lower()
    assert _keys_named(ops_db, name) == 0  # nothing half-written
    assert _events_naming(ops_db, name) == 0

    status, _, body = portal.request("POST", path, {"name": name + "-after"}, _key_headers(ops_db))
    assert status == 201, body  # the same worker reconnected
    assert portal.worker_pids() == worker
    assert _keys_named(ops_db, name + "-after") == 1
    assert "database unavailable during POST" in portal.log_text()
    _assert_chains_verify(ops_db)


def test_worker_killed_mid_write_rolls_back_and_the_audit_chain_verifies(ops_db, start_portal):
    portal = start_portal(dict(ops_db.env), workers=1)
    [worker] = portal.worker_pids()
    name = f"killed-worker-{uuid.uuid4().hex[:8]}"
    path = f"/api/v1/organizations/{ops_db.org_id}/api-keys"

    with key_creation_stopped_mid_write(ops_db, portal, name) as (request, pid, _watcher):
        if not IS_POSTGRES:
            # SQLite shows no waiters: give the request two seconds to reach the lock (it needs milliseconds)
            # and check that it is still unanswered, i.e. waiting for the write lock (busy timeout 20 s).
            request.thread.join(2)
            assert request.thread.is_alive(), request.result
        os.kill(worker, signal.SIGKILL)
        request.join()
        assert request.result is None or request.result[0] >= 500, request.result  # never a success
    if IS_POSTGRES:
        import psycopg

        with psycopg.connect(**pg_connect_kwargs(ops_db.url)) as conn:
            # The killed worker's backend notices the closed socket once it has the lock, and aborts.
            wait_until(
                lambda: conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone() is None,
                30,
                "the killed worker's backend to end",
            )

    assert _keys_named(ops_db, name) == 0
    assert _events_naming(ops_db, name) == 0
    _assert_chains_verify(ops_db)
    wait_until(lambda: bool(portal.worker_pids()) and portal.worker_pids() != [worker], 30, "a replacement worker")
    status, _, body = portal.request("POST", path, {"name": name + "-after"}, _key_headers(ops_db))
    assert status == 201, body
    _assert_chains_verify(ops_db)
