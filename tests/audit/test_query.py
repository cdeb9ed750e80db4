"""The one-line query: every qualifier, the round trip through to_query, and bad queries (a message, never a 500)."""

import html
from datetime import date

import pytest

from fleetadmin.audit.query import QUERY_HELP, AuditFilters, QueryError, parse_query
from tests.audit.conftest import HTMX, log_url

# ---- parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", AuditFilters()),
        ("   ", AuditFilters()),
        ("actor:owner@example.com", AuditFilters(actor="owner@example.com")),
        ("action:keys.", AuditFilters(action="keys.")),
        ("action:keys.api_key.rotate", AuditFilters(action="keys.api_key.rotate")),
        ("type:keys.apikey", AuditFilters(target_type="keys.apikey")),
        ("target:5f0c6a3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f", AuditFilters(target_id="5f0c6a3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f")),
        ("ticket:SUP-1234", AuditFilters(ticket="SUP-1234")),
        ("request:0123456789abcdef", AuditFilters(request_id="0123456789abcdef")),
        ("created:>=2026-11-01", AuditFilters(since=date(2026, 11, 1))),
        ("created:<=2026-11-30", AuditFilters(until=date(2026, 11, 30))),
        ("created:>2026-11-30", AuditFilters(since=date(2026, 12, 1))),
        ("created:<2026-03-01", AuditFilters(until=date(2026, 2, 28))),
        ("created:=2026-11-05", AuditFilters(since=date(2026, 11, 5), until=date(2026, 11, 5))),
        ("created:2026-11-05", AuditFilters(since=date(2026, 11, 5), until=date(2026, 11, 5))),
        ("created:2026-11-01..2026-11-30", AuditFilters(since=date(2026, 11, 1), until=date(2026, 11, 30))),
        ("created:2026-11-05..2026-11-05", AuditFilters(since=date(2026, 11, 5), until=date(2026, 11, 5))),
        (
            "created:>=2026-11-01 created:<=2026-11-30",
            AuditFilters(since=date(2026, 11, 1), until=date(2026, 11, 30)),
        ),
        ('actor:"Jane Doe"', AuditFilters(actor="Jane Doe")),
        ('"actor:Jane Doe"', AuditFilters(actor="Jane Doe")),
        ("ticket:'SUP 42 urgent'", AuditFilters(ticket="SUP 42 urgent")),
        ("target:urn:machine:7", AuditFilters(target_id="urn:machine:7")),
        (
            "ACTOR:owner@example.com Type:fleet.machine",
            AuditFilters(actor="owner@example.com", target_type="fleet.machine"),
        ),
        (
            "actor:owner@example.com action:keys.api_key.rotate created:>=2026-11-01",
            AuditFilters(actor="owner@example.com", action="keys.api_key.rotate", since=date(2026, 11, 1)),
        ),
        (
            "  request:r-1   ticket:T-9  type:fleet.location   target:42 ",
            AuditFilters(request_id="r-1", ticket="T-9", target_type="fleet.location", target_id="42"),
        ),
    ],
)
def test_parse_query(query, expected):
    assert parse_query(query) == expected


def test_a_value_of_255_characters_is_accepted():
    assert parse_query("actor:" + "x" * 255) == AuditFilters(actor="x" * 255)


# ---- printing and the round trip ---------------------------------------------------------------------

ROUND_TRIP = [
    AuditFilters(),
    AuditFilters(actor="owner@example.com"),
    AuditFilters(actor="Jane Doe"),
    AuditFilters(actor="O'Brien"),
    AuditFilters(actor='say "hi"'),
    AuditFilters(actor="tab\tand space"),
    AuditFilters(actor=r"CORP\jdoe"),
    AuditFilters(action="keys."),
    AuditFilters(target_type="keys.apikey", target_id="urn:key:1"),
    AuditFilters(ticket="SUP 42"),
    AuditFilters(request_id="0123456789abcdef0123456789abcdef"),
    AuditFilters(since=date(2026, 11, 1)),
    AuditFilters(until=date(2026, 11, 30)),
    AuditFilters(since=date(2026, 11, 1), until=date(2026, 11, 30)),
    AuditFilters(since=date(2026, 11, 5), until=date(2026, 11, 5)),
    AuditFilters(
        actor="owner@example.com",
        action="fleet.machine.",
        target_type="fleet.machine",
        target_id="7",
        ticket="SUP-1",
        request_id="req-1",
        since=date(2026, 1, 1),
        until=date(2026, 12, 31),
    ),
]


@pytest.mark.parametrize("filters", ROUND_TRIP, ids=lambda f: f.to_query() or "empty")
def test_to_query_round_trips(filters):
    assert parse_query(filters.to_query()) == filters


@pytest.mark.parametrize(
    ("filters", "query"),
    [
        (AuditFilters(), ""),
        (
            AuditFilters(actor="owner@example.com", action="keys.api_key.rotate", since=date(2026, 11, 1)),
            "actor:owner@example.com action:keys.api_key.rotate created:>=2026-11-01",
        ),
        (AuditFilters(until=date(2026, 11, 30)), "created:<=2026-11-30"),
        (AuditFilters(since=date(2026, 11, 1), until=date(2026, 11, 30)), "created:2026-11-01..2026-11-30"),
        (AuditFilters(actor="Jane Doe", ticket="SUP-1"), "actor:'Jane Doe' ticket:SUP-1"),
        (
            AuditFilters(request_id="r", ticket="t", target_id="i", target_type="y", action="a", actor="u"),
            "actor:u action:a type:y target:i ticket:t request:r",
        ),
    ],
)
def test_to_query_prints_the_canonical_line(filters, query):
    assert filters.to_query() == query


