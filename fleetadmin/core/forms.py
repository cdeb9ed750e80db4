"""Form pieces every app shares."""

from django import forms
from django.core.exceptions import ValidationError

from fleetadmin.core.text import confirmation_matches, shown


class ConfirmForm(forms.Form):
    """Type the word to confirm, as the platform's CLI asks for ``disable`` and ``delete``."""

    confirm = forms.CharField(
        label="Confirmation",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}),
    )

    def __init__(self, *args, word: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.word = word
        self.fields["confirm"].label = f"Type “{word}” to confirm"

    def clean_confirm(self) -> str:
        typed = self.cleaned_data["confirm"].strip()
        if not confirmation_matches(typed, self.word):
            got = f"; you typed “{shown(typed, 40)}”" if typed else ""
            raise ValidationError(f"Type {self.word} to confirm{got}. Nothing was changed.")
        return typed
