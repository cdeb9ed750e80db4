from html import escape

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe

from fleetadmin.audit import labels, links
from fleetadmin.core.actors import ActorType
from fleetadmin.core.links import url_maker
from fleetadmin.fleet.templatetags.fleet_ui import time_tag

register = template.Library()

action_label = register.filter("action_label", labels.action_label)


@register.simple_tag
def log_url(organization, **filters) -> str:
    """``{% log_url organization.pk ticket=grant.ticket %}``: the audit log filtered (audit.links.log_url)."""
    return links.log_url(organization, **filters)


@register.filter
def target_url(links: dict, event) -> str:
    return links.get((event.target_type, event.target_id), "")


def _short(value, limit: int = 60) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@register.filter
def event_summary(event) -> str:
    """One line: what changed, from the event's before/after."""
    changes = event.changes or {}
    before, after = changes.get("before") or {}, changes.get("after") or {}
    if before and after:
        changed = [k for k in after if before.get(k) != after.get(k)]
        if len(changed) == 1 and not isinstance(after[changed[0]], dict | list):
            key = changed[0]
            return f"{key}: {_short(before.get(key))} → {_short(after[key])}"
        if changed:
            return "changed " + ", ".join(changed)
    if after and not before:
        name = after.get("name")
        details = ", ".join(
            f"{k}={_short(v, 30)}"
            for k, v in after.items()
            if k != "name" and v is not None and not isinstance(v, dict | list)
        )
        return " ".join(part for part in [f"“{name}”" if name else "", details] if part)
    if before and not after:
        return f"was “{before.get('name')}”" if before.get("name") else "removed"
    return ""


@register.simple_tag
def event_rows(events, organization, links: dict) -> str:
    """Audit events as table rows (the log and an event's "same request" list), written in Python: one URL
    reverse per page instead of a template loop's ~30 lookups and tags per row (bench/profile_pages.py).
    Every value from the database goes through ``escape`` (the standard library's, which Django's wraps)."""
    event_url = url_maker("audit:event", organization.pk, ids=(int,))
    actor_types = {value: escape(str(label)) for value, label in ActorType.choices}
    tz = timezone.get_current_timezone()
    return mark_safe("".join(_event_row(event, event_url, links, actor_types, tz) for event in events))  # noqa: S308


def _event_row(event, event_url, links: dict, actor_types: dict[str, str], tz) -> str:
    actor_type = actor_types.get(event.actor_type) or escape(event.actor_type)
    url = links.get((event.target_type, event.target_id), "")
    if url:
        target = f'<a href="{escape(url)}">{escape(event.target_name or event.target_id)}</a>'
    else:
        target = escape(event.target_name or "—")
    actor = escape(event.actor_name) if event.actor_name else actor_type
    ticket = f" · ticket {escape(event.ticket)}" if event.ticket else ""
    target_type = f'<span class="subtle">{escape(event.target_type)}</span>' if event.target_type else ""
    return (
        f'\n<tr>\n  <td class="nowrap row-title"><a href="{event_url(event.id)}" class="strong-link">'
        f"{time_tag(event.created_at, 'datetime', tz)}</a></td>"
        f'\n  <td data-label="Actor"><span class="actor actor-{escape(event.actor_type)}">{actor}</span>'
        f'<span class="subtle">{actor_type}{ticket}</span></td>'
        f'\n  <td data-label="Action"><code class="mono action">{escape(event.action)}</code></td>'
        f'\n  <td class="target long-value" data-label="Target">{target}{target_type}</td>'
        f'\n  <td class="summary long-value" data-label="Summary">{escape(event_summary(event))}</td>\n</tr>'
    )


@register.simple_tag
def timeline_items(timeline) -> str:
    """The ``<li>``s of a timeline (audit/_timeline.html), written in Python: one URL reverse and one time-zone
    read per timeline instead of a loop's lookups, ``{% with %}`` and two tags per entry."""
    event_url = url_maker("audit:event", timeline.organization_id, ids=(int,)) if timeline.links else None
    tz = timezone.get_current_timezone()
    return mark_safe("".join(_timeline_item(entry, timeline, event_url, tz) for entry in timeline.entries))  # noqa: S308


def _timeline_item(entry, timeline, event_url, tz) -> str:
    event = entry.event
    actor = escape(str(event.actor_name or event.get_actor_type_display()))
    target = f" <strong>{escape(event.target_name)}</strong>" if timeline.show_target and event.target_name else ""
    ticket = f' <span class="badge">ticket {escape(event.ticket)}</span>' if event.ticket else ""
    when = time_tag(event.created_at, "minute", tz)
    if event_url is not None:
        when = f'<a href="{event_url(event.id)}">{when}</a>'
    return (
        '\n    <li class="timeline-item" data-testid="timeline-event">'
        f'\n      <span class="timeline-dot dot-{escape(event.verb)}" aria-hidden="true"></span>'
        "\n      <div>"
        f'\n        <p class="timeline-text"><strong>{actor}</strong> {escape(str(entry.label))}{target}{ticket}</p>'
        f'\n        <p class="timeline-meta">{when} · <code class="mono">{escape(event.action)}</code></p>'
        "\n      </div>"
        "\n    </li>\n    "
    )
