"""Screens for an organization's people and its own lifecycle: create, settings, members, invitations."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from fleetadmin.accounts.forms import NewMemberForm
from fleetadmin.core.links import portal_base_url
from fleetadmin.core.support_pages import support_hidden, support_visible
from fleetadmin.core.web import render_screen, wants_partial
from fleetadmin.fleet import authz, members, selectors
from fleetadmin.fleet.forms import (
    InviteForm,
    MemberRoleForm,
    OrganizationDeleteForm,
    OrganizationForm,
    TwoFactorPolicyForm,
)
from fleetadmin.fleet.models import Invitation, Membership, Organization, Role

MEMBERS = "fleet/members.html"
MESSAGES_OOB = "includes/messages.html"
ROLE_CHOICES = [(role.value, role.label) for role in members.INVITABLE_ROLES]
INVITATION_SESSION_KEY = "_fa_invitation"
SCOPE_PICKER_SIZE = 50  # the first matches; the search box asks the location picker for others


def _role_form(form_class, actor, organization, data=None, *, selected=None, **kwargs):
    """The role form with the picker's first page of locations (and the current choice, wherever it is)."""
    locations, _ = selectors.location_options(actor, organization, "fleet.manage_members", size=SCOPE_PICKER_SIZE)
    options = [(str(location.pk), location.name) for location in locations]
    if selected is not None and str(selected.pk) not in {value for value, _ in options}:
        options = [(str(selected.pk), selected.name), *options]
    return form_class(
        data,
        role_choices=ROLE_CHOICES,
        location_choices=options,
        find_location=lambda pk: selectors.get_location_for(actor, organization, pk),
        **kwargs,
    )


def _members_context(request: HttpRequest, organization: Organization, invite_form=None) -> dict[str, Any]:
    user = request.user
    can_manage = authz.can(user, "fleet.manage_members", organization)
    query = request.GET.get("q", "").strip()[:100] if request.method == "GET" else ""
    cursor = request.GET.get("after", "")[:500] if request.method == "GET" else ""
    page = selectors.member_page(user, organization, query=query, cursor=cursor)
    return {
        "organization": organization,
        "rows": page.rows,
        "next_cursor": page.next_cursor,
        "query": query,
        "paged": bool(cursor),
        "invitations": list(selectors.pending_invitations(user, organization)) if can_manage else [],
        "can_manage": can_manage,
        "is_member": page.viewer_is_member,
        "invite_form": invite_form or (_role_form(InviteForm, user, organization) if can_manage else None),
        "nav_section": "members",
    }


def _members_response(request, organization, *, status=200, invite_form=None) -> HttpResponse:
    context = _members_context(request, organization, invite_form=invite_form)
    return render_screen(request, MEMBERS, context, partial="people", oob=(MESSAGES_OOB,), status=status)


def _back_to_members(request, organization) -> HttpResponse:
    if wants_partial(request):
        return _members_response(request, organization)
    return redirect("fleet:members", org_id=organization.pk)


# ---- organizations ----------------------------------------------------------------------------------


@support_hidden
@login_required
@require_http_methods(["GET", "POST"])
def organization_create(request: HttpRequest) -> HttpResponse:
    authz.require(request.user, "fleet.create_organization", None)
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization, _ = members.organization_create_with_owner(
                actor=request.user, name=form.cleaned_data["name"], owner=request.user
            )
        except ValidationError as error:
            form.add_error("name", error.messages)
        else:
            messages.success(request, f"Organization “{organization.name}” created. You are its owner.")
            return redirect("fleet:organization", org_id=organization.pk)
    status = 422 if form.is_bound else 200
    return render(request, "fleet/org_create.html", {"form": form}, status=status)


def _settings_context(request, organization, **forms) -> dict[str, Any]:
    return {
        "organization": organization,
        "rename_form": forms.get("rename_form") or OrganizationForm(initial={"name": organization.name}),
        "policy_form": forms.get("policy_form")
        or TwoFactorPolicyForm(initial={"require_two_factor": organization.require_two_factor}),
        "blockers": members.deletion_blockers(organization),
        "nav_section": "settings",
    }


