import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404

from fleetadmin.fleet import rules
from fleetadmin.fleet.services import NAME_MAX_LENGTH


def _name_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


# The location fields take an id: the page offers a searchable picker (a page of options, more on demand),
# never the whole tree, and the view resolves the id through the viewer's scope.
_LOCATION_ERRORS = {"invalid": "Choose a location from the list."}


class LocationCreateForm(forms.Form):
    name = _name_field("Location name")
    parent = forms.UUIDField(label="Inside", required=False, error_messages=_LOCATION_ERRORS)

    def __init__(self, *args, **kwargs):
        # Both add forms share the overview page: give their ids distinct prefixes.
        kwargs.setdefault("auto_id", "location_%s")
        super().__init__(*args, **kwargs)


class MachineCreateForm(forms.Form):
    name = _name_field("Machine name")
    location = forms.UUIDField(
        label="Location", error_messages={**_LOCATION_ERRORS, "required": "Choose the machine's location."}
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "machine_%s")
        super().__init__(*args, **kwargs)


class RenameForm(forms.Form):
    name = _name_field("New name")


class OrganizationForm(forms.Form):
    name = _name_field("Organization name")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].error_messages["required"] = "Enter an organization name; it cannot be empty."


class OrganizationDeleteForm(forms.Form):
    confirm_name = forms.CharField(
        label="Type the organization's name to confirm",
        max_length=NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class TwoFactorPolicyForm(forms.Form):
    require_two_factor = forms.BooleanField(
        label="Require two-factor sign-in",
        required=False,
        help_text="Members without an authenticator app are sent to set one up before they can open the organization.",
    )


class MemberRoleForm(forms.Form):
    """Role and scope, for an invitation or a membership change. Choices come from the members service.

    The location is any location the viewer can see, found by ``find_location`` (the page offers the
    first matches and a search; an organization's size never decides what can be chosen).
    """

    role = forms.CharField(label="Role", max_length=40, widget=forms.Select)
    location_id = forms.CharField(
        label="Location",
        required=False,
        max_length=36,
        help_text="Only for the location roles: the location (and what is under it).",
        widget=forms.Select,
    )

    def __init__(self, *args, role_choices, location_choices, find_location, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].widget.choices = role_choices
        self.fields["location_id"].widget.choices = [("", "— Whole organization —"), *location_choices]
        self._find_location = find_location

    def clean_role(self):
        role = self.cleaned_data["role"]
        if role not in rules.INVITABLE_ROLE_VALUES:
            raise ValidationError(rules.unknown_role(role), code="invalid_choice")
        return role

    def clean_location_id(self):
        """The chosen Location, or None for the whole organization."""
        value = self.cleaned_data["location_id"].strip()
        if not value:
            return None
        try:
            return self._find_location(uuid.UUID(value))
        except (ValueError, Http404):
            raise ValidationError(
                "Choose one of the locations offered (search to find more); this one is not in the organization.",
                code="invalid_choice",
            ) from None


class InviteForm(MemberRoleForm):
    email = forms.EmailField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"})
    )
    field_order = ["email", "role", "location_id"]
