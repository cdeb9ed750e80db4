"""Every validation rule of the auth service, table-driven, with the exact words an admin reads."""

import pytest
from django.core.exceptions import ValidationError

from fleetadmin.oauth import validation
from fleetadmin.oauth.validation import clean_uri, clean_uri_list, split_list, validate_app_config
from tests.oauth.conftest import VALID_APP

HTTP_RULE = "must use https (http is allowed only for localhost, 127.0.0.1 and [::1])"
LEFTMOST = "may use '*' only as the whole leftmost host label, as in https://*.example.com/callback"

# (value, url_validation, normalized form)
ACCEPTED = [
    ("https://example.com/callback", "exact_match", "https://example.com/callback"),
    ("https://example.com", "exact_match", "https://example.com"),
    ("https://example.com/cb?state=1,2&x=%20", "exact_match", "https://example.com/cb?state=1,2&x=%20"),
    ("https://example.com:8443/cb", "exact_match", "https://example.com:8443/cb"),
    ("HTTPS://Example.COM/Callback", "exact_match", "https://example.com/Callback"),  # path case is kept
    ("https://good.com.evil.com/cb", "exact_match", "https://good.com.evil.com/cb"),  # just a host
    ("https://münchen.de/cb", "exact_match", "https://xn--mnchen-3ya.de/cb"),  # IDN, stored as IDNA ASCII
    ("https://xn--mnchen-3ya.de/cb", "exact_match", "https://xn--mnchen-3ya.de/cb"),
    ("https://ÉXAMPLE.fr/cb", "exact_match", "https://xn--xample-9ua.fr/cb"),
    ("http://localhost/cb", "exact_match", "http://localhost/cb"),
    ("http://localhost:3000/cb", "exact_match", "http://localhost:3000/cb"),
    ("HTTP://LOCALHOST:3000/cb", "exact_match", "http://localhost:3000/cb"),
    ("http://127.0.0.1:8080/cb", "exact_match", "http://127.0.0.1:8080/cb"),
    ("http://[::1]:8080/cb", "exact_match", "http://[::1]:8080/cb"),
    ("http://[0:0::1]/cb", "exact_match", "http://[::1]/cb"),
    ("https://10.0.0.7/cb", "exact_match", "https://10.0.0.7/cb"),
    ("https://*.example.com/cb", "allow_wildcards", "https://*.example.com/cb"),
    ("https://*.münchen.de/cb", "allow_wildcards", "https://*.xn--mnchen-3ya.de/cb"),
    ("https://*.apps.example.co.uk/cb", "allow_wildcards", "https://*.apps.example.co.uk/cb"),
    ("https://example.com/a%2Fb", "exact_match", "https://example.com/a%2Fb"),
    ("https://example.com/%2A", "exact_match", "https://example.com/%2A"),
]

