"""Every input rule of the auth service, shared by the forms, the services and (later) the API.

Each error names the value and what is accepted, the way the platform's CLI
does, and is keyed by its field: ``{"redirect_uris": "'http://example.com/cb' must
use https (http is allowed only for localhost, 127.0.0.1 and [::1])"}``. The
message never repeats the field's name; the channel shows it (the web form under
the field's label, the API and the CLI as ``redirect_uris: …``).

URI rules (redirect, logout, invite redirect and origin URIs):

- absolute ``https`` URLs; ``http`` only on the loopback hosts ``localhost``,
  ``127.0.0.1`` and ``[::1]`` (RFC 8252 native apps and local development);
- no userinfo, no fragment, no ``.``/``..`` path segments, no backslash,
  whitespace or control characters anywhere (browsers "repair" those, and the
  repaired URL is not the one that was reviewed: ``https://evil.com\\@good.com``);
- origins are ``scheme://host[:port]`` only; a lone trailing ``/`` is dropped;
- the scheme and host are normalized to lower case, and internationalized
  host names to their IDNA ASCII form (``xn--…``): that is what browsers put on
  the wire (the ``Origin`` header, the ``Host``), it makes duplicates visible,
  and it shows look-alike hosts for what they are;
- a host with a trailing dot (``example.com.``) is **refused**, not normalized:
  DNS treats it as the same name, but an exact-match comparison, TLS
  certificates and cookies do not, so one spelling per host is kept;
- a wildcard only under ``url_validation=allow_wildcards``, one per URI, and
  only as the whole leftmost label of a domain name with at least two labels
  after it that are not a known public suffix: ``https://*.example.com/cb``,
  not ``https://*.com``, ``https://*.co.uk``, ``https://a.*.example.com`` or
  ``https://*abc.example.com``.

Lists are de-duplicated (after normalization, first occurrence kept) and hold
at most ``MAX_URIS`` entries of at most ``MAX_URI_LENGTH`` characters.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import unicodedata
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from PIL import Image

from fleetadmin.core.text import accepted, shown
from fleetadmin.oauth.rules import (
    LOGO_MAX_BYTES,
    LOGO_MAX_PIXELS,
    LOGO_MAX_SIDE,
    LOGO_MIN_SIDE,
    MAX_CLIENT_NAME_LENGTH,
    MAX_URI_LENGTH,
    MAX_URIS,
    ClientAuthentication,
    Grant,
    Pkce,
    UrlValidation,
    logo_too_large,
    one_of,
    unknown_grant,
)

MAX_ERRORS_PER_FIELD = 10
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
HTTP_RULE = "http is allowed only for localhost, 127.0.0.1 and [::1]"
WILDCARD_EXAMPLE = "https://*.example.com/callback"
# Public suffixes of two labels that are common enough to matter. fleetadmin does not bundle the
# Public Suffix List; a wildcard directly above one of these would cover unrelated sites.
MULTI_LABEL_PUBLIC_SUFFIXES = frozenset(
    {
        "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "com.au", "net.au", "org.au", "co.nz", "co.jp",
        "ne.jp", "or.jp", "co.kr", "com.br", "com.cn", "com.tw", "com.hk", "co.in", "co.za", "com.mx",
        "com.ar", "com.tr", "com.sg", "co.il", "github.io", "herokuapp.com", "vercel.app", "netlify.app",
        "pages.dev", "workers.dev", "appspot.com", "cloudfront.net", "azurewebsites.net",
    }
)  # fmt: skip
DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")
IDNA_DEVIATIONS = frozenset("ßς")

CLIENT_AUTHENTICATION_CAN_BE_USED = frozenset(
    {ClientAuthentication.REQUIRED, ClientAuthentication.NOT_REQUIRED_WHEN_USING_PKCE, ClientAuthentication.UNSPECIFIED}
)
GRANTS_THAT_ISSUE_REFRESH_TOKENS = frozenset({Grant.AUTHORIZATION_CODE, Grant.PASSWORD, Grant.DEVICE_CODE})
GRANT_WARNINGS = {
    Grant.IMPLICIT: (
        "implicit: OAuth 2.1 drops the implicit grant (tokens travel in the URL, where they leak into "
        "history and logs); prefer authorization_code with PKCE."
    ),
    Grant.PASSWORD: (
        "password: OAuth 2.1 drops the password grant (the application sees the end user's password); "
        "prefer authorization_code with PKCE, or device_code for devices without a browser."
    ),
}
REFRESH_ALONE_WARNING = (
    "refresh_token: on its own it issues no tokens; it renews tokens obtained with authorization_code, "
    "password or device_code."
)


# ---- enumerations ----------------------------------------------------------------------------------


def clean_choice(value: Any, choices: type[ClientAuthentication | Pkce | UrlValidation], field: str) -> str:
    text = "" if value is None else str(value).strip()
    if text not in choices.values:
        raise ValidationError({field: one_of(choices.values, text)})
    return text


def clean_grants(values: Iterable[Any] | str | None) -> list[str]:
    """A non-empty subset of the five grants, in the platform's order, duplicates removed."""
    if isinstance(values, str):
        values = split_list(values)
    given = [str(v).strip() for v in (values or []) if str(v).strip()]
    unknown = [v for v in given if v not in Grant.values]
    if unknown:
        raise ValidationError({"enabled_grants": [unknown_grant(v) for v in unknown[:MAX_ERRORS_PER_FIELD]]})
    if not given:
        raise ValidationError({"enabled_grants": f"choose at least one of {accepted(Grant.values)}"})
    return [grant for grant in Grant.values if grant in given]


