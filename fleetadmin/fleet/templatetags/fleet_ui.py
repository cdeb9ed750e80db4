"""Markup repeated on every row of long lists, rendered in Python rather than by ``{% include %}``.

An include per row costs a template lookup, a context push and a render of its nodes; at 100 rows that
was a third of a list page's time (bench/scale_pages.py --profile). The markup is exactly
``templates/includes/copy_id.html``'s; keep the two the same.
"""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def copy_id(value, label: str = "ID") -> str:
    return format_html(
        '<span class="copyable"><code class="mono" title="{0}">{0}</code>'
        '<button type="button" class="copy-btn" data-copy="{0}" aria-label="Copy {1} {0}">Copy</button></span>',
        value,
        label or "ID",
    )