# (value, url_validation, the rule in the message after "'<value>' ")
REFUSED = [
    ("http://example.com/cb", "exact_match", HTTP_RULE),
    ("http://127.0.0.2/cb", "exact_match", HTTP_RULE),
    ("http://localhost.example.com/cb", "exact_match", HTTP_RULE),
    ("http://192.168.1.10/cb", "exact_match", HTTP_RULE),
    ("https://evil.com\\@good.com", "exact_match", "contains a backslash, which browsers read as '/'; use '/'"),
    ("https://good.com\\evil.com/cb", "exact_match", "contains a backslash, which browsers read as '/'; use '/'"),
    ("https://user@good.com/cb", "exact_match", "must not contain a user name or password (the part before '@')"),
    ("https://good.com@evil.com/cb", "exact_match", "must not contain a user name or password (the part before '@')"),
    ("https://u:p@good.com/cb", "exact_match", "must not contain a user name or password (the part before '@')"),
    ("https://example.com/cb#top", "exact_match", "must not contain a fragment ('#…')"),
    ("https://example.com/cb#", "exact_match", "must not contain a fragment ('#…')"),
    ("https://example.com/a/../cb", "exact_match", "must not contain '.' or '..' path segments"),
    ("https://example.com/..", "exact_match", "must not contain '.' or '..' path segments"),
    ("https://example.com/a/%2e%2E/cb", "exact_match", "must not contain '.' or '..' path segments"),
    ("https://example.com/a/./cb", "exact_match", "must not contain '.' or '..' path segments"),
    (
        "https://example.com./cb",
        "exact_match",
        "has a trailing dot in its host; write the host without it ('example.com')",
    ),
    ("http://localhost./cb", "exact_match", "has a trailing dot in its host; write the host without it ('localhost')"),
    (
        "https://straße.de/cb",
        "exact_match",
        "has 'ß' in its host, which browsers and older IDNA rules map to different hosts; "
        "write the host in its ASCII (xn--) form",
    ),
    (
        "https://a..b.com/cb",
        "exact_match",
        "has an invalid host name 'a..b.com' (empty or over-long label, or not IDNA)",
    ),
    (
        "https://ex%61mple.com/cb",
        "exact_match",
        "has an invalid host name 'ex%61mple.com'; accepted: letters, digits and hyphens in dot-separated labels "
        "(internationalized names are fine)",
    ),
    (
        "https://-bad.example.com/cb",
        "exact_match",
        "has an invalid host name '-bad.example.com'; accepted: letters, digits and hyphens in dot-separated labels "
        "(internationalized names are fine)",
    ),
    (
        "https://127.1/cb",
        "exact_match",
        "has '127.1' as host, which is neither a domain nor a dotted-quad IPv4 address",
    ),
    (
        "example.com/callback",
        "exact_match",
        "must be an absolute URL starting with https://, such as https://app.example.com/callback",
    ),
    (
        "//example.com/callback",
        "exact_match",
        "must be an absolute URL starting with https://, such as https://app.example.com/callback",
    ),
    (
        "javascript:alert(1)",
        "exact_match",
        "must be an absolute URL starting with https://, such as https://app.example.com/callback",
    ),
    (
        "ftp://example.com/cb",
        "exact_match",
        "must use https, not 'ftp' (http is allowed only for localhost, 127.0.0.1 and [::1])",
    ),
    (
        "com.example.app://cb",
        "exact_match",
        "must use https, not 'com.example.app' (http is allowed only for localhost, 127.0.0.1 and [::1])",
    ),
    ("https:///cb", "exact_match", "has no host; expected a URL such as https://app.example.com/callback"),
    ("https://exa mple.com/cb", "exact_match", "contains whitespace; percent-encode it (%20)"),
    ("https://example.com/c\tb", "exact_match", "contains whitespace; percent-encode it (%20)"),
    ("https://example.com/cb\x00", "exact_match", "contains control or invisible characters"),
    ("https://exam\u200bple.com/cb", "exact_match", "contains control or invisible characters"),
    ("https://example.com:0/cb", "exact_match", "has an invalid port; accepted: a number from 1 to 65535"),
    ("https://example.com:99999/cb", "exact_match", "has an invalid port; accepted: a number from 1 to 65535"),
    ("https://example.com:https/cb", "exact_match", "has an invalid port; accepted: a number from 1 to 65535"),
    ("https://example.com:/cb", "exact_match", "has an invalid port; accepted: a number from 1 to 65535"),
    (
        "https://[::1/cb",
        "exact_match",
        "is not a valid URL; expected an absolute https URL such as https://app.example.com/callback",
    ),
    # wildcards
    (
        "https://*.example.com/cb",
        "exact_match",
        "contains a wildcard, which needs url_validation 'allow_wildcards' (it is 'exact_match'); list each host, "
        "or allow wildcards",
    ),
    (
        "https://*.example.com/cb",
        "unspecified",
        "contains a wildcard, which needs url_validation 'allow_wildcards' (it is 'unspecified'); list each host, "
        "or allow wildcards",
    ),
    (
        "https://*.com/cb",
        "allow_wildcards",
        "puts a wildcard directly above 'com', which would match unrelated sites; a wildcard needs a domain of at "
        "least two labels under it, as in https://*.example.com/callback",
    ),
    (
        "https://*.co.uk/cb",
        "allow_wildcards",
        "puts a wildcard directly above 'co.uk', which would match unrelated sites; a wildcard needs a domain of at "
        "least two labels under it, as in https://*.example.com/callback",
    ),
    (
        "http://*.localhost/cb",
        "allow_wildcards",
        "puts a wildcard directly above 'localhost', which would match unrelated sites; a wildcard needs a domain "
        "of at least two labels under it, as in https://*.example.com/callback",
    ),
    ("https://a.*.example.com/cb", "allow_wildcards", LEFTMOST),
    ("https://*abc.example.com/cb", "allow_wildcards", LEFTMOST),
    ("https://abc*.example.com/cb", "allow_wildcards", LEFTMOST),
    ("https://example.*/cb", "allow_wildcards", LEFTMOST),
    (
        "https://*.*.example.com/cb",
        "allow_wildcards",
        "has more than one '*'; at most one wildcard per URI, as in https://*.example.com/callback",
    ),
    (
        "https://*.example.com/*",
        "allow_wildcards",
        "has more than one '*'; at most one wildcard per URI, as in https://*.example.com/callback",
    ),
    (
        "https://example.com/cb/*",
        "allow_wildcards",
        "has '*' in its path or query; '*' is accepted only as a wildcard host label (https://*.example.com/callback,"
        " under url_validation 'allow_wildcards'); percent-encode a literal asterisk as %2A",
    ),
    (
        "https://*.10.0.0.1/cb",
        "allow_wildcards",
        "puts a wildcard on an IP address; a wildcard needs a domain name",
    ),
    (
        "https://*.example.com./cb",
        "allow_wildcards",
        "has a trailing dot in its host; write the host without it ('example.com')",
    ),
]


