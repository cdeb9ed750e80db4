from django import forms

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