def grant_warnings(grants: Iterable[str]) -> list[str]:
    grants = set(grants)
    notes = [message for grant, message in GRANT_WARNINGS.items() if grant in grants]
    if Grant.REFRESH_TOKEN in grants and not grants & GRANTS_THAT_ISSUE_REFRESH_TOKENS:
        notes.append(REFRESH_ALONE_WARNING)
    return notes


def check_combination(client_authentication: str, pkce: str) -> None:
    """Refuse client authentication / PKCE pairs that leave a stolen code usable, or that contradict themselves."""
    if client_authentication == ClientAuthentication.NOT_REQUIRED and pkce == Pkce.NOT_REQUIRED:
        raise ValidationError(
            {
                "pkce": (
                    "'not_required' together with client_authentication 'not_required' would let anyone "
                    "who intercepts an authorization code exchange it for tokens; require PKCE (pkce 'required') "
                    "or client authentication (client_authentication 'required')"
                )
            }
        )
    if client_authentication == ClientAuthentication.NOT_REQUIRED_WHEN_USING_PKCE and pkce == Pkce.NOT_REQUIRED:
        raise ValidationError(
            {
                "client_authentication": (
                    "'not_required_when_using_pkce' waives client authentication for "
                    "clients that use PKCE, but pkce is 'not_required'; set pkce to required, unspecified or "
                    "not_required_when_using_client_authentication, or client_authentication to required"
                )
            }
        )
    if (
        pkce == Pkce.NOT_REQUIRED_WHEN_USING_CLIENT_AUTHENTICATION
        and client_authentication not in CLIENT_AUTHENTICATION_CAN_BE_USED
    ):
        raise ValidationError(
            {
                "pkce": (
                    "'not_required_when_using_client_authentication' waives PKCE for clients that "
                    f"authenticate, but client_authentication is '{client_authentication}'; set "
                    "client_authentication to required or not_required_when_using_pkce, or pkce to required"
                )
            }
        )


# ---- URIs ------------------------------------------------------------------------------------------

# Split "a, b" and "a\nb", but not the comma inside "https://a.example/cb?x=1,2": a comma separates
# two URIs only when what follows it starts with a scheme.
_LIST_SEPARATOR = re.compile(r"\r\n|\r|\n|,\s*(?=[A-Za-z][A-Za-z0-9+.-]*:)")


def split_list(value: str | Iterable[str] | None) -> list[str]:
    """One URI per line, or comma-separated, as the web form and the CLI's flags take them."""
    if value is None:
        return []
    parts = _LIST_SEPARATOR.split(value) if isinstance(value, str) else [str(v) for v in value]
    return [part.strip().rstrip(",").strip() for part in parts if part.strip().rstrip(",").strip()]


