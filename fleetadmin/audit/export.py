"""Export of the audit log as CSV or JSON lines: streamed, audited, and impossible to cut silently.

A stream can be cut after its ``200 OK`` has gone out (a worker killed by a timeout, a proxy
giving up, a dropped connection), and the part that arrived looks like a whole file. So every
export ends with a trailer that states the number of rows and the SHA-256 of every byte before
it; a file without that last line, or whose count or digest disagrees, is incomplete:

    CSV:   # end of export: 1000000 rows, sha256 5f1c...   (the last line)
    JSONL: {"_end": {"rows": 1000000, "sha256": "5f1c..."}}

``verify_export`` (and ``manage.py audit_export_verify FILE``) checks a downloaded file. If the
export fails on the server half-way, it writes an error line instead of the trailer and stops.

CSV cells that a spreadsheet would run as a formula (starting with ``= + - @``, a tab or a carriage
return) get a leading ``'`` (OWASP's advice on CSV injection); the JSON lines keep every value exact.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import select
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.db import connection, transaction
from django.db.models import TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from psycopg import ClientCursor, pq
from psycopg import errors as psycopg_errors

from fleetadmin import audit, clock
from fleetadmin.audit import selectors
from fleetadmin.audit.models import AuditEvent
from fleetadmin.audit.query import AuditFilters

EXPORT_COLUMNS = (
    "id",
    "created_at",
    "actor_type",
    "actor_id",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "target_name",
    "ticket",
    "request_id",
    "ip",
    "user_agent",
    "changes",
    "prev_hash",
    "hash",
)
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson; charset=utf-8",
}

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = "".join(FORMULA_PREFIXES)
_TEXT_COLUMNS = tuple(
    i
    for i, column in enumerate(EXPORT_COLUMNS)
    if column not in {"id", "created_at", "ip", "changes", "prev_hash", "hash"}
)
_CREATED = EXPORT_COLUMNS.index("created_at")
_CHANGES = EXPORT_COLUMNS.index("changes")
_CSV_TRAILER = re.compile(rb"# end of export: (\d+) rows, sha256 ([0-9a-f]{64})")
TRAILER_MAX = 200  # bytes; either trailer is shorter


def csv_safe(value: str) -> str:
    """A cell a spreadsheet shows as text, never evaluates: OWASP's leading apostrophe."""
    return "'" + value if value and value.startswith(FORMULA_PREFIXES) else value


@dataclass
class AuditExport:
    filename: str
    content_type: str
    chunks: Iterator[bytes]


def audit_log_export(*, actor, organization, filters: AuditFilters, fmt: str) -> AuditExport:
    """Record the export in the organization's log, then return its stream (newest event first).

    The caller has already authorized ``audit.view_log`` on the organization (the audit views do, through
    ``fleet.authz``): the audit app sits below ``fleet``, which writes to it, so it cannot import authz.
    """
    if fmt not in FORMATS:
        raise ValueError(f"The export format must be one of {', '.join(FORMATS)}; got {fmt!r}.")
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="audit.log.export",
            organization=organization,
            changes={"after": {"format": fmt, "filter": filters.to_query()}},
        )
    if fmt == "csv" and connection.vendor == "postgresql":
        body = _pg_copy_csv_chunks(organization, filters)
    else:
        rows = _text_rows(organization, filters)
        body = _csv_chunks(rows) if fmt == "csv" else _jsonl_chunks(rows)
    stamp = clock.now().date().isoformat()
    return AuditExport(
        filename=f"audit-{organization.pk}-{filters.slug()}-{stamp}.{fmt}",
        content_type=FORMATS[fmt],
        chunks=body,
    )


# On PostgreSQL the server writes the time (exactly as Python's isoformat() would, microseconds only
# when there are some) and the JSON text of the changes (jsonb's own key order), so no row builds a
# datetime or a dict in Python: most of the export's cost per row was parsing both, then printing them.
_ISO_UTC = 'YYYY-MM-DD"T"HH24:MI:SS{}"+00:00"'
_PG_CREATED = RawSQL(  # noqa: S611 (constant SQL, no input)
    "CASE WHEN date_trunc('second', audit_auditevent.created_at) = audit_auditevent.created_at"
    f" THEN to_char(audit_auditevent.created_at AT TIME ZONE 'UTC', '{_ISO_UTC.format('')}')"
    f" ELSE to_char(audit_auditevent.created_at AT TIME ZONE 'UTC', '{_ISO_UTC.format('.US')}') END",
    [],
    output_field=TextField(),
)


