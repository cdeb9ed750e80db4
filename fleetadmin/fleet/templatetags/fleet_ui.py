"""Markup repeated on every row of long lists, rendered in Python rather than by includes and filters.

At 100 rows, an ``{% include %}`` per row (template lookup, context push, node renders), a ``{% url %}``
per row (a full reverse each) and three ``date`` filters per timestamp were most of a list page's time
(bench/scale_pages.py --profile). These tags produce the same markup for a fraction of the cost:

- ``{% copy_id value "key ID" %}``: exactly ``templates/includes/copy_id.html``'s markup; keep the two alike.
- ``{% time_tag value "date" %}``: ``<time datetime=ISO title="Y-m-d H:i:s UTC">text</time>`` where text is
  "Mar 4, 2025" (``date``), "Mar 4, 2025 05:06" (``minute``), "Mar 4, 05:06:07" (``datetime``) or
  "3 days ago" (``natural``).
- ``{% row_url "keys:detail" organization.pk key.pk %}``: ``{% url %}`` that reverses once per page and
  fills in the last argument (an int or UUID id) by string replacement on later rows.
"""

import functools
import uuid
from datetime import UTC

from django import template
from django.conf import settings
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from fleetadmin.core.links import url_maker
from fleetadmin.fleet.templatetags.member_tags import manages_organization
from fleetadmin.support.templatetags.support_tags import shows_support_access

register = template.Library()


@register.simple_tag
def copy_id(value, label: str = "ID") -> str:
    # A UUID's text is hex digits and dashes: nothing to escape (the common case, once per row of every list).
    text = str(value) if isinstance(value, uuid.UUID) else conditional_escape(value)
    what = conditional_escape(label or "ID")
    return mark_safe(  # noqa: S308 -- both values escaped
        f'<span class="copyable"><code class="mono" title="{text}">{text}</code>'
        f'<button type="button" class="copy-btn" data-copy="{text}" aria-label="Copy {what} {text}">Copy</button>'
        "</span>"
    )


@register.simple_tag
def time_tag(value, style: str = "date", tz=None) -> str:
    """``tz``: the current time zone, when a caller rendering many rows has read it once (it is context-local)."""
    if not value:
        return ""
    local = value.astimezone(tz or timezone.get_current_timezone())
    month = _MONTHS[local.month - 1]
    if style == "natural":
        text = conditional_escape(naturaltime(value))  # humanize's words, translated: escaped
    elif style == "minute":
        text = f"{month} {local.day}, {local.year} {local.hour:02}:{local.minute:02}"
    elif style == "datetime":
        text = f"{month} {local.day}, {local.hour:02}:{local.minute:02}:{local.second:02}"
    else:
        text = f"{month} {local.day}, {local.year}"
    # The title is the instant in UTC whatever TIME_ZONE the page's dates are shown in.
    return mark_safe(  # noqa: S308 -- digits, month abbreviations and escaped words only
        f'<time datetime="{local.isoformat()}" title="{value.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC">{text}</time>'
    )


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # strftime's %b, in C


@register.simple_tag(takes_context=True)
def row_url(context, name: str, *args) -> str:
    *fixed, last = args
    if not isinstance(last, uuid.UUID | int):
        return reverse(name, args=args)
    cache = context.render_context.setdefault("row_url_patterns", {})
    key = (name, *map(str, fixed), type(last))
    url = cache.get(key)
    if url is None:
        url = cache[key] = url_maker(name, *fixed, ids=(uuid.UUID if isinstance(last, uuid.UUID) else int,))
    return url(last)


@register.simple_tag
def switcher_items(organizations, current, limit: int) -> str:
    """The organization switcher's entries in every page's top bar (base.html): the first ``limit`` of the
    viewer's organizations, the current one marked. One reverse for all of them, where the template's loop
    reversed a URL per entry (a tenth of a small page's time)."""
    url = url_maker("fleet:organization")
    current_pk = getattr(current, "pk", None)
    return mark_safe(  # noqa: S308 -- names escaped, ids are UUIDs
        "\n              ".join(
            f'<li><a href="{url(org.pk)}"{_CURRENT if org.pk == current_pk else ""}>'
            f"{conditional_escape(org.name)}</a></li>"
            for org in list(organizations)[:limit]
        )
    )