def _refuse(field: str, value: str, rule: str) -> ValidationError:
    return ValidationError(f"'{shown(value)}' {rule}")


def _ascii_host(field: str, value: str, host: str) -> str:
    """The host in IDNA ASCII form, or a refusal naming the rule it breaks."""
    if host.endswith("."):
        raise _refuse(
            field, value, f"has a trailing dot in its host; write the host without it ('{shown(host.rstrip('.'))}')"
        )
    deviations = sorted(set(host) & IDNA_DEVIATIONS)
    if deviations:
        # IDNA 2003 (Python's codec) maps these to other letters than browsers (UTS 46) do.
        raise _refuse(
            field,
            value,
            f"has '{deviations[0]}' in its host, which browsers and older IDNA rules map to different "
            "hosts; write the host in its ASCII (xn--) form",
        )
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _refuse(
            field, value, f"has an invalid host name '{shown(host)}' (empty or over-long label, or not IDNA)"
        ) from None
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(DNS_LABEL.match(label) for label in labels):
        raise _refuse(
            field,
            value,
            f"has an invalid host name '{shown(host)}'; accepted: letters, digits and hyphens in "
            "dot-separated labels (internationalized names are fine)",
        )
    if NUMERIC_LABEL.match(labels[-1]):
        # Browsers read "127.1" or "0x7f.1" as IPv4 addresses; only the plain dotted quad is accepted.
        raise _refuse(
            field, value, f"has '{shown(host)}' as host, which is neither a domain nor a dotted-quad IPv4 address"
        )
    return ascii_host


def _normalized_host(field: str, value: str, hostname: str, *, allow_wildcards: bool, url_validation: str) -> str:
    """Validate the host (IP literal, domain name, or one leftmost wildcard label) and return its normal form."""
    if hostname.startswith("["):
        try:
            address = ipaddress.IPv6Address(hostname.strip("[]"))
        except ValueError:
            raise _refuse(field, value, f"has an invalid IPv6 address '{shown(hostname)}'") from None
        return f"[{address.compressed}]"
    try:
        return str(ipaddress.IPv4Address(hostname))
    except ValueError:
        pass
    if "*" not in hostname:
        return _ascii_host(field, value, hostname)
    if not allow_wildcards:
        raise _refuse(
            field,
            value,
            f"contains a wildcard, which needs url_validation 'allow_wildcards' (it is '{url_validation}'); "
            "list each host, or allow wildcards",
        )
    first, _, rest = hostname.partition(".")
    if first != "*" or "*" in rest:
        raise _refuse(field, value, f"may use '*' only as the whole leftmost host label, as in {WILDCARD_EXAMPLE}")
    if rest.startswith("[") or rest.replace(".", "").isdigit():
        raise _refuse(field, value, "puts a wildcard on an IP address; a wildcard needs a domain name")
    parent = _ascii_host(field, value, rest) if rest else ""
    if parent.count(".") < 1 or parent in MULTI_LABEL_PUBLIC_SUFFIXES:
        raise _refuse(
            field,
            value,
            f"puts a wildcard directly above '{parent or '(nothing)'}', which would match unrelated sites; "
            f"a wildcard needs a domain of at least two labels under it, as in {WILDCARD_EXAMPLE}",
        )
    return f"*.{parent}"