@support_visible("Organization settings")
@login_required
@require_http_methods(["GET", "POST"])
def organization_settings(request: HttpRequest, org_id) -> HttpResponse:
    organization = selectors.get_organization_for(request.user, org_id)
    authz.require(request.user, "fleet.manage_organization", organization)
    status = 200
    forms: dict[str, Any] = {}
    if request.method == "POST":
        if request.POST.get("action") == "two_factor":
            form = TwoFactorPolicyForm(request.POST)
            form.is_valid()
            required = bool(form.cleaned_data.get("require_two_factor"))
            try:
                members.organization_set_two_factor(actor=request.user, organization=organization, required=required)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
                return redirect("fleet:settings", org_id=organization.pk)
            messages.success(
                request,
                "Members now need two-factor sign-in to open this organization."
                if required
                else "Two-factor sign-in is no longer required.",
            )
            return redirect("fleet:settings", org_id=organization.pk)
        form = OrganizationForm(request.POST)
        if form.is_valid():
            old = organization.name
            try:
                members.organization_rename(
                    actor=request.user, organization=organization, name=form.cleaned_data["name"]
                )
            except ValidationError as error:
                form.add_error("name", error.messages)
            else:
                if old != organization.name:
                    messages.success(request, f"Renamed “{old}” to “{organization.name}”.")
                return redirect("fleet:settings", org_id=organization.pk)
        forms["rename_form"], status = form, 422
    context = _settings_context(request, organization, **forms)
    return render_screen(request, "fleet/org_settings.html", context, partial="rename", status=status)


@support_visible("Delete the organization")
@login_required
@require_http_methods(["GET", "POST"])
def organization_delete(request: HttpRequest, org_id) -> HttpResponse:
    organization = selectors.get_organization_for(request.user, org_id)
    authz.require(request.user, "fleet.manage_organization", organization)
    form = OrganizationDeleteForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        name = organization.name
        try:
            members.organization_delete(
                actor=request.user, organization=organization, confirm_name=form.cleaned_data["confirm_name"]
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field, errors)
            else:
                error = " ".join(exc.messages)
        else:
            messages.success(request, f"Deleted “{name}”. Its audit log is kept.")
            if wants_partial(request):
                return HttpResponseClientRedirect(reverse("fleet:organizations"))
            return redirect("fleet:organizations")
    context = {
        "organization": organization,
        "form": form,
        "error": error,
        "blockers": members.deletion_blockers(organization),
        "nav_section": "settings",
    }
    status = 422 if form.is_bound else 200
    return render(request, "fleet/org_delete.html", context, status=status)


# ---- members ----------------------------------------------------------------------------------------


@support_visible("Members")
@login_required
@require_GET
def members_page(request: HttpRequest, org_id) -> HttpResponse:
    organization = selectors.get_organization_for(request.user, org_id)
    return _members_response(request, organization)


@support_visible("Invite a member")
@login_required
@require_POST
def member_invite(request: HttpRequest, org_id) -> HttpResponse:
    user = request.user
    organization = selectors.get_organization_for(user, org_id)
    authz.require(user, "fleet.manage_members", organization)
    form = _role_form(InviteForm, user, organization, request.POST)
    if form.is_valid():
        try:
            issued = members.invitation_create(
                actor=user,
                organization=organization,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                location=form.cleaned_data["location_id"],
                base_url=portal_base_url(request),
            )
        except ValidationError as error:
            for field, errors in (
                error.message_dict.items() if hasattr(error, "error_dict") else [(None, error.messages)]
            ):
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Invitation sent to {issued.invitation.email}. It expires in 7 days.")
            return _back_to_members(request, organization)
    return _members_response(request, organization, status=422, invite_form=form)


