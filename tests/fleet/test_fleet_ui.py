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