_CURRENT = ' aria-current="true"'

# The sidebar of every organization page (base.html), in order: (nav_section, URL name, label).
_NAV = (
    ("overview", "fleet:organization", "Overview"),
    ("keys", "keys:list", "API keys"),
    ("auth", "oauth:service", "Auth service"),
    ("billing", "billing:service", "Billing"),
    ("audit", "audit:log", "Audit log"),
    ("members", "fleet:members", "Members"),
)
_NAV_SETTINGS = ("settings", "fleet:settings", "Settings")  # for who may manage the organization
_NAV_SUPPORT_ACCESS = ("support_access", "support_access:list", "Support access")  # for who may see its grants
_PAGE = ' aria-current="page"'


@register.simple_tag
def sidebar_items(organization, nav_section: str, user) -> str:
    """The sidebar's links for this organization, the current section marked, Settings and Support access only
    for who may open them. Its URLs are reversed once per process (and script prefix), not eight times a page."""
    entries = [*_NAV]
    if manages_organization(organization, user):
        entries.append(_NAV_SETTINGS)
    if shows_support_access(organization, user):  # the same answer as the member banner's "See or end access"
        entries.append(_NAV_SUPPORT_ACCESS)
    urls = _nav_urls(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    return mark_safe(  # noqa: S308 -- constant labels, ids are UUIDs
        "\n          ".join(
            f'<li><a class="nav-item" href="{urls[name](organization.pk)}"{_PAGE if section == nav_section else ""}>'
            f"{label}</a></li>"
            for section, name, label in entries
        )
    )


@register.simple_tag
def fixed_url(name: str) -> str:
    """``{% url name %}`` for a URL without arguments (every page's menus in base.html), reversed once per process
    and script prefix rather than on every page."""
    return _fixed_url(name, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


@functools.lru_cache(maxsize=256)
def _fixed_url(name: str, prefix: str, urlconf: str) -> str:
    return reverse(name)


@functools.lru_cache(maxsize=16)
def _nav_urls(prefix: str, urlconf: str) -> dict:
    return {name: url_maker(name) for _section, name, _label in (*_NAV, _NAV_SETTINGS, _NAV_SUPPORT_ACCESS)}


@register.simple_tag
def options(choices, selected="") -> str:
    """A select's ``<option>``s, the one whose value reads as ``selected`` marked: what a loop with an ``{% if %}``
    per option wrote, with ``selected`` read once (a bound form field's value costs a call each time)."""
    chosen = "" if selected is None else str(selected)
    return mark_safe(  # noqa: S308 -- values and labels escaped
        "".join(
            f'<option value="{conditional_escape(value)}"{_SELECTED if str(value) == chosen else ""}>'
            f"{conditional_escape(label)}</option>"
            for value, label in choices
        )
    )


_SELECTED = " selected"


# status -> its badge, whole: (css class, text) written once into markup (the values are constants).
_KEY_STATUS_BADGES = {
    status: mark_safe(f'<span class="status status-{css}">{text}</span>')  # noqa: S308
    for status, (css, text) in {
        "active": ("active", "Active"),
        "rotated_out": ("rotated_out", "Rotated out"),
        "expired": ("expired", "Expired"),
        "expiring": ("expiring", "Expiring"),
        "deleted": ("deleted", "Deleted"),
        "in_grace": ("expiring", "In grace"),
    }.items()
}


@register.simple_tag
def key_status(status: str, in_grace: bool = False) -> str:
    """A key's status badge (``templates/keys/_status.html`` for single keys): "In grace" while a rotated key works."""
    return _KEY_STATUS_BADGES["in_grace"] if in_grace else _KEY_STATUS_BADGES.get(status, _KEY_STATUS_BADGES["active"])
