from django import forms

from fleetadmin.fleet.services import NAME_MAX_LENGTH


def _name_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class LocationCreateForm(forms.Form):
    name = _name_field("Location name")
    parent = forms.ChoiceField(label="Inside", required=False)

    def __init__(self, *args, parent_choices: list[tuple[str, str]], **kwargs):
        # Both add forms share the overview page: give their ids distinct prefixes.
        kwargs.setdefault("auto_id", "location_%s")
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [("", "— Top level —"), *parent_choices]


class MachineCreateForm(forms.Form):
    name = _name_field("Machine name")
    location = forms.ChoiceField(label="Location")

    def __init__(self, *args, location_choices: list[tuple[str, str]], **kwargs):
        kwargs.setdefault("auto_id", "machine_%s")
        super().__init__(*args, **kwargs)
        self.fields["location"].choices = location_choices


class RenameForm(forms.Form):
    name = _name_field("New name")
