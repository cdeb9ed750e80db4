from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh, retarget

from fleetadmin.audit.timeline import organization_timeline
from fleetadmin.core.support_pages import support_hidden, support_visible
from fleetadmin.core.web import render_screen, wants_partial
from fleetadmin.fleet import authz, selectors, services
from fleetadmin.fleet.forms import LocationCreateForm, MachineCreateForm, RenameForm
from fleetadmin.fleet.models import Location, Machine, Organization

OVERVIEW = "fleet/org_overview.html"
ACTIVITY_OOB = "fleet/org_overview.html#activity"
MESSAGES_OOB = "includes/messages.html"


@support_hidden
@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if getattr(request.user, "is_support", False) and not selectors.holds_memberships(request.user):
        return redirect("support:console")  # support staff work from the console, not a membership list
    organizations = list(selectors.visible_organizations(request.user).order_by("name")[:2])
    if len(organizations) == 1:
        return redirect("fleet:organization", org_id=organizations[0].pk)
    return redirect("fleet:organizations")


@support_hidden
@login_required
@require_GET
def organization_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    organizations = selectors.organizations_with_counts(request.user, query=query)
    roles = authz.roles_by_organization(request.user)
    rows = [{"organization": org, "roles": sorted(roles.get(org.pk, ()))} for org in organizations]
    return render_screen(request, "fleet/org_list.html", {"rows": rows, "query": query}, partial="results")


# ---- the lazy tree ---------------------------------------------------------------------------------


@dataclass(slots=True)
class TreeRow:
    """One line of the tree in display order, as ``{% tree_rows %}`` (fleet/templatetags/tree_tags.py) writes it.

    ``closes`` ends that many open sub-lists after the row.
    """

    kind: str  # "location", "machine", "more-locations", "more-machines"
    obj: Location | Machine | None = None
    opens: bool = False  # a location whose contents follow, in a sub-list
    closes: int = 0
    url: str = ""  # more-*: the next page
    can_rename: bool = False
    can_delete: bool = False


def _tree_rows(user, organization: Organization, level: selectors.TreeLevel, parent: Location | None) -> list[TreeRow]:
    # One sifting of the user's grants per permission and response, not one per row (same answers as authz.can).
    may = {
        permission: authz.can_each(user, permission, organization)
        for permission in (
            "fleet.rename_location",
            "fleet.delete_location",
            "fleet.rename_machine",
            "fleet.delete_machine",
        )
    }
    rows: list[TreeRow] = []

    def machine_row(machine: Machine) -> TreeRow:
        return TreeRow(
            kind="machine",
            obj=machine,
            can_rename=may["fleet.rename_machine"](machine),
            can_delete=may["fleet.delete_machine"](machine),
        )

    def node_rows(node: selectors.TreeNode) -> None:
        location = node.location
        opens = node.expanded and location.has_contents
        rows.append(
            TreeRow(
                kind="location",
                obj=location,
                opens=opens,
                can_rename=may["fleet.rename_location"](location),
                can_delete=may["fleet.delete_location"](location),
            )
        )
        if opens:
            start = len(rows)
            rows.extend(machine_row(machine) for machine in node.machines)
            for child in node.children:
                node_rows(child)
            last = rows[-1] if len(rows) > start else rows[start - 1]
            last.closes += 1

    level_url = (
        reverse("fleet:location", args=[organization.pk, parent.pk])
        if parent
        else reverse("fleet:organization", args=[organization.pk])
    )
    rows.extend(machine_row(machine) for machine in level.machines)
    if level.more_machines:
        more = f"{level_url}?only=machines&machines_after={level.more_machines}"
        rows.append(TreeRow(kind="more-machines", url=more))
    for node in level.nodes:
        node_rows(node)
    if level.more_nodes:
        param = "locations_after" if parent else "after"
        rows.append(TreeRow(kind="more-locations", url=f"{level_url}?only=locations&{param}={level.more_nodes}"))
    return rows


def _picker_options(user, organization: Organization, permission: str, query: str = "") -> list[tuple[str, str]]:
    locations, _ = selectors.location_options(user, organization, permission, query=query, size=PICKER_SIZE)
    return [(str(loc.pk), loc.name) for loc in locations]


