from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fleetadmin import clock
from fleetadmin.core.links import portal_base_url
from fleetadmin.core.support_pages import support_visible
from fleetadmin.core.web import render_screen
from fleetadmin.fleet import authz
from fleetadmin.fleet import selectors as fleet_selectors
from fleetadmin.fleet.models import Organization
from fleetadmin.keys import selectors, services
from fleetadmin.keys.forms import BulkDeleteForm, KeyCreateForm, KeyRenameForm, KeyRotateForm, ScopeForm
from fleetadmin.keys.models import ApiKey, ResourceType
from fleetadmin.keys.services import GRACE_PERIODS, Grant, IssuedKey

LIST = "keys/key_list.html"
DETAIL = "keys/key_detail.html"


# ---- helpers ---------------------------------------------------------------------------------------


PICKER_SIZE = 50  # options per picker page; search narrows, nothing loads the whole tree


def _scope_choices(user, organization: Organization, source=None) -> dict[str, Any]:
    """What this user may issue keys for: scope types, and one page each of the location and machine pickers.

    ``source`` (the request's GET or POST) carries the pickers' searches (location_q, machine_q) and the
    chosen location, which narrows the machines. Every option list is a keyset page of an indexed query
    scoped by fleet.authz; a chosen id outside the page is looked up, not listed.
    """
    source = source or {}
    location_memo: dict[str, Any] = {}
    machine_memo: dict[str, Any] = {}

    def location_lookup(value):
        if value not in location_memo:
            location_memo[value] = _allowed_location(user, organization, value)
        return location_memo[value]

    def machine_lookup(value):
        if value not in machine_memo:
            machine_memo[value] = _allowed_machine(user, organization, value)
        return machine_memo[value]

    location_q = source.get("location_q", "").strip()[:100]
    machine_q = source.get("machine_q", "").strip()[:100]
    chosen_location = location_lookup(source.get("location", ""))
    locations, _ = fleet_selectors.location_options(
        user, organization, "keys.manage", query=location_q, size=PICKER_SIZE
    )
    if chosen_location is not None and chosen_location not in locations:
        locations.insert(0, chosen_location)
    machines, _ = fleet_selectors.machine_options(
        user, organization, "keys.manage", query=machine_q, location=chosen_location, size=PICKER_SIZE
    )
    chosen_machine = machine_lookup(source.get("machine", ""))
    if chosen_machine is not None and chosen_machine not in machines:
        machines.insert(0, chosen_machine)
    groups: dict[str, list[tuple[str, str]]] = {}
    for machine in machines:
        groups.setdefault(machine.location.name, []).append((str(machine.pk), machine.name))
    scope_types = []
    if authz.can(user, "keys.manage", organization):
        scope_types.append(ResourceType.ORGANIZATION)
    if locations or location_q:
        scope_types.append(ResourceType.LOCATION)
    if machines or machine_q or (chosen_location is not None):
        scope_types.append(ResourceType.ROBOT)
    return {
        "scope_types": scope_types,
        "locations": [(str(loc.pk), loc.name) for loc in locations],
        "machines": list(groups.items()),
        "location_lookup": location_lookup,
        "machine_lookup": machine_lookup,
    }


def _allowed_location(user, organization: Organization, value: str):
    if not value or not _is_uuid(value):
        return None
    found, _ = fleet_selectors.location_options(user, organization, "keys.manage", query=str(value), size=1)
    return found[0] if found and str(found[0].pk) == str(value) else None


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _allowed_machine(user, organization: Organization, value: str):
    if not value or not _is_uuid(value):
        return None
    found, _ = fleet_selectors.machine_options(user, organization, "keys.manage", query=str(value), size=1)
    return found[0] if found and str(found[0].pk) == str(value) else None


def _grant_from(user, organization: Organization, data: dict) -> Grant:
    scope_type = data["scope_type"]
    if scope_type == ResourceType.LOCATION:
        resource = fleet_selectors.get_location_for(user, organization, data["location"])
    elif scope_type == ResourceType.ROBOT:
        resource = fleet_selectors.get_machine_for(user, organization, data["machine"])
    else:
        resource = organization
    return Grant(role=data["role"], resource=resource)


