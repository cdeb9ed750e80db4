from django import template

from fleetadmin.billing import labels

register = template.Library()

usd = register.filter("usd", labels.usd)
billing_event = register.filter("billing_event", labels.billing_event)


@register.filter
def url_breaks(url) -> str:
    """The URL, escaped, as unbreakable segments (each ending in "/", "?" or "&") with a line-break opportunity
    between them: it wraps between segments, never inside one (not at a UUID's hyphens either)."""
    import re

    from django.utils.html import escape
    from django.utils.safestring import mark_safe

    segments: list[str] = []
    for part in re.split(r"(?<=[/?&])", str(url)):
        if part == "/" and segments:  # "http://" stays one segment
            segments[-1] += part
        elif part:
            segments.append(part)
    spans = (f'<span class="url-seg">{escape(segment)}</span>' for segment in segments)
    return mark_safe("<wbr>".join(spans))  # noqa: S308 -- every segment escaped
