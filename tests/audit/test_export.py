"""Export of the current filter: streamed CSV and JSON lines, named after the filter, audited, constant memory."""

import csv
import io
import json
import re
import tracemalloc

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fleetadmin.audit import selectors
from fleetadmin.audit.models import AuditEvent
from fleetadmin.audit.query import AuditFilters, parse_query
from fleetadmin.core.actors import SYSTEM
from fleetadmin.fleet import services
from tests.audit.conftest import bulk_chain, export_url, record_event

pytestmark = pytest.mark.django_db

CSV_HEADER = (
    "id,created_at,actor_type,actor_id,actor_name,action,target_type,target_id,target_name,"
    "ticket,request_id,ip,user_agent,changes,prev_hash,hash"
)
COLUMNS = CSV_HEADER.split(",")


@pytest.fixture
def events(fleet, audit_clock):
    """Machine and location events by two actors, and one support look with a ticket."""
    services.machine_rename(actor=fleet.owner, machine=fleet.arm, name="arm-02")
    services.location_rename(actor=fleet.owner, location=fleet.warehouse, name='Depot, "North"')
    services.machine_create(actor=fleet.location_owner, location=fleet.line_a, name="arm-03")
    record_event(fleet.org, action="support.organization.view", ticket="SUP-9")
    services.machine_rename(actor=SYSTEM, machine=fleet.forklift, name="forklift, the 2nd")
    return list(AuditEvent.objects.filter(organization=fleet.org).order_by("-id"))


def body(response) -> str:
    assert response.streaming is True
    return b"".join(response.streaming_content).decode("utf-8")


def csv_rows(response) -> list[dict]:
    text = body(response)
    assert text.splitlines()[0] == CSV_HEADER
    return list(csv.DictReader(io.StringIO(text)))


def filename(response) -> str:
    match = re.fullmatch(r'attachment; filename="([^"]+)"', response["Content-Disposition"])
    assert match, response["Content-Disposition"]
    return match.group(1)