PICKER_SIZE = 50


def _overview_context(request: HttpRequest, organization: Organization, **forms: Any) -> dict[str, Any]:
    user = request.user
    query = request.GET.get("q", "").strip()[:100] if request.method == "GET" else ""
    level = selectors.tree_top(user, organization, cursor=request.GET.get("after", ""))
    location_count, machine_total = selectors.tree_totals(user, organization)
    can_add_location = authz.can(user, "fleet.add_location", organization)
    can_add_machine = authz.can_somewhere(user, "fleet.add_machine", organization)
    can_view_log = authz.can(user, "audit.view_log", organization)
    parent_options = _picker_options(user, organization, "fleet.add_location") if can_add_location else []
    if can_add_location and authz.location_paths_allowed(user, "fleet.add_machine", organization) is None:
        machine_location_options = parent_options  # the same list: one query for both pickers
    else:
        machine_location_options = _picker_options(user, organization, "fleet.add_machine") if can_add_machine else []
    context = {
        "organization": organization,
        "rows": _tree_rows(user, organization, level, None),
        "has_tree": bool(level.nodes),
        "location_count": location_count,
        "machine_total": machine_total,
        "query": query,
        "can_add_location": can_add_location,
        "can_add_machine": can_add_machine,
        "location_form": forms.get("location_form") or LocationCreateForm(),
        "machine_form": forms.get("machine_form") or MachineCreateForm(),
        "parent_options": parent_options,
        "machine_location_options": machine_location_options,
        "can_view_log": can_view_log,
        "activity": organization_timeline(organization) if can_view_log else None,
        "highlight": forms.get("highlight"),
        "nav_section": "overview",
    }
    if query:
        context["found_locations"], context["found_machines"] = selectors.search_tree(user, organization, query)
    return context


def _panel_response(request: HttpRequest, organization: Organization, *, status: int = 200, **extra) -> HttpResponse:
    context = _overview_context(request, organization, **extra)
    # The Activity panel exists only for those who may read the log; never send an orphan swap.
    oob = (ACTIVITY_OOB, MESSAGES_OOB) if context["can_view_log"] else (MESSAGES_OOB,)
    return render_screen(request, OVERVIEW, context, partial="fleet-panel", oob=oob, status=status)


def _after_write(request: HttpRequest, organization: Organization, highlight=None) -> HttpResponse:
    """htmx: the refreshed panel (plus activity and messages out of band). Otherwise: back to the overview."""
    if wants_partial(request):
        overview = reverse("fleet:organization", args=[organization.pk])
        current = urlsplit(request.htmx.current_url or "").path
        if current and current != overview:  # written from a location's own page: reload that page
            return HttpResponseClientRefresh()
        return retarget(_panel_response(request, organization, highlight=highlight), "#fleet-panel")
    return redirect("fleet:organization", org_id=organization.pk)


@support_visible("Overview")
@login_required
@require_GET
def organization_overview(request: HttpRequest, org_id) -> HttpResponse:
    organization = selectors.get_organization_for(request.user, org_id)
    if request.GET.get("only") == "locations" and wants_partial(request):  # "show more" top-level locations
        level = selectors.tree_top(request.user, organization, cursor=request.GET.get("after", ""))
        context = {"rows": _tree_rows(request.user, organization, level, None), "organization": organization}
        return render_screen(request, OVERVIEW, context, partial="tree-rows")
    return _panel_response(request, organization)