def clean_uri(value: str, *, field: str, origin: bool = False, url_validation: str = UrlValidation.EXACT_MATCH) -> str:
    """One URI checked against every rule above; returns its normalized form or raises ValidationError."""
    allow_wildcards = url_validation == UrlValidation.ALLOW_WILDCARDS
    if len(value) > MAX_URI_LENGTH:
        raise _refuse(field, value, f"is {len(value)} characters long; at most {MAX_URI_LENGTH} are accepted")
    if "\\" in value:
        raise _refuse(field, value, "contains a backslash, which browsers read as '/'; use '/'")
    if any(ch.isspace() for ch in value):
        raise _refuse(field, value, "contains whitespace; percent-encode it (%20)")
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Co", "Cs", "Cn"} for ch in value):
        raise _refuse(field, value, "contains control or invisible characters")
    example = "https://app.example.com" if origin else "https://app.example.com/callback"
    try:
        parts = urlsplit(value)
    except ValueError:
        raise _refuse(field, value, f"is not a valid URL; expected an absolute https URL such as {example}") from None
    scheme = parts.scheme.lower()
    if not scheme or not value[len(scheme) + 1 :].startswith("//"):
        raise _refuse(field, value, f"must be an absolute URL starting with https://, such as {example}")
    if scheme not in {"https", "http"}:
        raise _refuse(field, value, f"must use https, not '{shown(parts.scheme)}' ({HTTP_RULE})")
    if "@" in parts.netloc:
        raise _refuse(field, value, "must not contain a user name or password (the part before '@')")
    if "#" in value:
        raise _refuse(field, value, "must not contain a fragment ('#…')")
    if not parts.netloc or not parts.hostname:
        raise _refuse(field, value, f"has no host; expected a URL such as {example}")
    if value.count("*") > 1:
        raise _refuse(field, value, f"has more than one '*'; at most one wildcard per URI, as in {WILDCARD_EXAMPLE}")
    if "*" in parts.path or "*" in parts.query:
        raise _refuse(
            field,
            value,
            f"has '*' in its path or query; '*' is accepted only as a wildcard host label ({WILDCARD_EXAMPLE}, "
            "under url_validation 'allow_wildcards'); percent-encode a literal asterisk as %2A",
        )
    try:
        port = parts.port
    except ValueError:
        raise _refuse(field, value, "has an invalid port; accepted: a number from 1 to 65535") from None
    if port == 0 or parts.netloc.endswith(":"):
        raise _refuse(field, value, "has an invalid port; accepted: a number from 1 to 65535")
    # Read the host as written (urlsplit().hostname drops the brackets of an IPv6 literal).
    if parts.netloc.startswith("["):
        raw_host = parts.netloc[: parts.netloc.find("]") + 1]
    else:
        raw_host = parts.netloc.rsplit(":", 1)[0] if ":" in parts.netloc else parts.netloc
    host = _normalized_host(
        field, value, raw_host.lower(), allow_wildcards=allow_wildcards, url_validation=url_validation
    )
    if scheme == "http" and host not in LOOPBACK_HOSTS:
        raise _refuse(field, value, f"must use https ({HTTP_RULE})")
    segments = [unquote(segment) for segment in parts.path.split("/")]
    if any(segment in {".", ".."} for segment in segments):
        raise _refuse(field, value, "must not contain '.' or '..' path segments")
    netloc = host if port is None else f"{host}:{port}"
    if origin:
        if parts.query or value.endswith("?"):
            raise _refuse(field, value, f"is an origin and cannot have a query; write only scheme and host ({example})")
        if parts.path not in {"", "/"}:
            raise _refuse(
                field, value, f"is an origin and cannot have a path; write only scheme, host and port ({example})"
            )
        return _within_length(field, value, f"{scheme}://{netloc}")
    rest = value[len(parts.scheme) + 3 + len(parts.netloc) :]
    return _within_length(field, value, f"{scheme}://{netloc}{rest}")


def _within_length(field: str, value: str, normalized: str) -> str:
    """The normalized URI, if it still fits: IDNA (xn--) encoding makes an internationalized host longer."""
    if len(normalized) > MAX_URI_LENGTH:
        raise _refuse(
            field,
            value,
            f"is {len(normalized)} characters long once its host is written in ASCII (IDNA) form; "
            f"at most {MAX_URI_LENGTH} are accepted",
        )
    return normalized


def clean_uri_list(
    values: str | Iterable[str] | None,
    *,
    field: str,
    origin: bool = False,
    url_validation: str = UrlValidation.EXACT_MATCH,
    required: bool = False,
) -> list[str]:
    """Every URI cleaned, duplicates dropped (first kept), at most MAX_URIS; all errors reported together."""
    cleaned: list[str] = []
    errors: list[str] = []
    for value in split_list(values):
        try:
            uri = clean_uri(value, field=field, origin=origin, url_validation=url_validation)
        except ValidationError as error:
            errors.extend(error.messages)
        else:
            if uri not in cleaned:
                cleaned.append(uri)
    if errors:
        if len(errors) > MAX_ERRORS_PER_FIELD:
            more = len(errors) - MAX_ERRORS_PER_FIELD
            errors = [*errors[:MAX_ERRORS_PER_FIELD], f"…and {more} more invalid URI{'s' if more > 1 else ''}"]
        raise ValidationError({field: errors})
    if len(cleaned) > MAX_URIS:
        raise ValidationError({field: f"{len(cleaned)} distinct URIs given; at most {MAX_URIS} are accepted"})
    if required and not cleaned:
        kind = "origin" if origin else "redirect URI"
        raise ValidationError({field: f"enter at least one {kind}, an absolute https URL (one per line)"})
    return cleaned