@pytest.mark.parametrize(("value", "policy", "expected"), ACCEPTED)
def test_accepted_uris_are_normalized(value, policy, expected):
    assert clean_uri(value, field="redirect_uris", url_validation=policy) == expected


@pytest.mark.parametrize(("value", "policy", "rule"), REFUSED)
def test_refused_uris_name_the_field_the_value_and_the_rule(value, policy, rule):
    with pytest.raises(ValidationError) as caught:
        clean_uri(value, field="redirect_uris", url_validation=policy)
    assert caught.value.messages == [f"'{validation.shown(value)}' {rule}"]


def test_the_message_the_issue_quotes_word_for_word():
    with pytest.raises(ValidationError) as caught:
        clean_uri("http://example.com/cb", field="redirect_uris")
    assert caught.value.messages == [
        "'http://example.com/cb' must use https (http is allowed only for localhost, 127.0.0.1 and [::1])"
    ]


def test_control_characters_are_escaped_in_messages():
    assert validation.shown("https://a.com/\n\x00") == "https://a.com/\\n\\x00"


ORIGINS = [
    ("https://app.example.com", "https://app.example.com", None),
    ("https://app.example.com/", "https://app.example.com", None),  # a lone slash is dropped
    ("HTTPS://App.Example.com:8443", "https://app.example.com:8443", None),
    ("http://localhost:5173", "http://localhost:5173", None),
    (
        "https://app.example.com/path",
        None,
        "is an origin and cannot have a path; write only scheme, host and port (https://app.example.com)",
    ),
    (
        "https://app.example.com/?q",
        None,
        "is an origin and cannot have a query; write only scheme and host (https://app.example.com)",
    ),
    (
        "https://app.example.com?",
        None,
        "is an origin and cannot have a query; write only scheme and host (https://app.example.com)",
    ),
    ("https://app.example.com#x", None, "must not contain a fragment ('#…')"),
    ("http://app.example.com", None, HTTP_RULE),
]


@pytest.mark.parametrize(("value", "expected", "rule"), ORIGINS)
def test_origins_are_scheme_host_and_port_only(value, expected, rule):
    if expected is not None:
        assert clean_uri(value, field="origin_uris", origin=True) == expected
    else:
        with pytest.raises(ValidationError) as caught:
            clean_uri(value, field="origin_uris", origin=True)
        assert caught.value.messages == [f"'{value}' {rule}"]


def test_wildcard_origins_follow_the_same_rules():
    assert clean_uri("https://*.example.com", field="origin_uris", origin=True, url_validation="allow_wildcards") == (
        "https://*.example.com"
    )
    with pytest.raises(ValidationError):
        clean_uri("https://*.example.com", field="origin_uris", origin=True, url_validation="exact_match")