def test_csv_export_streams_exactly_the_filtered_events_newest_first(fleet, events, client_for):
    response = client_for(fleet.operator).get(export_url(fleet.org, "csv"), {"q": "action:fleet.machine."})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Cache-Control"] == "no-store"
    assert re.fullmatch(
        rf"audit-{fleet.org.pk}-action=fleet\.machine\.-\d{{4}}-\d{{2}}-\d{{2}}\.csv", filename(response)
    )
    rows = csv_rows(response)
    expected = [e for e in events if e.action.startswith("fleet.machine.")]
    assert [int(row["id"]) for row in rows] == [e.pk for e in expected]
    assert len(rows) == 3
    first, event = rows[0], expected[0]
    assert first == {
        "id": str(event.pk),
        "created_at": event.created_at.isoformat(),
        "actor_type": "system",
        "actor_id": "",
        "actor_name": "system",
        "action": "fleet.machine.rename",
        "target_type": "fleet.machine",
        "target_id": str(fleet.forklift.pk),
        "target_name": "forklift, the 2nd",
        "ticket": "",
        "request_id": "",
        "ip": "",
        "user_agent": "",
        "changes": '{"after": {"name": "forklift, the 2nd"}, "before": {"name": "forklift-01"}}',
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def test_jsonl_export_has_one_object_per_event(fleet, events, client_for):
    response = client_for(fleet.owner).get(
        export_url(fleet.org, "jsonl"), {"q": f"actor:{fleet.owner.email} type:fleet.location"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    assert filename(response).endswith(".jsonl")
    assert f"-actor={fleet.owner.email.replace('@', '_')}_type=fleet.location-" in filename(response)
    text = body(response)
    assert text.endswith("\n")
    lines = [json.loads(line) for line in text.splitlines()]
    (event,) = [e for e in events if e.action == "fleet.location.rename"]
    assert lines == [
        {
            "id": event.pk,
            "created_at": event.created_at.isoformat(),
            "actor_type": "user",
            "actor_id": str(fleet.owner.pk),
            "actor_name": fleet.owner.email,
            "action": "fleet.location.rename",
            "target_type": "fleet.location",
            "target_id": str(fleet.warehouse.pk),
            "target_name": 'Depot, "North"',
            "ticket": "",
            "request_id": "",
            "ip": None,
            "user_agent": "",
            "changes": {"before": {"name": "Warehouse"}, "after": {"name": 'Depot, "North"'}},
            "prev_hash": event.prev_hash,
            "hash": event.hash,
        }
    ]


def test_export_writes_one_audit_event_with_the_filter(fleet, events, client_for):
    before = AuditEvent.objects.count()
    response = client_for(fleet.operator).get(export_url(fleet.org, "csv"), {"q": "ticket:SUP-9"})
    assert [row["ticket"] for row in csv_rows(response)] == ["SUP-9"]
    assert AuditEvent.objects.count() == before + 1
    export = AuditEvent.objects.get(action="audit.log.export")
    assert export.organization_id == fleet.org.pk
    assert (export.actor_type, export.actor_id, export.actor_name) == (
        "user",
        str(fleet.operator.pk),
        fleet.operator.email,
    )
    assert export.changes == {"after": {"format": "csv", "filter": "ticket:SUP-9"}}
    assert export.request_id  # the export request's id


def test_export_takes_the_filter_form_fields_too(fleet, events, client_for):
    response = client_for(fleet.owner).get(
        export_url(fleet.org, "jsonl"), {"q": "action:fleet.", "actor": fleet.location_owner.email}
    )
    lines = [json.loads(line) for line in body(response).splitlines()]
    assert [line["action"] for line in lines] == ["fleet.machine.create"]
    export = AuditEvent.objects.get(action="audit.log.export")
    assert export.changes == {
        "after": {"format": "jsonl", "filter": f"actor:{fleet.location_owner.email} action:fleet."}
    }


def test_unfiltered_export_is_named_all_and_includes_everything(fleet, events, client_for):
    response = client_for(fleet.owner).get(export_url(fleet.org, "csv"))
    assert re.fullmatch(rf"audit-{fleet.org.pk}-all-\d{{4}}-\d{{2}}-\d{{2}}\.csv", filename(response))
    export = AuditEvent.objects.get(action="audit.log.export")
    assert [int(row["id"]) for row in csv_rows(response)] == [export.pk, *(e.pk for e in events)]


def test_the_file_name_stays_safe_whatever_the_filter(fleet, events, client_for):
    response = client_for(fleet.owner).get(export_url(fleet.org, "csv"), {"q": 'actor:"Jane \\"J\\" Doe" ticket:a/b'})
    assert response.status_code == 200
    name = filename(response)
    assert re.fullmatch(r"[A-Za-z0-9._=-]+", name), name
    assert csv_rows(response) == []


def test_an_unknown_format_is_404_and_not_audited(fleet, events, client_for):
    for fmt in ("xml", "json", "CSV"):
        assert client_for(fleet.owner).get(export_url(fleet.org, fmt)).status_code == 404
    assert not AuditEvent.objects.filter(action="audit.log.export").exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [("operator", 200), ("owner", 200), ("location_owner", 403), ("outsider", 404), ("anonymous", 302)],
)
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_who_may_export(fleet, events, client_for, who, status, fmt):
    user = None if who == "anonymous" else getattr(fleet, who)
    response = client_for(user).get(export_url(fleet.org, fmt), {"q": "action:fleet."})
    assert response.status_code == status
    exported = AuditEvent.objects.filter(action="audit.log.export")
    if status == 200:
        assert exported.get().actor_id == str(user.pk)
    else:
        assert not exported.exists()
        assert not getattr(response, "streaming", False)
    if who == "anonymous":
        assert response["Location"].startswith("/accounts/sign-in/?next=")


# ---- constant memory ----------------------------------------------------------------------------------


def peak_while_consuming(organization, filters) -> tuple[int, int]:
    """(events seen, peak traced bytes) while walking iter_events without keeping the rows."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline, _ = tracemalloc.get_traced_memory()
        seen = 0
        for _event in selectors.iter_events(organization, filters):
            seen += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return seen, peak - baseline


def test_iter_events_memory_does_not_grow_with_the_number_of_events(fleet, audit_clock):
    globex = fleet.outsider.memberships.get().organization
    bulk_chain(fleet.org, 3000)
    bulk_chain(globex, 12000)
    small_seen, small_peak = peak_while_consuming(fleet.org, AuditFilters())
    large_seen, large_peak = peak_while_consuming(globex, AuditFilters())
    assert (small_seen, large_seen) == (3000, 12000)
    # Fixed-size chunks: four times the events, about the same peak (measured: x1.3, since the
    # 3000-event walk never holds two full chunks at once); a list of everything would need four times as much.
    assert large_peak < 1.6 * small_peak, (small_peak, large_peak)


def test_iter_events_reads_in_keyset_chunks(fleet, audit_clock):
    bulk_chain(fleet.org, 4500)
    with CaptureQueriesContext(connection) as captured:
        ids = [event.pk for event in selectors.iter_events(fleet.org, parse_query("action:test.bulk."))]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4500
    sql = [query["sql"].upper() for query in captured.captured_queries]
    assert len(sql) == 3
    assert all("LIMIT 2000" in s and "OFFSET" not in s and "COUNT(" not in s for s in sql)
    assert '"ID" <' not in sql[0] and all('"ID" <' in s for s in sql[1:])


def test_the_export_view_streams_in_chunks(fleet, audit_clock, client_for):
    bulk_chain(fleet.org, 4001)
    response = client_for(fleet.owner).get(export_url(fleet.org, "jsonl"), {"q": "action:test.bulk."})
    with CaptureQueriesContext(connection) as captured:
        seen = sum(1 for _line in response.streaming_content)
    assert seen == 4001
    chunked = [q["sql"] for q in captured.captured_queries if "LIMIT 2000" in q["sql"].upper()]
    assert len(chunked) == len(captured.captured_queries) == 3