def _text_rows(organization, filters: AuditFilters) -> Iterator[list[tuple]]:
    """Chunks of rows in EXPORT_COLUMNS order, with created_at as ISO 8601 text and changes as JSON text."""
    if connection.vendor == "postgresql":
        columns = [
            _PG_CREATED if c == "created_at" else Cast("changes", TextField()) if c == "changes" else c
            for c in EXPORT_COLUMNS
        ]
        yield from selectors.event_row_chunks(organization, filters, columns=columns)
        return
    dumps = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode
    for rows in selectors.event_row_chunks(organization, filters, columns=EXPORT_COLUMNS):
        converted = []
        for row in rows:
            cells = list(row)
            cells[_CREATED] = cells[_CREATED].isoformat()
            cells[_CHANGES] = dumps(cells[_CHANGES])
            converted.append(cells)
        yield converted


def _formula_safe_sql(column: str) -> str:
    # ascii() is the first character's code point as an integer (0 for '', NULL for NULL): six integer
    # comparisons a cell, where left(cell, 1) IN ('=', ...) cut a substring and ran six text comparisons.
    quoted = f'audit_auditevent."{column}"'
    codes = ", ".join(str(ord(c)) for c in FORMULA_PREFIXES)
    return f"CASE WHEN ascii({quoted}) IN ({codes}) THEN '''' || {quoted} ELSE {quoted} END"


def _pg_csv_column(i: int, column: str):
    if column == "created_at":
        return _PG_CREATED
    if column == "changes":
        return Cast("changes", TextField())
    if column == "ip":
        return RawSQL("host(audit_auditevent.ip)", [], output_field=TextField())
    if i in _TEXT_COLUMNS:
        return RawSQL(_formula_safe_sql(column), [], output_field=TextField())  # noqa: S611 (constant names)
    return column


_PG_CSV_COLUMNS = [_pg_csv_column(i, column) for i, column in enumerate(EXPORT_COLUMNS)]
COPY_BLOCK = 256 * 1024  # bytes passed on at a time


def _pg_copy_csv_chunks(organization, filters: AuditFilters) -> Iterator[bytes]:
    """CSV written by PostgreSQL itself (``COPY (SELECT ...) TO STDOUT``): the same cells, the same
    formula escaping, several times the rate of formatting rows in Python.

    One statement reads the whole export from one snapshot; its rows arrive as they are produced
    and are passed on in blocks, so memory stays constant. PostgreSQL writes an empty string as
    ``""`` and only a NULL as nothing; both read back as an empty cell.
    """
    queryset = (
        filters.apply(AuditEvent.objects.filter(organization=organization))
        .order_by("-id")
        .values_list(*_PG_CSV_COLUMNS)
    )
    sql, params = queryset.query.sql_with_params()

    def texts():
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(EXPORT_COLUMNS)
        yield 0, buffer.getvalue()
        with connection.cursor() as wrapper:
            cursor = wrapper.cursor
            statement = ClientCursor(cursor.connection).mogrify(sql, params)
            with cursor.copy(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv)"):
                yield from _copy_out_blocks(cursor.connection)

    return _sealed(texts(), trailer=_csv_trailer, failure=_csv_failure)


def _copy_out_blocks(conn) -> Iterator[tuple[int, bytes]]:
    """The rows of a started ``COPY ... TO STDOUT`` as (row count, bytes) blocks of about COPY_BLOCK bytes.

    PostgreSQL sends one message per row. ``Copy.__iter__`` reads each through two Python generators
    and psycopg's wait loop, about 2 us of the web worker's CPU a row; here libpq hands over the rows
    already received in a tight loop (``PQgetCopyData``, non-blocking), and the thread sleeps in
    ``poll`` (the GIL released) only when none is buffered. At the end the final result is read, as
    psycopg would, so the connection is idle again and a failed COPY raises its error. If the stream
    is closed early (the client went away), psycopg's ``Copy`` block cancels the statement and drains
    what is left, as before: nothing here has read the end of the copy yet.
    """
    pgconn = conn.pgconn
    get, block, rows = pgconn.get_copy_data, bytearray(), 0
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN)
    while True:
        nbytes, data = get(1)
        if nbytes > 0:
            block += data
            rows += 1
            if len(block) >= COPY_BLOCK:
                yield rows, bytes(block)
                block.clear()
                rows = 0
        elif nbytes == 0:  # no whole row received yet
            poller.poll()
            pgconn.consume_input()
        else:  # -1: the copy is done; its result follows
            break
    results = []
    while True:
        while pgconn.is_busy():
            poller.poll()
            pgconn.consume_input()
        if (result := pgconn.get_result()) is None:
            break
        results.append(result)
    failed = [r for r in results if r.status != pq.ExecStatus.COMMAND_OK]
    if failed:
        raise psycopg_errors.error_from_result(failed[0], encoding=conn.info.encoding)
    yield rows, bytes(block)


def _csv_trailer(rows: int, sha: str) -> str:
    return f"# end of export: {rows} rows, sha256 {sha}\n"


def _csv_failure(rows: int) -> str:
    return f"# export failed after {rows} rows: this file is incomplete\n"