# ---- lists -----------------------------------------------------------------------------------------


def test_lists_split_on_lines_and_commas_but_not_inside_a_query():
    text = "https://a.example.com/cb?x=1,2, https://b.example.com/cb\r\nhttps://c.example.com/cb,\n\n  "
    assert split_list(text) == [
        "https://a.example.com/cb?x=1,2",
        "https://b.example.com/cb",
        "https://c.example.com/cb",
    ]
    assert split_list(["  https://a.example.com/cb ", ""]) == ["https://a.example.com/cb"]


def test_duplicates_are_removed_after_normalization_first_kept():
    cleaned = clean_uri_list(
        [
            "https://a.example.com/cb",
            "HTTPS://A.EXAMPLE.COM/cb",
            "https://b.example.com/cb",
            "https://a.example.com/cb",
        ],
        field="redirect_uris",
    )
    assert cleaned == ["https://a.example.com/cb", "https://b.example.com/cb"]


def test_at_most_100_distinct_uris_per_list():
    uris = [f"https://app{i}.example.com/cb" for i in range(101)]
    assert len(clean_uri_list(uris[:100] + uris[:100], field="redirect_uris")) == 100
    with pytest.raises(ValidationError) as caught:
        clean_uri_list(uris, field="redirect_uris")
    assert caught.value.messages == ["101 distinct URIs given; at most 100 are accepted"]


def test_uri_length_is_bounded():
    long_uri = "https://example.com/" + "a" * 2100
    with pytest.raises(ValidationError) as caught:
        clean_uri(long_uri, field="logout_uri")
    (message,) = caught.value.messages
    assert message.startswith("'https://example.com/aaa")
    assert message.endswith(f"…' is {len(long_uri)} characters long; at most 2048 are accepted")


def test_every_bad_uri_of_a_list_is_reported_up_to_ten():
    bad = [f"http://app{i}.example.com/cb" for i in range(12)]
    with pytest.raises(ValidationError) as caught:
        clean_uri_list(bad, field="redirect_uris")
    messages = caught.value.message_dict["redirect_uris"]
    assert len(messages) == 11
    assert messages[-1] == "…and 2 more invalid URIs"


# ---- a whole configuration -------------------------------------------------------------------------


def config(**overrides):
    return validate_app_config({**VALID_APP, **overrides})


def errors_of(**overrides) -> dict:
    with pytest.raises(ValidationError) as caught:
        config(**overrides)
    return caught.value.message_dict


def test_a_valid_configuration_is_normalized():
    result = config(
        redirect_uris="https://A.example.com/cb\nhttps://a.example.com/cb, https://b.example.com/cb",
        enabled_grants=["refresh_token", "authorization_code", "refresh_token"],
        client_name="  Fleet   dashboard ",
    )
    assert result.redirect_uris == ["https://a.example.com/cb", "https://b.example.com/cb"]
    assert result.enabled_grants == ["authorization_code", "refresh_token"]  # the platform's order
    assert result.client_name == "Fleet dashboard"
    assert result.warnings == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "client_authentication",
            "maybe",
            "must be one of unspecified, required, not_required, not_required_when_using_pkce; got 'maybe'",
        ),
        (
            "pkce",
            "",
            "must be one of unspecified, required, not_required, not_required_when_using_client_authentication",
        ),
        (
            "url_validation",
            "REGEX",
            "must be one of unspecified, exact_match, allow_wildcards; got 'REGEX'",
        ),
        (
            "enabled_grants",
            [],
            "choose at least one of authorization_code, implicit, password, refresh_token, device_code",
        ),
        (
            "enabled_grants",
            ["authorization_code", "client_credentials"],
            "'client_credentials' is not a grant; accepted: authorization_code, implicit, password, "
            "refresh_token, device_code",
        ),
        ("redirect_uris", [], "enter at least one redirect URI, an absolute https URL (one per line)"),
        (
            "redirect_uris",
            " \n ",
            "enter at least one redirect URI, an absolute https URL (one per line)",
        ),
        ("logout_uri", "", "enter an absolute https URL, such as https://app.example.com/"),
        (
            "logout_uri",
            "http://example.com/bye",
            "'http://example.com/bye' must use https (http is allowed only for localhost, 127.0.0.1 and [::1])",
        ),
        (
            "invite_redirect_uri",
            "https://example.com/welcome#x",
            "'https://example.com/welcome#x' must not contain a fragment ('#…')",
        ),
        ("client_name", "x" * 101, "at most 100 characters; this one has 101"),
    ],
)
def test_each_field_error_names_field_value_and_accepted(field, value, message):
    assert errors_of(**{field: value}) == {field: [message]}