def _warning(issued: IssuedKey) -> str:
    """The platform's keep-it-safe warning, worded for the key's scope and access."""
    first = issued.key.authorizations.all()[0]
    access = "full write access" if first.role.endswith("_owner") else "read access"
    where = {
        ResourceType.ORGANIZATION: "your organization",
        ResourceType.LOCATION: f"the location {first.resource.name}",
        ResourceType.ROBOT: f"the machine {first.resource.name}",
    }[first.resource_type]
    return f"Keep this key somewhere safe; it has {access} to {where}."


def _ready_lines(issued: IssuedKey, base_url: str) -> dict[str, str]:
    """``id:value`` and the curl and ``fleetadmin login`` lines with both filled in: shown once, with the value."""
    pair = f"{issued.key.pk}:{issued.value}"
    return {
        "key_pair": pair,
        "curl_line": f'curl -H "Authorization: ApiKey {pair}" {base_url}/api/v1/whoami',
        "login_line": f"fleetadmin login api-key --key-id {issued.key.pk} --key {issued.value} --base-url {base_url}",
    }


def _show_once(request: HttpRequest, organization: Organization, issued: IssuedKey, *, heading: str, replaced=None):
    """The one response that ever carries a key value. Never cached, never stored, never redirected to."""
    context = {
        "organization": organization,
        "nav_section": "keys",
        "issued": issued,
        "heading": heading,
        "warning": _warning(issued),
        "replaced": replaced,
        **_ready_lines(issued, portal_base_url(request)),
    }
    response = render_screen(request, "keys/key_created.html", context, partial="secret-panel")
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
    return response


def _read_only_text(user, organization: Organization, what: str) -> str:
    from fleetadmin.fleet.read_only import read_only_text

    return read_only_text(user, organization, what)


def _organization(request: HttpRequest, org_id) -> Organization:
    return fleet_selectors.get_organization_for(request.user, org_id)


# ---- list ------------------------------------------------------------------------------------------


@support_visible("API keys")
@login_required
@require_GET
def key_list(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id)
    get = request.GET
    filters = selectors.KeyFilters(
        query=get.get("q", "").strip()[:100],
        scope=get.get("scope", "") if get.get("scope", "") in ResourceType.values else "",
        role=get.get("role", "") if get.get("role", "") in {r for pair in _role_values() for r in pair} else "",
        status=get.get("status", "") if get.get("status", "") in dict(selectors.LIST_STATUS_CHOICES) else "",
    )
    page = selectors.key_page(request.user, organization, filters, cursor=get.get("after", ""))
    can_create = authz.can_somewhere(request.user, "keys.manage", organization)
    # One answer for the page when the viewer manages every key of the organization; else one per key.
    manages_all = authz.can_throughout(request.user, "keys.manage", organization)
    rows = []
    for key in page.keys:
        authorizations = key.authorization_list()
        rows.append(
            {
                "key": key,
                "status": selectors.DELETED if key.deleted_at else key.status(page.now),
                "in_grace": key.in_grace(page.now),
                "replaces_id": key.replaces_id,
                "first": authorizations[0] if authorizations else None,
                "more": max(len(authorizations) - 1, 0),
                "can_manage": key.deleted_at is None and (manages_all or authz.can(request.user, "keys.manage", key)),
            }
        )
    context = {
        "organization": organization,
        "nav_section": "keys",
        "rows": rows,
        "page": page,
        "filters": filters,
        "can_create": can_create,
        "any_manageable": any(row["can_manage"] for row in rows),
        "read_only_text": "" if can_create else _read_only_text(request.user, organization, "see these keys"),
        "scope_choices": ResourceType.choices,
        "role_choices": [(r, r) for pair in _role_values() for r in pair],
        "status_choices": selectors.LIST_STATUS_CHOICES,
        "first_page": not get.get("after"),
    }
    return render_screen(request, LIST, context, partial="key-table")


def _role_values():
    from fleetadmin.keys.models import ROLES_BY_RESOURCE

    return [tuple(str(r) for r in roles) for roles in ROLES_BY_RESOURCE.values()]


# ---- create ----------------------------------------------------------------------------------------