def clean_single_uri(value: Any, *, field: str, url_validation: str, required: bool) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise ValidationError({field: "enter an absolute https URL, such as https://app.example.com/"})
        return ""
    try:
        return clean_uri(text, field=field, url_validation=url_validation)
    except ValidationError as error:
        raise ValidationError({field: error.messages}) from None


def clean_client_name(value: Any) -> str:
    name = " ".join(("" if value is None else str(value)).split())
    if len(name) > MAX_CLIENT_NAME_LENGTH:
        raise ValidationError({"client_name": f"at most {MAX_CLIENT_NAME_LENGTH} characters; this one has {len(name)}"})
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ValidationError({"client_name": f"'{shown(name)}' contains control characters"})
    return name


# ---- an application's whole configuration ----------------------------------------------------------

APP_FIELDS = (
    "client_name",
    "client_authentication",
    "pkce",
    "url_validation",
    "enabled_grants",
    "redirect_uris",
    "logout_uri",
    "origin_uris",
    "invite_redirect_uri",
)
URI_FIELDS = ("redirect_uris", "logout_uri", "origin_uris", "invite_redirect_uri")


@dataclass(frozen=True)
class AppConfig:
    """An OAuth application's configuration, every field validated and normalized."""

    client_name: str
    client_authentication: str
    pkce: str
    url_validation: str
    enabled_grants: list[str]
    redirect_uris: list[str]
    logout_uri: str
    origin_uris: list[str] = field(default_factory=list)
    invite_redirect_uri: str = ""

    @property
    def warnings(self) -> list[str]:
        return grant_warnings(self.enabled_grants)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in APP_FIELDS}


