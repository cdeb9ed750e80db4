from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import retarget

from fleetadmin.audit.selectors import recent_events_for_organization
from fleetadmin.core.web import render_screen, wants_partial
from fleetadmin.fleet import authz, selectors, services
from fleetadmin.fleet.forms import LocationCreateForm, MachineCreateForm, RenameForm
from fleetadmin.fleet.models import Location, Machine, Organization

OVERVIEW = "fleet/org_overview.html"
ACTIVITY_OOB = "fleet/org_overview.html#activity"
MESSAGES_OOB = "includes/messages.html"


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    organizations = list(selectors.visible_organizations(request.user).order_by("name")[:2])
    if len(organizations) == 1:
        return redirect("fleet:organization", org_id=organizations[0].pk)
    return redirect("fleet:organizations")


@login_required
@require_GET
def organization_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    organizations = selectors.organizations_with_counts(request.user)
    if query:
        organizations = organizations.filter(name__icontains=query)
    rows = [{"organization": org, "roles": sorted(authz.roles_in(request.user, org))} for org in organizations]
    return render_screen(request, "fleet/org_list.html", {"rows": rows, "query": query}, partial="results")


def _overview_context(request: HttpRequest, organization: Organization, **forms: Any) -> dict[str, Any]:
    user = request.user
    tree = selectors.organization_tree(user, organization)
    flat = selectors.flatten_tree(tree)
    indent = "\u2003"
    can_add_location = authz.can(user, "fleet.add_location", organization)
    parent_choices = [(str(node.location.pk), indent * depth + node.location.name) for depth, node in flat]
    machine_choices = [
        (str(node.location.pk), indent * depth + node.location.name) for depth, node in flat if node.can_add_machine
    ]
    can_view_log = authz.can(user, "audit.view_log", organization)
    return {
        "organization": organization,
        "tree": tree,
        "location_count": len(flat),
        "machine_total": sum(node.machine_count for node in tree),
        "can_add_location": can_add_location,
        "can_add_machine": bool(machine_choices),
        "location_form": forms.get("location_form") or LocationCreateForm(parent_choices=parent_choices),
        "machine_form": forms.get("machine_form") or MachineCreateForm(location_choices=machine_choices),
        "can_view_log": can_view_log,
        "activity": list(recent_events_for_organization(organization)) if can_view_log else [],
        "highlight": forms.get("highlight"),
        "nav_section": "overview",
    }


def _panel_response(request: HttpRequest, organization: Organization, *, status: int = 200, **extra) -> HttpResponse:
    context = _overview_context(request, organization, **extra)
    # The Activity panel exists only for those who may read the log; never send an orphan swap.
    oob = (ACTIVITY_OOB, MESSAGES_OOB) if context["can_view_log"] else (MESSAGES_OOB,)
    return render_screen(request, OVERVIEW, context, partial="fleet-panel", oob=oob, status=status)


def _after_write(request: HttpRequest, organization: Organization, highlight=None) -> HttpResponse:
    """htmx: the refreshed panel (plus activity and messages out of band). Otherwise: back to the overview."""
    if wants_partial(request):
        return retarget(_panel_response(request, organization, highlight=highlight), "#fleet-panel")
    return redirect("fleet:organization", org_id=organization.pk)


@login_required
@require_GET
def organization_overview(request: HttpRequest, org_id) -> HttpResponse:
    organization = selectors.get_organization_for(request.user, org_id)
    return _panel_response(request, organization)


@login_required
@require_GET
def organization_activity(request: HttpRequest, org_id) -> HttpResponse:
    organization = selectors.get_organization_for(request.user, org_id)
    authz.require(request.user, "audit.view_log", organization)
    return render_screen(request, OVERVIEW, _overview_context(request, organization), partial="activity")


@login_required
@require_POST
def location_create(request: HttpRequest, org_id) -> HttpResponse:
    user = request.user
    organization = selectors.get_organization_for(user, org_id)
    authz.require(user, "fleet.add_location", organization)
    context = _overview_context(request, organization)
    form = LocationCreateForm(request.POST, parent_choices=context["location_form"].fields["parent"].choices[1:])
    if form.is_valid():
        parent_id = form.cleaned_data["parent"]
        parent = selectors.get_location_for(user, organization, parent_id) if parent_id else None
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


@login_required
@require_POST
def machine_create(request: HttpRequest, org_id) -> HttpResponse:
    user = request.user
    organization = selectors.get_organization_for(user, org_id)
    context = _overview_context(request, organization)
    if not context["can_add_machine"]:
        raise PermissionDenied("You cannot add machines in this organization.")
    form = MachineCreateForm(request.POST, location_choices=context["machine_form"].fields["location"].choices)
    if form.is_valid():
        location = selectors.get_location_for(user, organization, form.cleaned_data["location"])
        try:
            machine = services.machine_create(actor=user, location=location, name=form.cleaned_data["name"])
        except ValidationError as error:
            form.add_error(None, error)
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


@login_required
@require_http_methods(["GET", "POST"])
def location_rename(request, org_id, location_id):
    return _rename(request, org_id, location_id, LOCATION)


@login_required
@require_http_methods(["GET", "POST"])
def location_delete(request, org_id, location_id):
    return _delete(request, org_id, location_id, LOCATION)


@login_required
@require_http_methods(["GET", "POST"])
def machine_rename(request, org_id, machine_id):
    return _rename(request, org_id, machine_id, MACHINE)


@login_required
@require_http_methods(["GET", "POST"])
def machine_delete(request, org_id, machine_id):
    return _delete(request, org_id, machine_id, MACHINE)
