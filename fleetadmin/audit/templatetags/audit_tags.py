from django import template

from fleetadmin.audit import labels, links

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