@support_visible("Create an API key")
@login_required
@require_http_methods(["GET", "POST"])
def key_create(request: HttpRequest, org_id) -> HttpResponse:
    user = request.user
    organization = _organization(request, org_id)
    if not authz.can_somewhere(user, "keys.manage", organization):
        raise PermissionDenied("You cannot create API keys in this organization.")
    source = request.POST if request.method == "POST" else request.GET
    choices = _scope_choices(user, organization, source)
    if not choices["scope_types"]:
        raise PermissionDenied("You cannot create API keys in this organization.")
    now = clock.now()
    if request.method == "POST":
        form = KeyCreateForm(request.POST, now=now, **choices)
        if form.is_valid():
            data = form.cleaned_data
            try:
                issued = services.api_key_create(
                    actor=user,
                    organization=organization,
                    grants=[_grant_from(user, organization, data)],
                    name=data["name"],
                    expires_at=data["expires_at"],
                    creation_token=data["form_token"],
                )
            except services.DuplicateSubmission as duplicate:
                messages.info(
                    request, "This form was already submitted; the key was created then. Its value is shown only once."
                )
                return redirect("keys:detail", org_id=organization.pk, key_id=duplicate.created.pk)
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                return _show_once(request, organization, issued, heading="API key created")
        status = 422
    else:
        initial = {"form_token": secrets.token_urlsafe(24), "scope_type": choices["scope_types"][0], "access": "owner"}
        # An htmx reload of the dependent pickers carries the form's current values.
        initial.update(
            {
                k: v
                for k, v in request.GET.items()
                if k in {"scope_type", "location", "machine", "access", "name", "expiry", "expires_on", "form_token"}
            }
        )
        form = KeyCreateForm(initial=initial, now=now, **choices)
        status = 200
    selected_scope = form["scope_type"].value() or choices["scope_types"][0]
    context = {
        "organization": organization,
        "nav_section": "keys",
        "form": form,
        "selected_scope": selected_scope,
        "selected_expiry": form["expiry"].value(),
        "location_q": source.get("location_q", ""),
        "machine_q": source.get("machine_q", ""),
    }
    return render_screen(request, "keys/key_form.html", context, partial="key-form", status=status)


# ---- detail and changes ----------------------------------------------------------------------------


def _detail_context(request, organization, key, **extra) -> dict[str, Any]:
    user = request.user
    now = clock.now()
    can_manage = authz.can(user, "keys.manage", key)
    choices = _scope_choices(user, organization) if can_manage else None
    return {
        "organization": organization,
        "nav_section": "keys",
        "key": key,
        "status": key.status(now),
        "in_grace": key.in_grace(now),
        "replaces": selectors.predecessors_of([key]).get(key.pk),
        "authorizations": list(key.authorizations.all()),
        "history": selectors.key_timeline(user, organization, key),
        "can_manage": can_manage,
        "usable": can_manage and key.replaced_by_id is None,
        "read_only_text": _read_only_text(user, organization, "view this key but not rename, rotate or delete it"),
        "rename_form": extra.get("rename_form") or KeyRenameForm(initial={"name": key.name}),
        "rotate_form": extra.get("rotate_form") or KeyRotateForm(),
        "grant_form": extra.get("grant_form")
        or (ScopeForm(**choices, initial={"access": "owner"}) if choices else None),
    }


def _key(request, org_id, key_id) -> tuple[Organization, ApiKey]:
    organization = _organization(request, org_id)
    return organization, selectors.get_key_for(request.user, organization, key_id)


@support_visible("API key", actions=("support.delete_key",))
@login_required
@require_GET
def key_detail(request: HttpRequest, org_id, key_id) -> HttpResponse:
    organization, key = _key(request, org_id, key_id)
    return render_screen(request, DETAIL, _detail_context(request, organization, key))


def _manage(request, org_id, key_id) -> tuple[Organization, ApiKey]:
    organization, key = _key(request, org_id, key_id)
    authz.require(request.user, "keys.manage", key)
    return organization, key


def _back_to_key(key: ApiKey) -> HttpResponse:
    return redirect("keys:detail", org_id=key.organization_id, key_id=key.pk)


@support_visible("Rename an API key")
@login_required
@require_POST
def key_rename(request: HttpRequest, org_id, key_id) -> HttpResponse:
    organization, key = _manage(request, org_id, key_id)
    form = KeyRenameForm(request.POST)
    if form.is_valid():
        try:
            services.api_key_rename(actor=request.user, key=key, name=form.cleaned_data["name"])
        except ValidationError as error:
            form.add_error("name", error.messages)
        else:
            messages.success(request, f"Key renamed to “{key.name}”.")
            return _back_to_key(key)
    context = _detail_context(request, organization, key, rename_form=form)
    return render_screen(request, DETAIL, context, status=422)


