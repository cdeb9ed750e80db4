"""Concurrent charges on one billing organization take consecutive invoice numbers, with no gap and no duplicate.

Runs on SQLite and PostgreSQL alike: each thread has its own database connection
(closed when it finishes) and charges in its own transaction. The charge locks the
billing service row (SELECT ... FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE
transactions take the write lock up front), so the numbers are handed out in turn.

On SQLite the test database lives in memory in shared-cache mode, where a connection
that meets another's lock is refused at once ("database table is locked") instead of
waiting out the busy timeout as a file database does. There, and only there, a thread
retries a refused charge, which is what the busy timeout does for it in production.
On PostgreSQL any error fails the test.
"""

import threading
import time

import pytest
from django.db import OperationalError, connection

from fleetadmin.audit.models import AuditEvent
from fleetadmin.billing import services
from fleetadmin.billing.models import BillingService, Invoice
from fleetadmin.core.actors import SYSTEM
from tests.billing.conftest import SEED_ADDRESS
from tests.factories import OrganizationFactory

THREADS = 8
CHARGES_PER_THREAD = 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_charges_get_consecutive_numbers(flushable_audit):
    biller = OrganizationFactory(name="Concurrent Biller")
    services.billing_service_enable(actor=SYSTEM, organization=biller, address=SEED_ADDRESS)
    customers = [OrganizationFactory(name=f"Customer {i}") for i in range(THREADS)]
    for customer in customers:
        services.customer_attach(actor=SYSTEM, billing_organization=biller, customer_id=customer.pk)

    start = threading.Barrier(THREADS)
    numbers: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def charge(customer, i):
        deadline = time.monotonic() + 60
        while True:
            try:
                return services.invoice_create(
                    actor=SYSTEM,
                    billing_organization=biller,
                    customer=customer,
                    description=f"charge {i}",
                    subtotal="10.00",
                    tax="0.80",
                )
            except OperationalError as error:
                if connection.vendor != "sqlite" or "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.002)

    def work(customer):
        try:
            start.wait(timeout=30)
            for i in range(CHARGES_PER_THREAD):
                invoice = charge(customer, i)
                with lock:
                    numbers.append(invoice.number)
        except BaseException as error:  # reported below, in the test's thread
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(customer,)) for customer in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    total = THREADS * CHARGES_PER_THREAD
    assert sorted(numbers) == list(range(1, total + 1))
    stored = list(
        Invoice.objects.filter(billing_organization=biller).order_by("number").values_list("number", flat=True)
    )
    assert stored == list(range(1, total + 1))
    assert BillingService.objects.get(organization=biller).next_invoice_number == total + 1
    assert AuditEvent.objects.filter(organization=biller, action="billing.invoice.create").count() == total
