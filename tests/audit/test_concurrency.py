"""Several writers in one organization at once keep one valid chain (PostgreSQL row lock; SQLite's IMMEDIATE writes)."""

import sqlite3
import threading
from collections.abc import Callable, Iterator

import pytest
from django.db import connection, transaction

from fleetadmin import audit
from fleetadmin.audit.integrity import verify_chain
from fleetadmin.audit.models import AuditEvent
from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet import services
from tests.factories import OrganizationFactory

THREADS = 6
EVENTS_PER_THREAD = 25


@pytest.fixture
def threads_database(flushable_events, tmp_path) -> Iterator[None]:
    """Where the threads below connect: the test database, or on SQLite a file copy of it.

    SQLite's in-memory test database (shared cache) answers a second writer with "database table
    is locked" at once, where a file database waits for the lock (the 20 s busy timeout); the file
    copy, opened with the project's own OPTIONS (transaction_mode IMMEDIATE), is what production has.
    """
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield
        return
    path = tmp_path / "threads.sqlite3"
    connection.ensure_connection()
    copy = sqlite3.connect(path)
    connection.connection.backup(copy)
    copy.close()
    settings_dict = connection.settings_dict  # the dict every new (per-thread) connection is built from
    in_memory_name = settings_dict["NAME"]
    settings_dict["NAME"] = str(path)
    try:
        yield
    finally:
        settings_dict["NAME"] = in_memory_name


def in_thread(function: Callable):
    """Run function in a new thread (on its own connection, like the writers) and return what it returns."""
    results, errors = [], []

    def work() -> None:
        try:
            results.append(function())
        except BaseException as exc:  # re-raised below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results[0]


def run_writers(target, n_threads: int) -> list[BaseException]:
    """Start n threads together (each with its own connection, closed at the end); the exceptions they raised."""
    start = threading.Barrier(n_threads)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            start.wait(timeout=30)
            target(index)
        except BaseException as exc:  # reported to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a writer is stuck"
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_valid_chain(threads_database):
    organization, other = in_thread(
        lambda: (OrganizationFactory(name="Busy Robotics"), OrganizationFactory(name="Quiet Robotics"))
    )

    def write(index: int) -> None:
        for i in range(EVENTS_PER_THREAD):
            with transaction.atomic():
                audit.record(
                    actor=SYSTEM,
                    action="test.thing.touch",
                    organization=organization if i % 5 else other if index % 2 else organization,
                    changes={"after": {"writer": index, "n": i}},
                )

    assert run_writers(write, THREADS) == []

    events, others, results = in_thread(
        lambda: (
            list(AuditEvent.objects.filter(organization=organization).order_by("id")),
            list(AuditEvent.objects.filter(organization=other).order_by("id")),
            (verify_chain(organization.pk), verify_chain(other.pk)),
        )
    )
    writers_to_other = THREADS // 2  # odd-numbered writers send every fifth event to the other organization
    assert len(others) == writers_to_other * (EVENTS_PER_THREAD // 5)
    assert len(events) == THREADS * EVENTS_PER_THREAD - len(others)
    assert sorted((e.changes["after"]["writer"], e.changes["after"]["n"]) for e in events + others) == [
        (w, n) for w in range(THREADS) for n in range(EVENTS_PER_THREAD)
    ]
    for chain in (events, others):
        prev_hashes = [e.prev_hash for e in chain]
        assert len(set(prev_hashes)) == len(prev_hashes), "two events claim the same predecessor: the chain forked"
        assert prev_hashes[0] == ""
        assert [e.prev_hash for e in chain[1:]] == [e.hash for e in chain[:-1]]
    assert [(r.ok, r.events_checked) for r in results] == [(True, len(events)), (True, len(others))]


@pytest.mark.django_db(transaction=True)
def test_concurrent_service_calls_keep_one_valid_chain(threads_database):
    """The same through the fleet services: each thread creates and renames its own machines."""

    def setup():
        organization = services.organization_create(actor=SYSTEM, name="Busy Robotics")
        return organization, services.location_create(actor=SYSTEM, organization=organization, name="Hall")

    organization, location = in_thread(setup)

    def write(index: int) -> None:
        for i in range(5):
            machine = services.machine_create(actor=SYSTEM, location=location, name=f"bot-{index}-{i}")
            services.machine_rename(actor=SYSTEM, machine=machine, name=f"bot-{index}-{i}b")

    assert run_writers(write, 4) == []
    count, result = in_thread(
        lambda: (AuditEvent.objects.filter(organization=organization).count(), verify_chain(organization.pk))
    )
    assert count == 2 + 4 * 5 * 2
    assert (result.ok, result.events_checked) == (True, 42)
