from datetime import UTC, datetime, time, timedelta

from django import forms

from fleetadmin import clock
from fleetadmin.keys.models import ROLES_BY_RESOURCE, ApiKey, ResourceType
from fleetadmin.keys.rules import GRACE_LABELS, GRACE_PERIODS, grace_refused

# The one-time token lands in ApiKey.creation_token: bounded like that column.
FORM_TOKEN_MAX_LENGTH = ApiKey._meta.get_field("creation_token").max_length

ACCESS_CHOICES = [("owner", "Owner: full write access"), ("operator", "Operator: read access")]
EXPIRY_CHOICES = [
    ("never", "Never"),
    ("30d", "In 30 days"),
    ("90d", "In 90 days"),
    ("1y", "In 1 year"),
    ("date", "On a date"),
]
EXPIRY_DELTAS = {"30d": timedelta(days=30), "90d": timedelta(days=90), "1y": timedelta(days=365)}
GRACE_CHOICES = [(value, GRACE_LABELS[value]) for value in GRACE_PERIODS]


def role_for(scope_type: str, access: str) -> str:
    owner, operator = ROLES_BY_RESOURCE[ResourceType(scope_type)]
    return owner if access == "owner" else operator


class PickerChoiceField(forms.ChoiceField):
    """A searchable picker's select: its choices are one page of options, for display; any id that the
    lookup (scoped by fleet.authz) accepts is valid, so a search result beyond the page can be submitted."""

    def __init__(self, *args, **kwargs):
        self.lookup = None
        super().__init__(*args, **kwargs)

    def valid_value(self, value) -> bool:
        return self.lookup is not None and self.lookup(value) is not None


class ScopeForm(forms.Form):
    """Where a key's authorization applies: the organization, one location or one machine, and how much."""

    scope_type = forms.ChoiceField(label="Scope", choices=ResourceType.choices, widget=forms.RadioSelect)
    location = PickerChoiceField(label="Location", required=False)
    machine = PickerChoiceField(label="Machine", required=False)
    access = forms.ChoiceField(label="Access", choices=ACCESS_CHOICES, widget=forms.RadioSelect, initial="owner")

    def __init__(self, *args, scope_types, locations, machines, location_lookup=None, machine_lookup=None, **kwargs):
        """``locations``: [(id, label)]; ``machines``: [(location label, [(id, label)])] for optgroups;
        the lookups return the location or machine an id names if the actor may use it, else None."""
        super().__init__(*args, **kwargs)
        self.fields["scope_type"].choices = [c for c in ResourceType.choices if c[0] in scope_types]
        self.fields["scope_type"].initial = next(iter(scope_types), None)
        self.fields["location"].choices = [("", "Choose a location"), *locations]
        self.fields["machine"].choices = [("", "Choose a machine"), *machines]
        self.fields["location"].lookup = location_lookup
        self.fields["machine"].lookup = machine_lookup

    def clean(self):
        data = super().clean()
        scope_type = data.get("scope_type")
        if scope_type == ResourceType.LOCATION and not data.get("location"):
            self.add_error("location", "Choose the location this key is for.")
        if scope_type == ResourceType.ROBOT and not data.get("machine"):
            self.add_error("machine", "Choose the machine this key is for.")
        if scope_type and data.get("access"):
            data["role"] = role_for(scope_type, data["access"])
        return data


class KeyCreateForm(ScopeForm):
    name = forms.CharField(
        label="Name",
        required=False,
        max_length=100,
        help_text="Leave empty to name it after its scope and the time, as the CLI does.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    expiry = forms.ChoiceField(label="Expires", choices=EXPIRY_CHOICES, initial="never")
    expires_on = forms.DateField(
        label="Expiry date", required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="At 00:00 UTC."
    )
    form_token = forms.CharField(widget=forms.HiddenInput, max_length=FORM_TOKEN_MAX_LENGTH)

    def __init__(self, *args, now=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now or clock.now()

    def clean(self):
        data = super().clean()
        expiry = data.get("expiry")
        if expiry == "date":
            day = data.get("expires_on")
            if day is None:
                self.add_error("expires_on", "Pick the day the key expires.")
            else:
                expires_at = datetime.combine(day, time.min, tzinfo=UTC)
                if expires_at <= self.now:
                    self.add_error("expires_on", "The expiry date must be in the future.")
                data["expires_at"] = expires_at
        elif data.get("expires_on") is not None and expiry in dict(EXPIRY_CHOICES):
            # Two answers to one question: say so rather than silently drop the date.
            chosen = dict(EXPIRY_CHOICES)[expiry]
            self.add_error(
                "expires_on",
                f"Expires is “{chosen}” but a date is filled in too ({data['expires_on'].isoformat()}). "
                "Choose “On a date” to use the date, or clear the date.",
            )
        elif expiry in EXPIRY_DELTAS:
            data["expires_at"] = self.now + EXPIRY_DELTAS[expiry]
        else:
            data["expires_at"] = None
        return data


class KeyRenameForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"}))


class KeyRotateForm(forms.Form):
    grace = forms.ChoiceField(
        label="Keep the old value working for",
        choices=GRACE_CHOICES,
        initial="none",
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": grace_refused("%(value)s")},
    )


class BulkDeleteForm(forms.Form):
    confirm = forms.BooleanField(required=False)