def test_all_errors_are_reported_at_once():
    errors = errors_of(pkce="nope", redirect_uris=["http://a.example.com/cb"], logout_uri="")
    assert set(errors) == {"pkce", "redirect_uris", "logout_uri"}


def test_optional_fields_may_be_empty():
    result = config(client_name="", origin_uris="", invite_redirect_uri="")
    assert (result.client_name, result.origin_uris, result.invite_redirect_uri) == ("", [], "")


def test_wildcards_follow_the_url_validation_policy_on_every_uri_field():
    wild = {
        "redirect_uris": ["https://*.example.com/cb"],
        "logout_uri": "https://*.example.com/bye",
        "origin_uris": ["https://*.example.com"],
        "invite_redirect_uri": "https://*.example.com/welcome",
    }
    assert config(url_validation="allow_wildcards", **wild).logout_uri == "https://*.example.com/bye"
    assert set(errors_of(url_validation="exact_match", **wild)) == set(wild)


# ---- combinations ----------------------------------------------------------------------------------

COMBINATIONS = [
    # (client_authentication, pkce, field refused or None)
    ("not_required", "not_required", "pkce"),
    ("not_required_when_using_pkce", "not_required", "client_authentication"),
    ("not_required", "not_required_when_using_client_authentication", "pkce"),
    ("required", "required", None),
    ("required", "not_required", None),
    ("not_required", "required", None),
    ("not_required_when_using_pkce", "required", None),
    ("not_required_when_using_pkce", "not_required_when_using_client_authentication", None),
    ("required", "not_required_when_using_client_authentication", None),
    ("unspecified", "unspecified", None),
    ("unspecified", "not_required", None),
]


@pytest.mark.parametrize(("client_authentication", "pkce", "refused"), COMBINATIONS)
def test_client_authentication_and_pkce_combinations(client_authentication, pkce, refused):
    if refused is None:
        config(client_authentication=client_authentication, pkce=pkce)
        return
    errors = errors_of(client_authentication=client_authentication, pkce=pkce)
    assert list(errors) == [refused]


def test_the_open_combination_explains_why():
    assert errors_of(client_authentication="not_required", pkce="not_required") == {
        "pkce": [
            "'not_required' together with client_authentication 'not_required' would let anyone who intercepts "
            "an authorization code exchange it for tokens; require PKCE (pkce 'required') or client authentication "
            "(client_authentication 'required')"
        ]
    }


def test_legacy_grants_are_allowed_with_a_warning():
    result = config(enabled_grants=["implicit", "password"])
    assert result.enabled_grants == ["implicit", "password"]
    assert result.warnings == [
        "implicit: OAuth 2.1 drops the implicit grant (tokens travel in the URL, where they leak into history and "
        "logs); prefer authorization_code with PKCE.",
        "password: OAuth 2.1 drops the password grant (the application sees the end user's password); prefer "
        "authorization_code with PKCE, or device_code for devices without a browser.",
    ]
    assert config(enabled_grants=["refresh_token"]).warnings == [validation.REFRESH_ALONE_WARNING]


# ---- support email ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "result"),
    [
        ("help@Example.COM", "help@example.com"),
        ("  support+fleet@acme.io ", "support+fleet@acme.io"),
        ("", "enter the address end users write to for help; it cannot be empty"),
        ("   ", "enter the address end users write to for help; it cannot be empty"),
        ("not-an-email", "'not-an-email' is not an email address (name@example.com)"),
        ("a@b", "'a@b' is not an email address (name@example.com)"),
    ],
)
def test_support_email(value, result):
    if "@" in result and "'" not in result:
        assert validation.clean_support_email(value) == result
    else:
        with pytest.raises(ValidationError) as caught:
            validation.clean_support_email(value)
        assert caught.value.messages == [result]
