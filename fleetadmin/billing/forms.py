from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from fleetadmin.billing import address as addresses
from fleetadmin.billing.address import Address, AddressError
from fleetadmin.billing.models import Invoice
from fleetadmin.billing.money import MAX_AMOUNT, AmountError, format_usd, parse_amount
from fleetadmin.billing.services import DESCRIPTION_MAX_LENGTH

# The one-time token lands in Invoice.creation_token: bounded like that column.
FORM_TOKEN_MAX_LENGTH = Invoice._meta.get_field("creation_token").max_length

FILL = "fill"  # the value of the "Fill from pasted address" submit button


def _text(label: str, *, required: bool = True, max_length: int = 100, autocomplete: str = "off", help_text=""):
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        help_text=help_text,
        widget=forms.TextInput(attrs={"autocomplete": autocomplete}),
    )


class AddressForm(forms.Form):
    """A billing address as structured fields, plus a one-line field that fills them.

    The structured fields are checked by ``address.validate_address``, the pasted line by
    ``address.parse_address``: the same rules and messages as the API and the CLI.
    """

    paste = forms.CharField(
        label="Paste an address",
        required=False,
        max_length=600,
        help_text=f"One line: {addresses.EXPECTED_FORMAT}. The country is optional and defaults to the United States.",
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off", "spellcheck": "false"}),
    )
    line1 = _text("Address line 1", autocomplete="address-line1")
    line2 = _text("Address line 2", required=False, autocomplete="address-line2")
    city = _text("City", autocomplete="address-level2")
    state = _text(
        "State / region",
        max_length=64,
        autocomplete="address-level1",
        help_text="For US addresses, the two-letter code or the full name.",
    )
    zipcode = _text("ZIP / postal code", max_length=12, autocomplete="postal-code")
    country = forms.ChoiceField(label="Country", initial=addresses.DEFAULT_COUNTRY)

    paste_error: str | None = None  # set when a pasted line did not parse
    # The browser must not block a submit that carries only a pasted line ("Please fill out this
    # field" on line 1); the server checks the same rules either way.
    use_required_attribute = False
    STRUCTURED = ("line1", "city", "state", "zipcode")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "address_%s")
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = addresses.country_choices()
        self.fields["country"].widget.attrs["autocomplete"] = "country"
        self.from_paste = self.is_bound and self._only_pasted()
        if self.from_paste:  # a pasted line alone is enough: the fields it fills are not required
            for name in (*self.STRUCTURED, "country"):
                self.fields[name].required = False

    def _only_pasted(self) -> bool:
        return bool((self.data.get("paste") or "").strip()) and not any(
            (self.data.get(name) or "").strip() for name in self.STRUCTURED
        )

    @classmethod
    def filled_from(cls, address: Address) -> AddressForm:
        """An unbound form showing an address (parsed from a pasted line, or the kept one)."""
        return cls(initial=address.as_dict())

    def clean(self):
        data = super().clean()
        if self.from_paste:
            try:
                data["address"] = addresses.parse_address(data.get("paste", ""))
            except AddressError as error:
                self.paste_error = str(error)  # shown under the pasted line, as "Fill from pasted address" does
                self.add_error("paste", str(error))
            return data
        if self.errors:  # a required field left empty, or an unknown country: say that first
            return data
        address, errors = addresses.validate_address(**{name: data.get(name, "") for name in addresses.PARTS})
        for error in errors:
            self.add_error(error.part, f"{error.problem[:1].upper()}{error.problem[1:]}.")
        data["address"] = address
        return data


def parse_pasted(form_data) -> tuple[AddressForm, bool]:
    """The form after "Fill from pasted address": filled from the pasted line, or showing why it did not parse."""
    text = (form_data.get("paste") or "").strip()
    try:
        address = addresses.parse_address(text)
    except AddressError as error:
        form = AddressForm(initial={name: form_data.get(name, "") for name in addresses.PARTS} | {"paste": text})
        form.paste_error = str(error)
        return form, False
    return AddressForm.filled_from(address), True


class AttachCustomerForm(forms.Form):
    customer_id = forms.CharField(
        label="Customer organization ID",
        max_length=100,
        help_text="The customer's owner finds it on their organization's overview page; one of its owners then "
        "accepts the invitation. Example: 1b4e28ba-2fa1-41d2-883f-0016d3cca427",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "class": "mono-input"}),
    )


def _amount_field(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=32,
        help_text=help_text,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "class": "amount-input"}),
    )


class ChargeForm(forms.Form):
    """A charge: the amounts stay strings until ``money.parse_amount`` reads them (never a float)."""

    customer = forms.ChoiceField(label="Customer")
    description = forms.CharField(
        label="Description",
        max_length=DESCRIPTION_MAX_LENGTH,
        help_text="What the charge is for, as the customer reads it on the invoice.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    subtotal = _amount_field("Subtotal (USD)", f"More than $0.00, at most {format_usd(MAX_AMOUNT)}. Example: 1250.00")
    tax = _amount_field("Tax (USD)", "0 when there is no tax.")
    form_token = forms.CharField(widget=forms.HiddenInput, max_length=FORM_TOKEN_MAX_LENGTH)

    def __init__(self, *args, customer_choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = [("", "Choose a customer"), *customer_choices]

    def _clean_amount(self, name: str, *, allow_zero: bool):
        try:
            return parse_amount(self.cleaned_data[name], field=name, allow_zero=allow_zero)
        except AmountError as error:
            raise ValidationError(f"{error.problem[:1].upper()}{error.problem[1:]}.") from None

    def clean_subtotal(self):
        return self._clean_amount("subtotal", allow_zero=False)

    def clean_tax(self):
        return self._clean_amount("tax", allow_zero=True)

    def clean(self):
        data = super().clean()
        if data.get("subtotal") is not None and data.get("tax") is not None:
            data["total"] = data["subtotal"] + data["tax"]
        return data