def _sealed(chunks: Iterable[tuple[int, str | bytes]], *, trailer, failure) -> Iterator[bytes]:
    """The chunks as bytes, counted and hashed on their way out, then the trailer."""
    count, digest = 0, hashlib.sha256()
    try:
        for rows, text in chunks:
            data = text if isinstance(text, bytes) else text.encode("utf-8")

            digest.update(data)
            count += rows
            yield data
    except Exception:
        # The client already has a 200: say in the file that it is incomplete, then let the
        # error end the response (and reach the log), so the connection is cut, not closed cleanly.
        yield failure(count).encode("utf-8")
        raise
    yield trailer(count, digest.hexdigest()).encode("utf-8")


def _csv_chunks(row_chunks: Iterator[list[tuple]]) -> Iterator[bytes]:
    def texts():
        # RFC 4180's CRLF: Python's writer quotes a cell holding a CR only if CR ends its lines.
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        yield 0, buffer.getvalue()
        for rows in row_chunks:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            out = []
            for row in rows:
                cells = list(row)
                for i in _TEXT_COLUMNS:
                    value = cells[i]
                    if value and value[0] in _FORMULA_START:  # csv_safe, inlined: it runs 9 times a row
                        cells[i] = "'" + value
                out.append(cells)
            writer.writerows(out)
            yield len(rows), buffer.getvalue()

    return _sealed(texts(), trailer=_csv_trailer, failure=_csv_failure)


def _jsonl_chunks(row_chunks: Iterator[list[tuple]]) -> Iterator[bytes]:
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    before, after = EXPORT_COLUMNS[:_CHANGES], EXPORT_COLUMNS[_CHANGES + 1 :]

    def texts():
        for rows in row_chunks:
            lines = []
            for row in rows:
                # The changes are JSON text already: splice them in rather than parse and print them again.
                record = dict(zip(before, row, strict=False))
                record.update(zip(after, row[_CHANGES + 1 :], strict=True))
                lines.append(f'{dumps(record)[:-1]}, "changes": {row[_CHANGES]}}}')
            lines.append("")
            yield len(rows), "\n".join(lines)

    return _sealed(
        texts(),
        trailer=lambda rows, sha: json.dumps({"_end": {"rows": rows, "sha256": sha}}) + "\n",
        failure=lambda rows: json.dumps({"_error": f"export failed after {rows} rows: this file is incomplete"}) + "\n",
    )


# ---- checking a downloaded file ---------------------------------------------------------------------


@dataclass(frozen=True)
class ExportCheck:
    ok: bool
    rows: int
    message: str


def verify_export(file: BinaryIO) -> ExportCheck:
    """Whether a downloaded export (a seekable binary file) is complete and unaltered.

    Reads the trailer from the end, then hashes and counts everything before it in blocks,
    so a file of any size is checked in constant memory.
    """
    size = file.seek(0, io.SEEK_END)
    file.seek(max(size - TRAILER_MAX, 0))
    tail = file.read()
    stripped = tail.rstrip(b"\r\n")
    cut = stripped.rfind(b"\n") + 1  # the trailer line starts after the last newline of the text before it
    if cut == 0 and size > len(tail):
        return ExportCheck(False, 0, "Incomplete: the file does not end with its trailer.")
    last, body_size = stripped[cut:], size - len(tail) + cut
    if last.startswith(b"{"):
        try:
            end = json.loads(last)["_end"]
            claimed, sha = int(end["rows"]), str(end["sha256"])
        except (ValueError, TypeError, KeyError):
            return ExportCheck(False, 0, 'Incomplete: the file does not end with its {"_end": ...} trailer.')
    else:
        match = _CSV_TRAILER.fullmatch(last)
        if not match:
            return ExportCheck(False, 0, "Incomplete: the file does not end with its '# end of export' trailer.")
        claimed, sha = int(match.group(1)), match.group(2).decode()
    digest, newlines = hashlib.sha256(), 0
    file.seek(0)
    remaining = body_size
    while remaining:
        block = file.read(min(remaining, 1 << 20))
        if not block:
            break
        digest.update(block)
        newlines += block.count(b"\n")
        remaining -= len(block)
    if digest.hexdigest() != sha:
        return ExportCheck(False, 0, "Altered or incomplete: the SHA-256 of the rows does not match the trailer.")
    if last.startswith(b"{"):
        rows = newlines
    else:  # a CSV cell may hold a line break: count records, not lines, less the header and the trailer
        file.seek(0)
        text = io.TextIOWrapper(file, encoding="utf-8", newline="")
        rows = sum(1 for _record in csv.reader(text)) - 2
        text.detach()
    if rows != claimed:
        return ExportCheck(False, rows, f"Incomplete: {rows} rows, the trailer says {claimed}.")
    return ExportCheck(True, rows, f"Complete: {rows} rows; the SHA-256 matches the trailer.")