@support_visible("Rotate an API key")
@login_required
@require_http_methods(["GET", "POST"])
def key_rotate(request: HttpRequest, org_id, key_id) -> HttpResponse:
    organization, key = _manage(request, org_id, key_id)
    form = KeyRotateForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.api_key_rotate(
                actor=request.user, key=key, grace=GRACE_PERIODS[form.cleaned_data["grace"]]
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            key.refresh_from_db()  # the service locked and updated its own copy
            return _show_once(request, organization, issued, heading="API key rotated", replaced=key)
    context = {"organization": organization, "nav_section": "keys", "key": key, "form": form, "error": error}
    status = 422 if request.method == "POST" else 200
    return render_screen(request, "keys/key_rotate.html", context, status=status)


@support_visible("Duplicate an API key")
@login_required
@require_POST
def key_duplicate(request: HttpRequest, org_id, key_id) -> HttpResponse:
    organization, key = _manage(request, org_id, key_id)
    issued = services.api_key_duplicate(actor=request.user, key=key)
    return _show_once(request, organization, issued, heading=f"Copy of “{key.name}” created")


@support_visible("Add an authorization to an API key")
@login_required
@require_POST
def key_grant(request: HttpRequest, org_id, key_id) -> HttpResponse:
    organization, key = _manage(request, org_id, key_id)
    form = ScopeForm(request.POST, **_scope_choices(request.user, organization, request.POST))
    if form.is_valid():
        try:
            services.api_key_authorization_add(
                actor=request.user, key=key, grant=_grant_from(request.user, organization, form.cleaned_data)
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, f"Granted {form.cleaned_data['role']} to “{key.name}”.")
            return _back_to_key(key)
    key = selectors.get_key_for(request.user, organization, key.pk)
    return render_screen(request, DETAIL, _detail_context(request, organization, key, grant_form=form), status=422)


@support_visible("Remove an authorization from an API key")
@login_required
@require_POST
def key_revoke(request: HttpRequest, org_id, key_id, authorization_id) -> HttpResponse:
    _, key = _manage(request, org_id, key_id)
    authorization = next((a for a in key.authorizations.all() if a.pk == authorization_id), None)
    if authorization is None:
        raise Http404("No such authorization on this key.")
    try:
        services.api_key_authorization_remove(actor=request.user, key=key, authorization=authorization)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Removed {authorization.role} from “{key.name}”.")
    return _back_to_key(key)


@support_visible("Delete an API key")
@login_required
@require_http_methods(["GET", "POST"])
def key_delete(request: HttpRequest, org_id, key_id) -> HttpResponse:
    organization, key = _manage(request, org_id, key_id)
    if request.method == "POST":
        services.api_key_delete(actor=request.user, key=key)
        messages.success(request, f"Deleted API key “{key.name}”. It no longer authenticates.")
        return redirect("keys:list", org_id=organization.pk)
    context = {"organization": organization, "nav_section": "keys", "keys": [key], "single": True}
    return render_screen(request, "keys/key_delete.html", context)


@support_visible("Delete API keys")
@login_required
@require_POST
def key_bulk_delete(request: HttpRequest, org_id) -> HttpResponse:
    organization = _organization(request, org_id)
    ids = list(dict.fromkeys(request.POST.getlist("key")))[:200]  # a key selected twice is one key
    keys = [selectors.get_key_for(request.user, organization, key_id) for key_id in ids]
    if not keys:
        messages.error(request, "Select at least one key to delete.")
        return redirect("keys:list", org_id=organization.pk)
    for key in keys:
        authz.require(request.user, "keys.manage", key)
    form = BulkDeleteForm(request.POST)
    if form.is_valid() and form.cleaned_data["confirm"]:
        count = services.api_key_bulk_delete(actor=request.user, keys=keys)
        messages.success(request, f"Deleted {count} API key{'s' if count != 1 else ''}.")
        return redirect("keys:list", org_id=organization.pk)
    context = {"organization": organization, "nav_section": "keys", "keys": keys, "single": False}
    return render_screen(request, "keys/key_delete.html", context)
