"""The audit log's filters, and their one-line form.

``actor:owner@example.com action:keys.api_key.rotate created:>=2026-11-01`` parses to
the same filters as the form fields, and the filters print back to that line, so
the filter form, the query box and the URL always say the same thing.

A word without a qualifier (``arm-01``, a pasted id, ``SUP-42``) is a search term: it
matches an event whose target name or id, actor name or id, ticket or request id equals
it (names case-insensitively), or whose action starts with it. Each of those has an index.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q, QuerySet

from fleetadmin.audit.models import ActorType

QUALIFIERS = {
    "actor": "actor",
    "action": "action",
    "type": "target_type",
    "target": "target_id",
    "ticket": "ticket",
    "request": "request_id",
    "created": None,  # created:>=DATE, created:<=DATE, created:DATE, created:DATE..DATE
}
QUERY_HELP = (
    "Type a name, id, email, ticket or action prefix to search, or use qualifiers: "
    "actor:EMAIL, action:PREFIX, type:TARGET_TYPE, target:ID, ticket:REF, request:ID, "
    "created:>=YYYY-MM-DD (also <=, >, <, =, or FROM..TO)."
)
_CREATED = re.compile(r"^(>=|<=|>|<|=)?(\d{4}-\d{2}-\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


class QueryError(ValueError):
    pass


@dataclass(frozen=True)
class AuditFilters:
    terms: tuple[str, ...] = ()  # bare search terms; every one must match (see term_q)
    actor: str = ""
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    ticket: str = ""
    request_id: str = ""
    since: date | None = None  # inclusive
    until: date | None = None  # inclusive

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    @property
    def by_field(self) -> bool:
        """Whether a filter beyond bare search terms is set (the page then opens its field form)."""
        return any(getattr(self, f.name) for f in fields(self) if f.name != "terms")

    def merged(self, other: AuditFilters) -> AuditFilters:
        """These filters, with every field that ``other`` sets taking precedence."""
        return replace(self, **{f.name: getattr(other, f.name) for f in fields(other) if getattr(other, f.name)})

    def to_query(self) -> str:
        parts = [_quote(term) for term in self.terms]
        for qualifier, attribute in QUALIFIERS.items():
            if attribute and getattr(self, attribute):
                parts.append(f"{qualifier}:{_quote(getattr(self, attribute))}")
        if self.since and self.until:
            parts.append(f"created:{self.since.isoformat()}..{self.until.isoformat()}")
        elif self.since:
            parts.append(f"created:>={self.since.isoformat()}")
        elif self.until:
            parts.append(f"created:<={self.until.isoformat()}")
        return " ".join(parts)

    def slug(self) -> str:
        """A file-name-safe summary, for export names."""
        text = self.to_query() or "all"
        return re.sub(r"[^A-Za-z0-9._=-]+", "_", text.replace(":", "="))[:120].strip("_")

    def apply(self, events: QuerySet) -> QuerySet:
        for term in self.terms:
            events = events.filter(term_q(term))
        if self.actor:
            # Each branch has its index: (organization, UPPER(actor_name), id) and
            # (organization, actor_type, actor_id, id), the latter reached through the list of types.
            by_id = Q(actor_type__in=ActorType.values, actor_id=self.actor)
            events = events.filter(Q(actor_name__iexact=self.actor) | by_id)
        if self.action:
            events = events.filter(action__startswith=self.action.lower())  # actions are lower case
        if self.target_type:
            events = events.filter(target_type=self.target_type)
        if self.target_id:
            events = events.filter(target_id=self.target_id)
        if self.ticket:
            events = events.filter(ticket=self.ticket)
        if self.request_id:
            events = events.filter(request_id=self.request_id)
        if self.since:
            events = events.filter(created_at__gte=datetime.combine(self.since, time.min, tzinfo=UTC))
        if self.until and self.until < date.max:  # "until the last day there is" is no bound at all
            events = events.filter(
                created_at__lt=datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=UTC)
            )
        return events


def term_q(term: str) -> Q:
    """What a bare term matches. Every branch is an equality or a prefix on an indexed column."""
    by_actor_id = Q(actor_type__in=ActorType.values, actor_id=term)
    return (
        Q(target_id=term)
        | Q(target_name__iexact=term)  # (organization, UPPER(target_name), id)
        | Q(actor_name__iexact=term)
        | by_actor_id
        | Q(action__startswith=term.lower())
        | Q(ticket__in={term, term.upper()})
        | Q(request_id=term)
    )


def _quote(value: str) -> str:
    return shlex.quote(value)  # leaves plain values as they are; protects spaces, quotes and backslashes


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise QueryError(f"'{text}' is not a date; write dates as YYYY-MM-DD.") from None


def parse_query(query: str) -> AuditFilters:
    """Parse the one-line form. Raises QueryError with a message a person can act on."""
    try:
        tokens = shlex.split(query or "")
    except ValueError:
        raise QueryError("The query has an unclosed quote.") from None
    values: dict = {}
    terms: list[str] = []
    for token in tokens:
        qualifier, colon, value = token.partition(":")
        if not colon:
            if len(token) > 255:
                raise QueryError("A search term is too long (at most 255 characters).")
            terms.append(token)
            continue
        qualifier = qualifier.lower()
        if qualifier not in QUALIFIERS:
            raise QueryError(f"Unknown qualifier '{qualifier}'. {QUERY_HELP}")
        if not value:
            raise QueryError(f"'{qualifier}:' needs a value. {QUERY_HELP}")
        if len(value) > 255:
            raise QueryError(f"The value of '{qualifier}:' is too long (at most 255 characters).")
        if qualifier == "created":
            values.update(_created(value))
        else:
            values[QUALIFIERS[qualifier]] = value
    filters = AuditFilters(terms=tuple(dict.fromkeys(terms)), **values)
    if filters.since and filters.until and filters.since > filters.until:
        raise QueryError(f"The date range is empty: {filters.since} is after {filters.until}.")
    return filters


def _created(value: str) -> dict:
    range_match = _RANGE.match(value)
    if range_match:
        return {"since": _date(range_match.group(1)), "until": _date(range_match.group(2))}
    match = _CREATED.match(value)
    if not match:
        raise QueryError(f"'created:{value}' is not a date filter. {QUERY_HELP}")
    operator, day = match.group(1) or "=", _date(match.group(2))
    try:
        if operator == ">":
            return {"since": day + timedelta(days=1)}
        if operator == "<":
            return {"until": day - timedelta(days=1)}
    except OverflowError:
        raise QueryError(f"'created:{value}' leaves no possible date.") from None
    return {">=": {"since": day}, "<=": {"until": day}, "=": {"since": day, "until": day}}[operator]