def validate_app_config(data: Mapping[str, Any]) -> AppConfig:
    """Check every field and the combinations; raise one ValidationError listing every problem by field."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}

    def attempt(name: str, clean) -> None:
        try:
            cleaned[name] = clean()
        except ValidationError as error:
            for key, messages in error.message_dict.items():
                errors.setdefault(key, []).extend(messages)

    attempt("client_name", lambda: clean_client_name(data.get("client_name")))
    attempt(
        "client_authentication",
        lambda: clean_choice(data.get("client_authentication"), ClientAuthentication, "client_authentication"),
    )
    attempt("pkce", lambda: clean_choice(data.get("pkce"), Pkce, "pkce"))
    attempt("url_validation", lambda: clean_choice(data.get("url_validation"), UrlValidation, "url_validation"))
    attempt("enabled_grants", lambda: clean_grants(data.get("enabled_grants")))
    # With an invalid url_validation, judge URIs by the strictest policy rather than not at all.
    policy = cleaned.get("url_validation", UrlValidation.EXACT_MATCH)
    attempt(
        "redirect_uris",
        lambda: clean_uri_list(data.get("redirect_uris"), field="redirect_uris", url_validation=policy, required=True),
    )
    attempt(
        "logout_uri",
        lambda: clean_single_uri(data.get("logout_uri"), field="logout_uri", url_validation=policy, required=True),
    )
    attempt(
        "origin_uris",
        lambda: clean_uri_list(data.get("origin_uris"), field="origin_uris", origin=True, url_validation=policy),
    )
    attempt(
        "invite_redirect_uri",
        lambda: clean_single_uri(
            data.get("invite_redirect_uri"), field="invite_redirect_uri", url_validation=policy, required=False
        ),
    )
    if "client_authentication" in cleaned and "pkce" in cleaned:
        attempt("combination", lambda: check_combination(cleaned["client_authentication"], cleaned["pkce"]))
    if errors:
        raise ValidationError(errors)
    return AppConfig(**{name: cleaned[name] for name in APP_FIELDS})


# ---- support email ---------------------------------------------------------------------------------


def clean_support_email(value: Any) -> str:
    email = ("" if value is None else str(value)).strip()
    if not email:
        raise ValidationError({"support_email": "enter the address end users write to for help; it cannot be empty"})
    if len(email) > 254:
        raise ValidationError({"support_email": f"at most 254 characters; this address has {len(email)}"})
    try:
        EmailValidator()(email)
    except ValidationError:
        raise ValidationError(
            {"support_email": f"'{shown(email)}' is not an email address (name@example.com)"}
        ) from None
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


# ---- logo ------------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SNIFFS = (
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"RIFF", "a RIFF file (WebP?)"),
    (b"BM", "a BMP image"),
    (b"%PDF", "a PDF document"),
    (b"\x00\x00\x01\x00", "an ICO icon"),
)


@dataclass(frozen=True)
class Logo:
    data: bytes
    width: int
    height: int
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)


def _logo_error(rule: str) -> ValidationError:
    return ValidationError({"logo": rule})


def _what_it_is(data: bytes) -> str:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    for magic, name in _SNIFFS:
        if data.startswith(magic):
            return name
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()):
        return "an SVG image"
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
        return "an HTML document"
    if head.startswith(b"<"):
        return "an XML or HTML document"
    return "not a PNG image"


def _png_end(data: bytes) -> int | None:
    """Offset just past the IEND chunk, walking the chunk structure; None if it is broken."""
    offset = len(PNG_SIGNATURE)
    while offset + 12 <= len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        chunk_type = data[offset + 4 : offset + 8]
        offset += 12 + length
        if offset > len(data):
            return None
        if chunk_type == b"IEND":
            return offset
    return None


def clean_logo(data: bytes) -> Logo:
    """A PNG proven by decoding it, within the size and dimension bounds; anything else is refused.

    The file name and the declared content type are ignored: only the bytes count.
    Dimensions are read from the header and checked *before* decoding, so a
    decompression bomb (a tiny file declaring a huge canvas) is never inflated.
    """
    if not data:
        raise _logo_error("the file is empty; upload a PNG image")
    if len(data) > LOGO_MAX_BYTES:
        raise _logo_error(logo_too_large(len(data)))
    if not data.startswith(PNG_SIGNATURE):
        raise _logo_error(f"must be a PNG image; this file is {_what_it_is(data)}")
    end = _png_end(data)
    if end is None:
        raise _logo_error(
            "the file starts with a PNG signature but its chunks are broken or truncated; it is not a PNG"
        )
    if end != len(data):
        raise _logo_error(f"the file has {len(data) - end:,} bytes of other data after the end of the PNG")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data), formats=["PNG"]) as image:
                if image.format != "PNG":
                    raise _logo_error(f"must be a PNG image; this file decodes as {image.format}")
                width, height = image.size
                if width * height > LOGO_MAX_PIXELS or max(width, height) > LOGO_MAX_SIDE:
                    raise _logo_error(
                        f"the image is {width}×{height} pixels; each side must be between "
                        f"{LOGO_MIN_SIDE} and {LOGO_MAX_SIDE} pixels"
                    )
                if min(width, height) < LOGO_MIN_SIDE:
                    raise _logo_error(
                        f"the image is {width}×{height} pixels; each side must be between "
                        f"{LOGO_MIN_SIDE} and {LOGO_MAX_SIDE} pixels"
                    )
                image.verify()
            with Image.open(BytesIO(data), formats=["PNG"]) as image:
                image.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _logo_error(
            f"the image expands to too many pixels (a decompression bomb); each side must be between "
            f"{LOGO_MIN_SIDE} and {LOGO_MAX_SIDE} pixels"
        ) from None
    except Exception:  # Pillow raises OSError, SyntaxError, ValueError, struct.error... for broken files
        raise _logo_error("the file starts like a PNG but does not decode as one; export it again as PNG") from None
    return Logo(data=data, width=width, height=height, sha256=hashlib.sha256(data).hexdigest())
