from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url

from fleetadmin.audit import selectors
from fleetadmin.audit.diffs import diff_rows, references
from fleetadmin.audit.export import FORMATS, audit_log_export
from fleetadmin.audit.integrity import WEB_VERIFY_LIMIT, run_chain_verification
from fleetadmin.audit.links import log_url
from fleetadmin.audit.models import ActorType
from fleetadmin.audit.query import AuditFilters, QueryError, parse_query
from fleetadmin.core.support_pages import support_visible
from fleetadmin.core.web import render_screen, wants_partial
from fleetadmin.fleet import authz
from fleetadmin.fleet.selectors import get_organization_for

FIELD_NAMES = ("actor", "action", "target_type", "target_id", "ticket", "request_id")


def _organization(request, org_id):
    organization = get_organization_for(request.user, org_id)
    authz.require(request.user, "audit.view_log", organization)
    return organization


def _filters(request: HttpRequest) -> tuple[AuditFilters, str | None]:
    """The query line, overridden field by field by the filter form. Returns (filters, error)."""
    get = request.GET
    error = None
    try:
        from_query = parse_query(get.get("q", ""))
    except QueryError as exc:
        from_query, error = AuditFilters(), str(exc)
    fields = {name: get.get(name, "").strip()[:255] for name in FIELD_NAMES}
    for name in ("since", "until"):
        raw = get.get(name, "").strip()
        if raw:
            try:
                fields[name] = date.fromisoformat(raw)
            except ValueError:
                error = error or f"'{raw}' is not a date; write dates as YYYY-MM-DD."
    from_form = AuditFilters(**{k: v for k, v in fields.items() if v})
    filters = from_query.merged(from_form)
    if filters.since and filters.until and filters.since > filters.until:
        error = error or f"The date range is empty: {filters.since} is after {filters.until}."
    return filters, error


@support_visible("Audit log")
@login_required
@require_GET
def audit_log(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id)
    filters, error = _filters(request)
    try:
        before = int(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before = None
    page = selectors.event_page(organization, filters if not error else AuditFilters(), before=before)
    if error:
        page.events, page.next_before = [], None
    canonical = log_url(organization, filters)
    if before is not None:
        canonical += f"{'&' if filters.active else '?'}before={before}"
    if (
        not error
        and not wants_partial(request)
        and any(request.GET.get(name) for name in (*FIELD_NAMES, "since", "until"))
    ):
        return redirect(canonical)  # the filter form's fields, said as the one-line query
    context = {
        "organization": organization,
        "nav_section": "audit",
        "filters": filters,
        "query": filters.to_query(),
        "error": error,
        "page": page,
        "links": selectors.target_urls(page.events),
        "first_page": before is None,
        "verification": selectors.latest_verification(organization),
        "can_verify": authz.can(request.user, "audit.verify", organization),
        "actor_types": ActorType,
    }
    # htmx swaps the results region with the message in it (200); a whole page says 400.
    status = 400 if error and not wants_partial(request) else 200
    response = render_screen(request, "audit/log.html", context, partial="events", status=status)
    if wants_partial(request) and not error:
        push_url(response, canonical)
    return response


@support_visible("Audit event")
@login_required
@require_GET
def event_detail(request: HttpRequest, org_id, event_id: int) -> HttpResponse:
    organization = _organization(request, org_id)
    event = selectors.get_event_for(organization, event_id)
    related = selectors.events_of_request(event)
    context = {
        "organization": organization,
        "nav_section": "audit",
        "event": event,
        "rows": diff_rows(event.changes or {}, selectors.object_urls(references(event.changes or {}))),
        "related": related,
        "links": selectors.target_urls([event, *related]),
    }
    return render_screen(request, "audit/event.html", context)


@support_visible("Audit log export")
@login_required
@require_GET
def export(request: HttpRequest, org_id, fmt: str) -> HttpResponse:
    if fmt not in FORMATS:
        raise Http404(f"Export formats are {' and '.join(FORMATS)}.")
    organization = _organization(request, org_id)
    filters, error = _filters(request)
    if error:
        # The message quotes the caller's own input: escaped, so a link cannot make it run as a page.
        return HttpResponse(escape(error), status=400, content_type="text/html; charset=utf-8")
    result = audit_log_export(actor=request.user, organization=organization, filters=filters, fmt=fmt)
    response = StreamingHttpResponse(result.chunks, content_type=result.content_type)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@support_visible("Verify the audit log")
@login_required
@require_POST
def verify(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id)
    authz.require(request.user, "audit.verify", organization)
    result = run_chain_verification(actor=request.user, organization_id=organization.pk, limit=WEB_VERIFY_LIMIT)
    (messages.success if result.ok else messages.error)(request, f"Chain verification: {result.message}")
    return redirect("audit:log", org_id=organization.pk)
