"""The row tags write the markup their template counterparts write, and say each instant's UTC time."""

import uuid
from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test import override_settings
from django.utils import timezone

from fleetadmin.fleet.templatetags.fleet_ui import copy_id, key_status, options, time_tag


@pytest.mark.parametrize("value", [uuid.UUID("3f2504e0-4f89-41d3-9a0c-0305e82c3301"), "a<b>\"&'", 42])
@pytest.mark.parametrize("label", ["key ID", "", "<x>"])
def test_copy_id_writes_the_include_s_markup(value, label):
    included = render_to_string("includes/copy_id.html", {"value": value, "label": label})
    assert copy_id(value, label) == included.strip()


@pytest.mark.parametrize(
    ("status", "in_grace"),
    [("active", False), ("rotated_out", False), ("expired", False), ("expiring", False), ("deleted", False),
     ("active", True), ("unknown", False)],
)  # fmt: skip
def test_key_status_writes_the_include_s_markup(status, in_grace):
    included = render_to_string("keys/_status.html", {"status": status, "in_grace": in_grace})
    assert key_status(status, in_grace) == " ".join(included.split())


MOMENT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("style", "text"),
    [("date", "Mar 4, 2025"), ("minute", "Mar 4, 2025 05:06"), ("datetime", "Mar 4, 05:06:07")],
)
def test_time_tag_text_matches_django_s_date_filter(style, text):
    formats = {"date": "M j, Y", "minute": "M j, Y H:i", "datetime": "M j, H:i:s"}
    rendered = Template(f'{{{{ moment|date:"{formats[style]}" }}}}').render(Context({"moment": MOMENT}))
    assert rendered == text
    assert time_tag(MOMENT, style) == (
        f'<time datetime="2025-03-04T05:06:07+00:00" title="2025-03-04 05:06:07 UTC">{text}</time>'
    )


@override_settings(TIME_ZONE="Europe/Berlin")
def test_time_tag_shows_local_time_and_titles_it_in_utc():
    timezone.deactivate()
    tag = time_tag(MOMENT, "minute")
    assert tag == '<time datetime="2025-03-04T06:06:07+01:00" title="2025-03-04 05:06:07 UTC">Mar 4, 2025 06:06</time>'


def test_options_marks_the_value_that_reads_as_the_selection_and_escapes_everything():
    picked = uuid.uuid4()
    choices = [("", "Any"), (picked, "Dock <7>"), ('"><script>', "x & y")]
    html = options(choices, str(picked))
    assert html == (
        '<option value="">Any</option>'
        f'<option value="{picked}" selected>Dock &lt;7&gt;</option>'
        '<option value="&quot;&gt;&lt;script&gt;">x &amp; y</option>'
    )
    # Compared as text, so a UUID choice and its string selection agree; nothing selected reads as the blank.
    assert options(choices, None).startswith('<option value="" selected>')
    assert " selected" not in options(choices, "no-such-value")


# The sidebar as base.html wrote it with a {% url %} per link, before {% sidebar_items %}: the reference.
_SIDEBAR_LOOP = """{% load member_tags support_tags %}
<li><a class="nav-item" href="{% url 'fleet:organization' organization.pk %}"{% if nav_section == "overview" %} aria-current="page"{% endif %}>Overview</a></li>
<li><a class="nav-item" href="{% url 'keys:list' organization.pk %}"{% if nav_section == "keys" %} aria-current="page"{% endif %}>API keys</a></li>
<li><a class="nav-item" href="{% url 'oauth:service' organization.pk %}"{% if nav_section == "auth" %} aria-current="page"{% endif %}>Auth service</a></li>
<li><a class="nav-item" href="{% url 'billing:service' organization.pk %}"{% if nav_section == "billing" %} aria-current="page"{% endif %}>Billing</a></li>
<li><a class="nav-item" href="{% url 'audit:log' organization.pk %}"{% if nav_section == "audit" %} aria-current="page"{% endif %}>Audit log</a></li>
<li><a class="nav-item" href="{% url 'fleet:members' organization.pk %}"{% if nav_section == "members" %} aria-current="page"{% endif %}>Members</a></li>
{% if organization|manages_organization:user %}<li><a class="nav-item" href="{% url 'fleet:settings' organization.pk %}"{% if nav_section == "settings" %} aria-current="page"{% endif %}>Settings</a></li>{% endif %}
{% if organization|shows_support_access:user %}<li><a class="nav-item" href="{% url 'support_access:list' organization.pk %}"{% if nav_section == "support_access" %} aria-current="page"{% endif %}>Support access</a></li>{% endif %}"""  # noqa: E501


@pytest.mark.django_db
@pytest.mark.parametrize("viewer", ["owner", "operator", "location_owner"])
@pytest.mark.parametrize("section", ["overview", "keys", "auth", "billing", "audit", "members", "settings", "", "x"])
def test_sidebar_items_write_what_the_template_s_links_wrote(fleet, viewer, section):
    context = {"organization": fleet.org, "nav_section": section, "user": getattr(fleet, viewer)}
    loop = Template(_SIDEBAR_LOOP).render(Context(context))
    tag = Template("{% load fleet_ui %}{% sidebar_items organization nav_section user %}").render(Context(context))
    links = [line for line in loop.splitlines() if line.strip()]
    assert [line.strip() for line in tag.splitlines()] == links
    assert ("Settings" in tag) is (viewer == "owner")


@pytest.mark.parametrize(
    "name", ["fleet:home", "fleet:organizations", "support:console", "accounts:sessions", "accounts:logout"]
)
def test_fixed_url_is_the_reverse_and_follows_the_script_prefix(name):
    from django.urls import clear_script_prefix, reverse, set_script_prefix

    from fleetadmin.fleet.templatetags.fleet_ui import fixed_url

    assert fixed_url(name) == reverse(name)
    set_script_prefix("/portal/")
    try:
        assert fixed_url(name) == reverse(name) and fixed_url(name).startswith("/portal/")
    finally:
        clear_script_prefix()
    assert fixed_url(name) == reverse(name)
