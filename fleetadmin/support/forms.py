"""Forms of the support console. The rules live in ``services`` (clean_ticket, clean_reason)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from fleetadmin.support import services


class OpenGrantForm(forms.Form):
    ticket = forms.CharField(
        label="Ticket reference",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The customer sees this next to your name and the ticket.",
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        pattern = settings.SUPPORT_TICKET_PATTERN
        example = settings.SUPPORT_TICKET_EXAMPLE
        self.fields["ticket"].help_text = f"As your ticket system writes it, for example {example}."
        self.fields["ticket"].widget.attrs["placeholder"] = example
        self.fields["ticket"].error_messages["required"] = f"Enter the ticket reference; it must match {pattern}."
        self.fields["reason"].error_messages["required"] = services.REASON_REQUIRED
        self.fields["ticket"].widget.attrs["aria-describedby"] = "id_ticket_help"
        self.fields["reason"].widget.attrs["aria-describedby"] = "id_reason_help"

    def clean_ticket(self) -> str:
        return self._clean_with(services.clean_ticket, "ticket")

    def clean_reason(self) -> str:
        return self._clean_with(services.clean_reason, "reason")

    def _clean_with(self, clean, name: str) -> str:
        try:
            return clean(self.cleaned_data[name])
        except ValidationError as error:
            raise ValidationError(error.message_dict[name]) from None


class BillingAddressForm(forms.Form):
    address = forms.CharField(
        label="New billing address",
        max_length=400,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="One line: line 1, line 2 (optional), city, state, zipcode, and optionally the country.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["address"].widget.attrs["aria-describedby"] = "id_address_help"
