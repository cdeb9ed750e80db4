"""Export of the current filter: streamed CSV and JSON lines, named after the filter, audited, constant memory."""

import csv
import hashlib
import io
import json
import re
import tracemalloc

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.db.models import BigIntegerField
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext

from fleetadmin.audit import export, selectors
from fleetadmin.audit.export import verify_export
from fleetadmin.audit.models import AuditEvent
from fleetadmin.audit.query import AuditFilters, parse_query
from fleetadmin.core.actors import SYSTEM, ActorIdentity
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


def raw(response) -> bytes:
    assert response.streaming is True
    return b"".join(response.streaming_content)


def body(response) -> str:
    """The export without its trailer line, which must be there and must match."""
    data = raw(response)
    check = verify_export(io.BytesIO(data))
    assert check.ok, check.message
    text = data.decode("utf-8")
    return text[: text.rstrip("\r\n").rfind("\n") + 1]


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


# ---- the trailer: a cut file is never mistaken for a whole one ---------------------------------------


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 1000)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_the_export_ends_with_its_row_count_and_digest(fleet, audit_clock, client_for, fmt):
    bulk_chain(fleet.org, 2500)
    data = raw(client_for(fleet.owner).get(export_url(fleet.org, fmt), {"q": "action:test.bulk."}))
    text = data.decode("utf-8")
    last = text.rstrip("\r\n").rsplit("\n", 1)[-1]
    digest = hashlib.sha256(data[: len(data) - len(last) - len(text) + len(text.rstrip("\r\n"))]).hexdigest()
    if fmt == "csv":
        assert text.endswith("\n")  # LF from PostgreSQL's COPY, CRLF from Python's writer
        assert last == f"# end of export: 2500 rows, sha256 {digest}"
        assert len(list(csv.DictReader(io.StringIO(text[: -len(last) - 2])))) == 2500
    else:
        assert json.loads(last) == {"_end": {"rows": 2500, "sha256": digest}}
        assert len(text.splitlines()) == 2501
    assert verify_export(io.BytesIO(data)).message == "Complete: 2500 rows; the SHA-256 matches the trailer."


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_empty_export_still_has_its_trailer(fleet, events, client_for, fmt):
    data = raw(client_for(fleet.owner).get(export_url(fleet.org, fmt), {"q": "ticket:NOPE-1"}))
    check = verify_export(io.BytesIO(data))
    assert (check.ok, check.rows) == (True, 0)
    assert data.splitlines()[-1].startswith(b"# end of export: 0 rows" if fmt == "csv" else b'{"_end": {"rows": 0')


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_cut_or_altered_export_is_detected(fleet, audit_clock, client_for, small_chunks, fmt):
    bulk_chain(fleet.org, 3500)
    response = client_for(fleet.owner).get(export_url(fleet.org, fmt), {"q": "action:test.bulk."})
    chunks = list(response.streaming_content)
    assert len(chunks) == (6 if fmt == "csv" else 5)  # [header], 4 chunks of rows, the trailer
    whole = b"".join(chunks)
    assert verify_export(io.BytesIO(whole)).ok
    line = whole.index(b"\n", len(whole) // 2) + 1
    cuts = {
        "at a chunk boundary (a worker killed between writes)": b"".join(chunks[:-2]),
        "before the trailer": b"".join(chunks[:-1]),
        "mid-line": whole[: len(whole) // 2],
        "mid-trailer": whole[:-30],
        "nothing": b"",
    }
    for how, data in cuts.items():
        check = verify_export(io.BytesIO(data))
        assert not check.ok, how
        assert check.message.startswith("Incomplete"), (how, check.message)
    next_line = whole.index(b"\n", line) + 1
    without_a_row = whole[:line] + whole[next_line:]
    assert verify_export(io.BytesIO(without_a_row)).message == (
        "Altered or incomplete: the SHA-256 of the rows does not match the trailer."
    )
    edited = whole.replace(b"test.bulk.touch", b"test.bulk.tauch", 1)
    assert not verify_export(io.BytesIO(edited)).ok


def test_a_failure_mid_stream_writes_no_trailer_and_ends_the_response(fleet, audit_clock):
    bulk_chain(fleet.org, 10)
    rows = next(export._text_rows(fleet.org, AuditFilters()))

    def failing():
        yield rows
        raise RuntimeError("connection lost")

    for render, marker in ((export._csv_chunks, b"# export failed after 10 rows"), (export._jsonl_chunks, b"_error")):
        stream, received = render(failing()), []
        with pytest.raises(RuntimeError, match="connection lost"):
            for chunk in stream:
                received.append(chunk)
        data = b"".join(received)
        assert marker in data.splitlines()[-1]
        assert not verify_export(io.BytesIO(data)).ok


def test_audit_export_verify_command(fleet, events, client_for, tmp_path):
    path = tmp_path / "audit.csv"
    path.write_bytes(raw(client_for(fleet.owner).get(export_url(fleet.org, "csv"))))
    out = io.StringIO()
    call_command("audit_export_verify", str(path), stdout=out)
    assert out.getvalue() == f"{path}: Complete: 6 rows; the SHA-256 matches the trailer.\n"
    path.write_bytes(path.read_bytes()[:-80])
    with pytest.raises(CommandError, match="Incomplete: the file does not end with its '# end of export' trailer"):
        call_command("audit_export_verify", str(path))


# ---- CSV formula injection (OWASP): cells a spreadsheet would evaluate get a leading apostrophe ----------


class NamedActor:
    def __init__(self, name):
        self.name = name

    def audit_identity(self):
        return ActorIdentity(type="user", id="hostile", name=self.name)


HOSTILE = ['=HYPERLINK("http://x","click")', "+1+1", "-2+3", "@SUM(1+1)", "\t=1+1", "\r=1+1"]


def test_csv_cells_that_would_run_as_formulas_are_prefixed_and_jsonl_keeps_them_exact(fleet, audit_clock, client_for):
    for name in HOSTILE:
        record_event(fleet.org, actor=NamedActor(name), action="test.hostile.touch", ticket=name[:64])
    record_event(fleet.org, actor=NamedActor("a=b, not a formula"), action="test.hostile.touch", ticket="SUP-1")
    owner = client_for(fleet.owner)
    owner.get(export_url(fleet.org, "csv"), HTTP_USER_AGENT='=HYPERLINK("http://x")')  # an audited export
    rows = csv_rows(owner.get(export_url(fleet.org, "csv"), {"q": "action:test.hostile."}))
    expected = ["a=b, not a formula", *(f"'{name}" for name in reversed(HOSTILE))]
    assert [row["actor_name"] for row in rows] == expected
    assert [row["ticket"] for row in rows] == ["SUP-1", *(f"'{name}" for name in reversed(HOSTILE))]
    first_export = csv_rows(owner.get(export_url(fleet.org, "csv"), {"q": "action:audit.log.export"}))[-1]
    assert first_export["user_agent"] == '\'=HYPERLINK("http://x")'
    lines = [
        json.loads(line) for line in body(owner.get(export_url(fleet.org, "jsonl"), {"q": "action:test."})).splitlines()
    ]
    assert [line["actor_name"] for line in lines] == ["a=b, not a formula", *reversed(HOSTILE)]
    assert export.csv_safe("=1") == "'=1" and export.csv_safe("1=1") == "1=1" and export.csv_safe("") == ""


# ---- constant memory ----------------------------------------------------------------------------------


def peak_while_consuming(organization) -> tuple[int, int]:
    """(bytes streamed, peak traced bytes) while streaming a CSV export without keeping it."""
    result = export.audit_log_export(actor=SYSTEM, organization=organization, filters=AuditFilters(), fmt="csv")
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline, _ = tracemalloc.get_traced_memory()
        size = sum(len(chunk) for chunk in result.chunks)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return size, peak - baseline


def test_export_memory_does_not_grow_with_the_number_of_events(fleet, audit_clock, small_chunks):
    globex = fleet.outsider.memberships.get().organization
    bulk_chain(fleet.org, 3000)
    bulk_chain(globex, 12000)
    small_size, small_peak = peak_while_consuming(fleet.org)
    large_size, large_peak = peak_while_consuming(globex)
    assert large_size > 3.9 * small_size
    # Fixed-size chunks: four times the events, about the same peak; a list of everything would need four times as much.
    assert large_peak < 1.6 * small_peak, (small_peak, large_peak)


def test_export_reads_in_keyset_chunks(fleet, audit_clock, small_chunks):
    bulk_chain(fleet.org, 4500)
    with CaptureQueriesContext(connection) as captured:
        chunks = list(selectors.event_row_chunks(fleet.org, parse_query("action:test.bulk."), columns=("id",)))
    ids = [pk for chunk in chunks for (pk,) in chunk]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4500
    assert [len(chunk) for chunk in chunks] == [1000, 1000, 1000, 1000, 500]
    sql = [query["sql"].upper() for query in captured.captured_queries]
    assert len(sql) == 5
    assert all("LIMIT 1000" in s and "OFFSET" not in s and "COUNT(" not in s for s in sql)
    assert '"ID" <' not in sql[0] and all('"ID" <' in s for s in sql[1:])


def test_the_export_view_streams_in_chunks(fleet, audit_clock, client_for, small_chunks):
    bulk_chain(fleet.org, 4001)
    response = client_for(fleet.owner).get(export_url(fleet.org, "jsonl"), {"q": "action:test.bulk."})
    with CaptureQueriesContext(connection) as captured:
        chunks = list(response.streaming_content)
    assert [chunk.count(b"\n") for chunk in chunks] == [1000, 1000, 1000, 1000, 1, 1]  # ..., the trailer
    chunked = [q["sql"] for q in captured.captured_queries if "LIMIT 1000" in q["sql"].upper()]
    assert len(chunked) == len(captured.captured_queries) == 5


# ---- the stream's database side: a failing query, a client that goes away ----------------------------


def test_a_database_error_mid_export_ends_the_file_with_the_failure_line(
    flushable_events, fleet, audit_clock, small_chunks, monkeypatch
):
    """The query fails half-way through the stream, after rows have gone out: the file ends with the
    failure line, the error propagates (so the server cuts the response), and the connection serves on.
    PostgreSQL: a division by zero at the middle row inside the COPY; SQLite: the chunk query interrupted."""
    bulk_chain(fleet.org, 3000)
    ids = sorted(AuditEvent.objects.filter(organization=fleet.org).values_list("id", flat=True))
    interrupt = {"armed": False}
    if connection.vendor == "postgresql":
        monkeypatch.setattr(export, "COPY_BLOCK", 4096)
        columns = list(export._PG_CSV_COLUMNS)
        columns[0] = RawSQL(
            "audit_auditevent.id / (audit_auditevent.id - %s)", [ids[1500]], output_field=BigIntegerField()
        )
        monkeypatch.setattr(export, "_PG_CSV_COLUMNS", columns)
        expected = psycopg.errors.DivisionByZero
        # The newest-first index scan, as on a real log: a sort would compute every row before sending one.
        with connection.cursor() as cursor:
            cursor.execute("SET enable_sort = off")
    else:
        connection.ensure_connection()
        connection.connection.set_progress_handler(lambda: 1 if interrupt["armed"] else 0, 100)
        expected = OperationalError
    stream = export.audit_log_export(actor=SYSTEM, organization=fleet.org, filters=AuditFilters(), fmt="csv").chunks
    received = []
    with pytest.raises(expected):
        for chunk in stream:
            received.append(chunk)
            interrupt["armed"] = len(received) >= 2  # the header, then one chunk of rows
    interrupt["armed"] = False
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_sort")
    else:
        connection.connection.set_progress_handler(None, 0)
    data = b"".join(received)
    last = data.splitlines()[-1].decode()
    failed_after = int(re.fullmatch(r"# export failed after (\d+) rows: this file is incomplete", last).group(1))
    assert 0 < failed_after < 3000
    assert data.count(b"\n") - 2 == failed_after  # header and failure line; bulk_chain's cells hold no line break
    assert not verify_export(io.BytesIO(data)).ok
    assert AuditEvent.objects.filter(organization=fleet.org, action="test.bulk.touch").count() == 3000


def test_a_client_that_goes_away_mid_export_leaves_the_connection_usable(
    flushable_events, fleet, audit_clock, small_chunks, monkeypatch
):
    """Closing the stream early (the WSGI server does when the client disconnects) stops the query,
    and the same connection then runs the next request's queries (CONN_MAX_AGE keeps it)."""
    bulk_chain(fleet.org, 3000)
    monkeypatch.setattr(export, "COPY_BLOCK", 4096)
    stream = export.audit_log_export(actor=SYSTEM, organization=fleet.org, filters=AuditFilters(), fmt="csv").chunks
    first = [next(stream) for _ in range(3)]
    assert sum(chunk.count(b"\n") for chunk in first) < 3000
    stream.close()
    assert connection.is_usable()
    assert AuditEvent.objects.filter(organization=fleet.org, action="test.bulk.touch").count() == 3000
    whole = b"".join(
        export.audit_log_export(actor=SYSTEM, organization=fleet.org, filters=AuditFilters(), fmt="csv").chunks
    )
    assert verify_export(io.BytesIO(whole)).ok