def test_active_is_false_only_for_no_filter():
    assert not AuditFilters().active
    assert AuditFilters(ticket="x").active
    assert AuditFilters(until=date(2026, 1, 1)).active


# ---- bad queries -------------------------------------------------------------------------------------

BAD_QUERIES = [
    ("colour:red", f"Unknown qualifier 'colour'. {QUERY_HELP}"),
    ("actor:owner@example.com when:today", f"Unknown qualifier 'when'. {QUERY_HELP}"),
    ("actor:", f"'actor:' needs a value. {QUERY_HELP}"),
    ("created:", f"'created:' needs a value. {QUERY_HELP}"),
    ("created:>=2026-02-30", "'2026-02-30' is not a date; write dates as YYYY-MM-DD."),
    ("created:2026-13-01..2026-12-01", "'2026-13-01' is not a date; write dates as YYYY-MM-DD."),
    ("created:yesterday", f"'created:yesterday' is not a date filter. {QUERY_HELP}"),
    ("created:>=2026-11-01..2026-11-30", f"'created:>=2026-11-01..2026-11-30' is not a date filter. {QUERY_HELP}"),
    ("created:2026-11-30..2026-11-01", "The date range is empty: 2026-11-30 is after 2026-11-01."),
    ("created:>2026-11-30 created:<2026-11-30", "The date range is empty: 2026-12-01 is after 2026-11-29."),
    ('actor:"Jane Doe', "The query has an unclosed quote."),
    ("ticket:'SUP 42", "The query has an unclosed quote."),
    ("x" * 256, "A search term is too long (at most 255 characters)."),
    ("actor:" + "x" * 256, "The value of 'actor:' is too long (at most 255 characters)."),
]


@pytest.mark.parametrize(("query", "message"), BAD_QUERIES, ids=[q[:40] for q, _ in BAD_QUERIES])
def test_bad_queries_say_what_is_wrong(query, message):
    with pytest.raises(QueryError) as raised:
        parse_query(query)
    assert str(raised.value) == message


@pytest.mark.parametrize("query", ["created:>9999-12-31", "created:<0001-01-01"])
def test_dates_past_the_calendar_are_a_query_error(query):
    # The day after 9999-12-31 does not exist: a clear QueryError, not an OverflowError (a 500 in the view).
    with pytest.raises(QueryError, match="date"):
        parse_query(query)


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize(("query", "message"), BAD_QUERIES, ids=[q[:40] for q, _ in BAD_QUERIES])
def test_a_bad_query_shows_its_message_inline(fleet, client_for, query, message, htmx):
    """htmx gets the results region with the message (200, so it is swapped); a whole page says 400."""
    response = client_for(fleet.owner).get(log_url(fleet.org), {"q": query}, **(HTMX if htmx else {}))
    assert response.status_code == (200 if htmx else 400)
    content = response.content.decode()
    assert html.unescape(content).count(message) == 1
    assert 'role="alert"' in content
    assert "No event matches this filter." in content
    assert ("<html" in content) is not htmx
    assert "HX-Push-Url" not in response  # a bad query is not a URL worth sharing


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "2026-02-30"}, "'2026-02-30' is not a date; write dates as YYYY-MM-DD."),
        ({"since": "2026-11-30", "until": "2026-11-01"}, "The date range is empty: 2026-11-30 is after 2026-11-01."),
        (
            {"q": "created:>=2026-11-30", "until": "2026-11-01"},
            "The date range is empty: 2026-11-30 is after 2026-11-01.",
        ),
    ],
)
def test_bad_filter_form_fields_show_the_message(fleet, client_for, params, message):
    for headers, status in (({}, 400), (HTMX, 200)):
        response = client_for(fleet.owner).get(log_url(fleet.org), params, **headers)
        assert response.status_code == status
        assert message in html.unescape(response.content.decode())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "created:>9999-12-31",
        "created:<0001-01-01",
        "created:<=9999-12-31",
        "created:9999-12-31",
        "created:>=0001-01-01",
        "created:0001-01-01..9999-12-31",
    ],
)
def test_dates_at_the_end_of_the_calendar_are_not_a_server_error(fleet, client_for, query):
    response = client_for(fleet.owner).get(log_url(fleet.org), {"q": query}, **HTMX)
    assert response.status_code in {200, 400}


@pytest.mark.django_db
def test_export_of_a_bad_query_is_400_with_the_message(fleet, client_for):
    from fleetadmin.audit.models import AuditEvent
    from tests.audit.conftest import export_url

    response = client_for(fleet.owner).get(export_url(fleet.org, "csv"), {"q": "colour:red"})
    assert response.status_code == 400
    assert html.unescape(response.content.decode()) == f"Unknown qualifier 'colour'. {QUERY_HELP}"
    assert not AuditEvent.objects.filter(action="audit.log.export").exists()
