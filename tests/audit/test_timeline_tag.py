"""{% timeline_items %} writes what audit/_timeline.html's loop wrote, entry for entry (whitespace aside)."""

import uuid
from datetime import UTC, datetime

import pytest
from django.template import Context, Template

from fleetadmin.audit.models import AuditEvent
from fleetadmin.audit.templatetags.audit_tags import timeline_items
from fleetadmin.audit.timeline import Timeline, TimelineEntry

# The loop the tag replaced, as it stood in templates/audit/_timeline.html.
LOOP = Template(
    """{% load fleet_ui %}{% for entry in timeline.entries %}{% with event=entry.event %}
    <li class="timeline-item" data-testid="timeline-event">
      <span class="timeline-dot dot-{{ event.verb }}" aria-hidden="true"></span>
      <div>
        <p class="timeline-text"><strong>{{ event.actor_name|default:event.get_actor_type_display }}</strong> {{ entry.label }}{% if timeline.show_target and event.target_name %} <strong>{{ event.target_name }}</strong>{% endif %}{% if event.ticket %} <span class="badge">ticket {{ event.ticket }}</span>{% endif %}</p>
        <p class="timeline-meta">{% if timeline.links %}<a href="{% row_url 'audit:event' timeline.organization_id event.id %}">{% time_tag event.created_at "minute" %}</a>{% else %}{% time_tag event.created_at "minute" %}{% endif %} · <code class="mono">{{ event.action }}</code></p>
      </div>
    </li>
    {% endwith %}{% endfor %}"""  # noqa: E501
)

ORG = uuid.UUID("3f2504e0-4f89-41d3-9a0c-0305e82c3301")


def entries():
    at = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    return [
        TimelineEntry(
            AuditEvent(id=7, created_at=at, actor_type="user", actor_name='Ann <"&">', action="keys.apikey.rotate",
                       target_name="key <one>", ticket="T-1 & <2>"),
            "rotated api key <b>",
        ),
        TimelineEntry(
            AuditEvent(id=8, created_at=at, actor_type="system", actor_name="", action="fleet.machine.create",
                       target_name="", ticket=""),
            "created machine",
        ),
    ]  # fmt: skip


@pytest.mark.parametrize("links", [True, False])
@pytest.mark.parametrize("show_target", [True, False])
def test_the_tag_writes_the_loop_s_markup(links, show_target):
    timeline = Timeline(organization_id=ORG, entries=entries(), full_url="/x", links=links, show_target=show_target)

    expected = LOOP.render(Context({"timeline": timeline}))
    written = timeline_items(timeline)

    assert " ".join(written.split()) == " ".join(expected.split())
    assert "&lt;b&gt;" in written and "<b>" not in written  # every value escaped
    assert ("/audit/events/7/" in written) is links