@support_visible("Location")
@login_required
@require_GET
def location_detail(request: HttpRequest, org_id, location_id) -> HttpResponse:
    """A location's contents: what htmx loads when a node expands, and a page of its own without JavaScript."""
    user = request.user
    organization = selectors.get_organization_for(user, org_id)
    location = selectors.get_location_for(user, organization, location_id)
    only = request.GET.get("only", "")
    level = selectors.tree_below(
        location,
        locations_after=request.GET.get("locations_after", ""),
        machines_after=request.GET.get("machines_after", ""),
        only=only if only in {"locations", "machines"} else "",
    )
    can_add_location = authz.can(user, "fleet.add_location", location)
    can_add_machine = authz.can(user, "fleet.add_machine", location)
    context = {
        "organization": organization,
        "location": location,
        "rows": _tree_rows(user, organization, level, location),
        "can_view_log": authz.can(user, "audit.view_log", organization),
        "can_add_location": can_add_location,
        "can_add_machine": can_add_machine,
        "location_form": LocationCreateForm(initial={"parent": location.pk}),
        "machine_form": MachineCreateForm(initial={"location": location.pk}),
        "nav_section": "overview",
    }
    if wants_partial(request):
        return render_screen(request, OVERVIEW, context, partial="tree-rows" if only else "tree-children")
    context["ancestors"] = selectors.ancestors_of(location)
    return render_screen(request, "fleet/location.html", context)


@support_visible("Location picker")
@login_required
@require_GET
def location_picker(request: HttpRequest, org_id) -> HttpResponse:
    """<option>s for a searchable location picker: the first page of matches the viewer may use."""
    user = request.user
    organization = selectors.get_organization_for(user, org_id)
    permission = PICKER_PERMISSIONS.get(request.GET.get("for", ""))
    if permission is None:
        raise Http404("Unknown picker.")
    options = _picker_options(user, organization, permission, request.GET.get("q", "").strip()[:100])
    context = {"options": options, "blank": PICKER_BLANKS.get(permission, "")}
    return render_screen(request, "fleet/_options.html", context)


PICKER_PERMISSIONS = {"parent": "fleet.add_location", "machine": "fleet.add_machine", "scope": "fleet.manage_members"}
PICKER_BLANKS = {"fleet.add_location": "— Top level —", "fleet.manage_members": "— Whole organization —"}


@support_visible("Overview (activity)")
@login_required
@require_GET
def organization_activity(request: HttpRequest, org_id) -> HttpResponse:
    organization = selectors.get_organization_for(request.user, org_id)
    authz.require(request.user, "audit.view_log", organization)
    context = {"organization": organization, "activity": organization_timeline(organization)}
    return render_screen(request, OVERVIEW, context, partial="activity")


def _chosen_location(user, organization: Organization, form, field: str) -> Location | None:
    """The location a form names, if the user sees it; otherwise a field error (and None)."""
    location_id = form.cleaned_data.get(field)
    if not location_id:
        return None
    try:
        return selectors.get_location_for(user, organization, location_id)
    except Http404:
        form.add_error(field, "Choose one of the locations offered; this one is not in your part of the fleet.")
        return None


