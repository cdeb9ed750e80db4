"""Forms of the auth service screens. The rules themselves live in ``validation`` (shared with the services)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from fleetadmin.oauth import rules, validation
from fleetadmin.oauth.models import ClientAuthentication, Grant, OAuthApplication, Pkce, UrlValidation

# The one-time token lands in OAuthApplication.creation_token: bounded like that column.
FORM_TOKEN_MAX_LENGTH = OAuthApplication._meta.get_field("creation_token").max_length

GRANT_DESCRIPTIONS = {
    Grant.AUTHORIZATION_CODE: "sign-in in the browser, redirected back with a code",
    Grant.IMPLICIT: "tokens returned in the redirect URL (legacy)",
    Grant.PASSWORD: "the app collects the end user's password (legacy)",
    Grant.REFRESH_TOKEN: "renew tokens without signing in again",
    Grant.DEVICE_CODE: "sign in on another device (TVs, CLIs, robots)",
}
# When a field changes, these fields' feedback may change too (combination and URL-policy rules).
RELATED_FIELDS = {
    "client_authentication": ("pkce",),
    "pkce": ("client_authentication",),
    "url_validation": validation.URI_FIELDS,
}


def _values(choices) -> list[tuple[str, str]]:
    """Options labelled with the platform's own values, the words the CLI and the error messages use."""
    return [(value, value) for value in choices.values]


class AppForm(forms.Form):
    """Every field of ``oauth-app create``. Fields are lenient here; ``validation`` words every error."""

    client_name = forms.CharField(
        label="Client name",
        required=False,
        help_text=f"Shown to end users when they sign in. Up to {rules.MAX_CLIENT_NAME_LENGTH} characters.",
    )
    client_authentication = forms.CharField(
        label="Client authentication",
        widget=forms.Select(choices=_values(ClientAuthentication)),
        help_text="Whether the app must prove itself with its client secret.",
    )
    pkce = forms.CharField(
        label="PKCE",
        widget=forms.Select(choices=_values(Pkce)),
        help_text="Whether each authorization code must be tied to the app that asked for it.",
    )
    url_validation = forms.CharField(
        label="URL validation policy",
        widget=forms.Select(choices=_values(UrlValidation)),
        help_text="How the redirect, logout and origin URLs are matched.",
    )
    enabled_grants = forms.Field(
        label="Enabled grants",
        required=False,
        widget=forms.CheckboxSelectMultiple(choices=_values(Grant)),
    )
    redirect_uris = forms.CharField(
        label="Redirect URLs",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"}),
        help_text="One per line, or separated by commas. https, or http for localhost, 127.0.0.1 and [::1].",
    )
    logout_uri = forms.CharField(
        label="Logout URL",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off", "inputmode": "url"}),
        help_text="Where end users land after signing out.",
    )
    origin_uris = forms.CharField(
        label="Origin URLs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "autocomplete": "off"}),
        help_text="Web origins allowed to call the auth service from a browser: scheme, host and port, no path.",
    )
    invite_redirect_uri = forms.CharField(
        label="Invite redirect URL",
        required=False,
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off", "inputmode": "url"}),
        help_text="Where invited end users land after accepting their invitation.",
    )

    def __init__(self, *args, validate_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.config: validation.AppConfig | None = None
        for name, field in self.fields.items():
            # Django's own "required" check would word the error differently from the service; let validation do it.
            field.show_as_required = field.required
            field.required = False
            describedby = f"errors-{name}" + (f" {name}-help" if field.help_text else "")
            field.widget.attrs["aria-describedby"] = describedby
            if validate_url:
                field.widget.attrs.update(
                    {
                        "hx-post": validate_url,
                        "hx-trigger": "change",
                        "hx-swap": "none",
                        "hx-include": "closest form",
                    }
                )

    @classmethod
    def initial_for(cls, app: OAuthApplication) -> dict:
        return {
            "client_name": app.client_name,
            "client_authentication": app.client_authentication,
            "pkce": app.pkce,
            "url_validation": app.url_validation,
            "enabled_grants": list(app.enabled_grants),
            "redirect_uris": "\n".join(app.redirect_uris),
            "logout_uri": app.logout_uri,
            "origin_uris": "\n".join(app.origin_uris),
            "invite_redirect_uri": app.invite_redirect_uri,
        }

    def clean(self):
        data = super().clean()
        raw = {name: data.get(name) for name in validation.APP_FIELDS}
        try:
            self.config = validation.validate_app_config(raw)
        except ValidationError as error:
            self.add_service_errors(error)
        return data

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, messages in error.message_dict.items():
            self.add_error(name if name in self.fields else None, messages)

    @property
    def grant_options(self) -> list[tuple]:
        """Each grant's checkbox with a one-line description, for the template."""
        return [(option, GRANT_DESCRIPTIONS[option.data["value"]]) for option in self["enabled_grants"]]

    @property
    def warnings(self) -> list[str]:
        if self.config is not None:
            return self.config.warnings
        grants = self.data.getlist("enabled_grants") if self.is_bound else self.initial.get("enabled_grants", [])
        return validation.grant_warnings(g for g in grants if g in Grant.values)

    def feedback(self, name: str) -> dict:
        """What the field's feedback region shows: its errors, and for the grants the OAuth 2.1 warnings."""
        return {
            "name": name,
            "errors": self.errors.get(name, []) if self.is_bound else [],
            "warnings": self.warnings if name == "enabled_grants" else [],
        }


class AppCreateForm(AppForm):
    form_token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=FORM_TOKEN_MAX_LENGTH)


class LogoForm(forms.Form):
    logo = forms.FileField(
        label="Logo (PNG)",
        help_text=(
            "PNG only, at most 200 KB, each side 16 to 4096 pixels. The sign-in page shows it at most "
            "200 × 72 pixels: a wide logo (such as 256 × 64) fills the width, a square one shows at 72 × 72."
        ),
        widget=forms.FileInput(attrs={"accept": "image/png", "aria-describedby": "logo-help errors-logo"}),
        error_messages={
            "required": "choose a PNG file to upload",
            "empty": "the file is empty; upload a PNG image",
            "invalid": "no file was received; choose a PNG file to upload",
        },
    )

    def clean_logo(self) -> bytes:
        upload = self.cleaned_data["logo"]
        if upload.size > rules.LOGO_MAX_BYTES:
            # Refuse before reading: a huge upload is never loaded into memory.
            raise ValidationError(rules.logo_too_large(upload.size))
        return upload.read(rules.LOGO_MAX_BYTES + 1)


class SupportEmailForm(forms.Form):
    support_email = forms.CharField(
        label="Support email",
        max_length=300,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "aria-describedby": "support_email-help"}),
        help_text="Shown on the sign-in page as “Need help? Contact …”.",
        error_messages={"required": "enter the address end users write to for help; it cannot be empty"},
    )
