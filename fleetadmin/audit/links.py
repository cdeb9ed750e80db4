"""Links into the audit log: the one place that spells its URL and how filters go into it."""

from __future__ import annotations

from urllib.parse import urlencode
from uuid import UUID

from django.urls import reverse

from fleetadmin.audit.query import AuditFilters


def log_url(organization, filters: AuditFilters | None = None, **fields) -> str:
    """The organization's audit log filtered to ``filters`` (or to ``AuditFilters(**fields)``).

    The filters go in as the one-line query (``?q=type:keys.apikey target:…``), the canonical form
    the log page itself pushes and redirects to, so a link and the page's own URL never differ.
    """
    if filters is None:
        filters = AuditFilters(
            **{name: str(value) if isinstance(value, UUID) else value for name, value in fields.items()}
        )
    elif fields:
        raise TypeError("log_url takes filters or filter fields, not both")
    path = reverse("audit:log", args=[getattr(organization, "pk", organization)])
    query = filters.to_query()
    return f"{path}?{urlencode({'q': query})}" if query else path