@support_visible("Add a location")
@login_required
@require_POST
def location_create(request: HttpRequest, org_id) -> HttpResponse:
    user = request.user
    organization = selectors.get_organization_for(user, org_id)
    authz.require(user, "fleet.add_location", organization)
    form = LocationCreateForm(request.POST)
    if form.is_valid():
        parent = _chosen_location(user, organization, form, "parent")
        if not form.errors:
            try:
                location = services.location_create(
                    actor=user, organization=organization, name=form.cleaned_data["name"], parent=parent
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Location “{location.name}” created.")
                return _after_write(request, organization, highlight=location.pk)
    return _panel_response(request, organization, location_form=form, status=422)


@support_visible("Add a machine")
@login_required
@require_POST
def machine_create(request: HttpRequest, org_id) -> HttpResponse:
    user = request.user
    organization = selectors.get_organization_for(user, org_id)
    if not authz.can_somewhere(user, "fleet.add_machine", organization):
        raise PermissionDenied("You cannot add machines in this organization.")
    form = MachineCreateForm(request.POST)
    if form.is_valid():
        location = _chosen_location(user, organization, form, "location")
        if location is not None:
            try:
                machine = services.machine_create(actor=user, location=location, name=form.cleaned_data["name"])
            except ValidationError as error:
                form.add_error(None, error)
            except PermissionDenied:
                form.add_error("location", f"You cannot add machines in {location.name}; choose one of yours.")
            else:
                messages.success(request, f"Machine “{machine.name}” added to {location.name}.")
                return _after_write(request, organization, highlight=machine.pk)
    return _panel_response(request, organization, machine_form=form, status=422)


@dataclass(frozen=True)
class NodeKind:
    """What differs between renaming or deleting a location and a machine."""

    name: str
    fetch: Callable
    rename_permission: str
    delete_permission: str
    rename: Callable
    delete: Callable

    def url(self, action: str, obj) -> str:
        return reverse(f"fleet:{self.name}_{action}", args=[obj.organization_id, obj.pk])


LOCATION = NodeKind(
    name="location",
    fetch=selectors.get_location_for,
    rename_permission="fleet.rename_location",
    delete_permission="fleet.delete_location",
    rename=lambda actor, obj, name: services.location_rename(actor=actor, location=obj, name=name),
    delete=lambda actor, obj: services.location_delete(actor=actor, location=obj),
)
MACHINE = NodeKind(
    name="machine",
    fetch=selectors.get_machine_for,
    rename_permission="fleet.rename_machine",
    delete_permission="fleet.delete_machine",
    rename=lambda actor, obj, name: services.machine_rename(actor=actor, machine=obj, name=name),
    delete=lambda actor, obj: services.machine_delete(actor=actor, machine=obj),
)


def _rename(request: HttpRequest, org_id, obj_id, kind: NodeKind) -> HttpResponse:
    user = request.user
    organization = selectors.get_organization_for(user, org_id)
    obj: Location | Machine = kind.fetch(user, organization, obj_id)
    authz.require(user, kind.rename_permission, obj)
    form = RenameForm(request.POST or None, initial={"name": obj.name})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            old_name = obj.name
            try:
                kind.rename(user, obj, form.cleaned_data["name"])
            except ValidationError as error:
                form.add_error(None, error)
            else:
                if obj.name != old_name:
                    messages.success(request, f"Renamed “{old_name}” to “{obj.name}”.")
                return _after_write(request, organization, highlight=obj.pk)
        status = 422
    context = {
        "organization": organization,
        "object": obj,
        "kind": kind.name,
        "form": form,
        "action_url": kind.url("rename", obj),
        "cancel_url": reverse("fleet:organization", args=[organization.pk]),
    }
    return render_screen(request, "fleet/node_rename.html", context, partial="rename-form", status=status)


def _delete(request: HttpRequest, org_id, obj_id, kind: NodeKind) -> HttpResponse:
    user = request.user
    organization = selectors.get_organization_for(user, org_id)
    obj: Location | Machine = kind.fetch(user, organization, obj_id)
    authz.require(user, kind.delete_permission, obj)
    error = None
    if request.method == "POST":
        name = obj.name
        try:
            kind.delete(user, obj)
        except ValidationError as exc:
            error = " ".join(exc.messages)
            if wants_partial(request):
                messages.error(request, error)
                return retarget(_panel_response(request, organization, status=422), "#fleet-panel")
        else:
            messages.success(request, f"Deleted {kind.name} “{name}”.")
            return _after_write(request, organization)
    context = {
        "organization": organization,
        "object": obj,
        "kind": kind.name,
        "error": error,
        "action_url": kind.url("delete", obj),
        "cancel_url": reverse("fleet:organization", args=[organization.pk]),
    }
    return render_screen(request, "fleet/node_delete.html", context, status=422 if error else 200)


@support_visible("Rename a location")
@login_required
@require_http_methods(["GET", "POST"])
def location_rename(request, org_id, location_id):
    return _rename(request, org_id, location_id, LOCATION)


@support_visible("Delete a location")
@login_required
@require_http_methods(["GET", "POST"])
def location_delete(request, org_id, location_id):
    return _delete(request, org_id, location_id, LOCATION)


@support_visible("Rename a machine")
@login_required
@require_http_methods(["GET", "POST"])
def machine_rename(request, org_id, machine_id):
    return _rename(request, org_id, machine_id, MACHINE)


@support_visible("Delete a machine")
@login_required
@require_http_methods(["GET", "POST"])
def machine_delete(request, org_id, machine_id):
    return _delete(request, org_id, machine_id, MACHINE)
