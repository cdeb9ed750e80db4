"""The keys list's table rows, rendered in Python: one tag for the whole table body.

At 100 rows the template's loop did about 3,000 variable lookups and 1,200 tag renders per request, most of
the page's time (bench/profile_pages.py --profile). ``{% key_rows rows organization any_manageable %}`` writes
the markup the loop wrote, whitespace included, with one URL reverse per page. Every value from the database
goes through ``escape`` (the standard library's, which Django's ``escape`` wraps); the rest is literal markup.
"""

from html import escape

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe

from fleetadmin.audit.links import log_url
from fleetadmin.core.links import url_maker
from fleetadmin.fleet.templatetags.fleet_ui import copy_id, key_status, time_tag
from fleetadmin.keys.models import ResourceType

register = template.Library()

NOWRAP_NAME_LENGTH = 32  # names up to this long stay on one line
_CELL = "\n          "  # the indentation the rows had in templates/keys/key_list.html
_LINE = "\n            "
_NEVER = '<span class="subtle">never</span>'
_RESOURCE_TYPES = {value: escape(str(label)) for value, label in ResourceType.choices}


@register.simple_tag
def key_rows(rows, organization, any_manageable: bool) -> str:
    detail_url = url_maker("keys:detail", organization.pk)
    tz = timezone.get_current_timezone()
    return mark_safe("".join([_row(row, organization, detail_url, any_manageable, tz) for row in rows]))  # noqa: S308


def _row(row, organization, detail_url, any_manageable: bool, tz) -> str:
    key = row["key"]
    check = ""
    if any_manageable:
        box = ""
        if row["can_manage"]:
            box = (
                f'<input type="checkbox" name="key" value="{key.pk}" id="select-{key.pk}"'
                f' aria-label="Select key {escape(key.name)}">'
            )
        check = f'<td class="check">{box}</td>'
    creator = escape(key.created_by_name or "system")
    created = f'{time_tag(key.created_at, "date", tz)}<span class="subtle">{creator}</span>'
    cells = (
        check,
        f'<td class="key-name row-title" data-label="Name">{_name(row, organization, detail_url, tz)}{_CELL}</td>',
        f'<td data-label="Access">{_access(row)}</td>',
        f'<td data-label="Created">{created}</td>',
        f'<td data-label="Last used">{_last_used(key, tz)}</td>',
        f'<td data-label="Expires">{_expires(row, tz)}</td>',
        f'<td data-label="Status">{key_status(row["status"], row["in_grace"])}</td>',
    )
    return f"\n        <tr>{_CELL}{_CELL.join(cells)}\n        </tr>\n        "


def _name(row, organization, detail_url, tz) -> str:
    key = row["key"]
    nowrap = " nowrap" if len(key.name) <= NOWRAP_NAME_LENGTH else ""
    name = escape(key.name)
    if key.deleted_at:
        history = escape(log_url(organization, target_type="keys.apikey", target_id=key.pk))
        deleted = time_tag(key.deleted_at, "date", tz)
        link = (
            f'<a class="strong-link{nowrap}" href="{history}" title="Deleted: its history in the audit log">{name}</a>'
            f'<span class="subtle">Deleted {deleted}</span>'
        )
    else:
        link = f'<a class="strong-link{nowrap}" href="{detail_url(key.pk)}">{name}</a>'
    replaced_by = _lineage("Replaced by", key.replaced_by_id, detail_url) if key.replaced_by_id else ""
    replaces = _lineage("Replaces", row["replaces_id"], detail_url) if row["replaces_id"] else ""
    return f"{_LINE}{link}{_LINE}{copy_id(key.pk, 'key ID')}{_LINE}{replaced_by}{_LINE}{replaces}"


def _lineage(words: str, key_id, detail_url) -> str:
    return (
        f'<span class="subtle lineage">{words} <a href="{detail_url(key_id)}" class="mono" title="{key_id}">'
        f"{str(key_id)[:8]}…</a></span>"
    )


def _access(row) -> str:
    first = row["first"]
    if not first:
        return '<span class="subtle">none</span>'
    more = f' <span class="badge">+{row["more"]}</span>' if row["more"] else ""
    return (
        f'<span class="scope"><span class="scope-type">{_RESOURCE_TYPES[first.resource_type]}</span>'
        f' <span title="{first.resource_id}">{escape(first.resource_name)}</span>{more}</span>'
        f'<span class="badge badge-role">{escape(first.role)}</span>'
    )


def _last_used(key, tz) -> str:
    if not key.last_used_at:
        return _NEVER
    source = f'<span class="subtle mono">from {escape(key.last_used_ip)}</span>' if key.last_used_ip else ""
    return f"{time_tag(key.last_used_at, 'natural', tz)}{source}"


def _expires(row, tz) -> str:
    key = row["key"]
    ends = key.ends_at
    if not ends:
        return _NEVER
    if key.retired_at and ends == key.retired_at:
        why = "end of rotation grace" if row["in_grace"] else "rotated"
        return f'{time_tag(ends, "minute", tz)}<span class="subtle">{why}</span>'
    return time_tag(ends, "date", tz)