@support_visible("Resend an invitation")
@login_required
@require_POST
def invitation_resend(request: HttpRequest, org_id, invitation_id) -> HttpResponse:
    organization = selectors.get_organization_for(request.user, org_id)
    authz.require(request.user, "fleet.manage_members", organization)
    invitation = selectors.get_invitation_for(request.user, organization, invitation_id)
    try:
        members.invitation_resend(actor=request.user, invitation=invitation, base_url=portal_base_url(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Sent a new invitation link to {invitation.email}; the old link no longer works.")
    return _back_to_members(request, organization)


@support_visible("Revoke an invitation")
@login_required
@require_POST
def invitation_revoke(request: HttpRequest, org_id, invitation_id) -> HttpResponse:
    organization = selectors.get_organization_for(request.user, org_id)
    authz.require(request.user, "fleet.manage_members", organization)
    invitation = selectors.get_invitation_for(request.user, organization, invitation_id)
    try:
        members.invitation_revoke(actor=request.user, invitation=invitation)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Revoked the invitation for {invitation.email}.")
    return _back_to_members(request, organization)


@support_visible("Change a member's role")
@login_required
@require_http_methods(["GET", "POST"])
def member_edit(request: HttpRequest, org_id, membership_id) -> HttpResponse:
    user = request.user
    organization = selectors.get_organization_for(user, org_id)
    authz.require(user, "fleet.manage_members", organization)
    membership: Membership = selectors.get_membership_for(user, organization, membership_id)
    initial = {"role": membership.role, "location_id": str(membership.location_id or "")}
    form = _role_form(
        MemberRoleForm, user, organization, request.POST or None, selected=membership.location, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            members.membership_change_role(
                actor=user,
                membership=membership,
                role=form.cleaned_data["role"],
                location=form.cleaned_data["location_id"],
            )
        except ValidationError as error:
            for field, errors in (
                error.message_dict.items() if hasattr(error, "error_dict") else [(None, error.messages)]
            ):
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"{membership.user.display_name} is now {Role(membership.role).label.lower()}.")
            return redirect("fleet:members", org_id=organization.pk)
    context = {"organization": organization, "membership": membership, "form": form, "nav_section": "members"}
    return render(request, "fleet/member_edit.html", context, status=422 if form.is_bound else 200)


@support_visible("Remove a member")
@login_required
@require_http_methods(["GET", "POST"])
def member_remove(request: HttpRequest, org_id, membership_id) -> HttpResponse:
    user = request.user
    organization = selectors.get_organization_for(user, org_id)
    authz.require(user, "fleet.manage_members", organization)
    membership = selectors.get_membership_for(user, organization, membership_id)
    error = None
    if request.method == "POST":
        try:
            members.membership_remove(actor=user, membership=membership)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"Removed {membership.user.display_name} from {organization.name}.")
            return _back_to_members(request, organization)
    context = {"organization": organization, "membership": membership, "error": error, "nav_section": "members"}
    return render(request, "fleet/member_remove.html", context, status=422 if error else 200)


@support_visible("Leave the organization")
@login_required
@require_http_methods(["GET", "POST"])
def member_leave(request: HttpRequest, org_id) -> HttpResponse:
    organization = selectors.get_organization_for(request.user, org_id)
    error = None
    if request.method == "POST":
        try:
            members.membership_leave(actor=request.user, organization=organization)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"You left {organization.name}.")
            if wants_partial(request):
                return HttpResponseClientRedirect(reverse("fleet:organizations"))
            return redirect("fleet:organizations")
    context = {"organization": organization, "error": error, "nav_section": "members"}
    return render(request, "fleet/member_leave.html", context, status=422 if error else 200)


# ---- accepting an invitation ------------------------------------------------------------------------


@support_hidden
@require_GET
def invitation_open(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: move the token into the session and off the URL (no Referer, history or log keeps it)."""
    request.session[INVITATION_SESSION_KEY] = token
    return redirect("fleet:invitation_accept")


@support_hidden
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest) -> HttpResponse:
    token = request.session.get(INVITATION_SESSION_KEY, "")
    try:
        invitation: Invitation = members.invitation_for_token(token)
    except ValidationError as error:
        return render(request, "fleet/invitation_accept.html", {"error": " ".join(error.messages)}, status=410)
    user = request.user
    form = NewMemberForm(request.POST or None) if not user.is_authenticated else None
    error = None
    if request.method == "POST":
        try:
            if user.is_authenticated:
                membership = members.invitation_accept(actor=user, token=token)
            elif form.is_valid():
                membership = members.invitation_accept_as_new_user(
                    token=token, full_name=form.cleaned_data["full_name"], password=form.cleaned_data["password1"]
                )
                auth_login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            else:
                membership = None
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and form is not None:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                error = " ".join(exc.messages)
            membership = None
        if membership is not None:
            request.session.pop(INVITATION_SESSION_KEY, None)
            messages.success(
                request, f"Welcome to {invitation.organization.name}. You are {Role(membership.role).label.lower()}."
            )
            return redirect("fleet:organization", org_id=invitation.organization_id)
    context = {
        "invitation": invitation,
        "form": form,
        "error": error,
        "wrong_account": user.is_authenticated and user.email.lower() != invitation.email.lower(),
        "login_url": f"{reverse('accounts:login')}?next={reverse('fleet:invitation_accept')}",
    }
    return render(request, "fleet/invitation_accept.html", context, status=422 if request.method == "POST" else 200)
