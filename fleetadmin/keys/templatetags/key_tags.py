"""The keys list's table rows, rendered in Python: one tag for the whole table body.

At 100 rows the template's loop did about 3,000 variable lookups and 1,200 tag renders per request, most of
the page's time (bench/profile_pages.py --profile). ``{% key_rows rows organization any_manageable %}`` writes
the markup the loop wrote, whitespace included, with one URL reverse per page; format_html escapes every value.
"""

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from fleetadmin.core.links import url_maker
from fleetadmin.fleet.templatetags.fleet_ui import copy_id, key_status, time_tag

register = template.Library()

NOWRAP_NAME_LENGTH = 32  # names up to this long stay on one line
_CELL = "\n          "  # the indentation the rows had in templates/keys/key_list.html
_LINE = "\n            "


@register.simple_tag
def key_rows(rows, organization, any_manageable: bool) -> str:
    detail_url = url_maker("keys:detail", organization.pk)
    audit_url = reverse("audit:log", args=[organization.pk])
    return mark_safe("".join(_row(row, detail_url, audit_url, any_manageable) for row in rows))  # noqa: S308


def _row(row, detail_url, audit_url: str, any_manageable: bool) -> str:
    key = row["key"]
    cells = []
    if any_manageable:
        check = ""
        if row["can_manage"]:
            check = format_html(
                '<input type="checkbox" name="key" value="{0}" id="select-{0}" aria-label="Select key {1}">',
                key.pk,
                key.name,
            )
        cells.append(format_html('<td class="check">{}</td>', check))
    else:
        cells.append("")
    cells.append(
        format_html('<td class="key-name" data-label="Name">{}{}</td>', _name(row, detail_url, audit_url), _CELL)
    )
    cells.append(format_html('<td data-label="Access">{}</td>', _access(row)))
    cells.append(
        format_html(
            '<td data-label="Created">{}<span class="subtle">{}</span></td>',
            time_tag(key.created_at, "date"),
            key.created_by_name or "system",
        )
    )
    cells.append(format_html('<td data-label="Last used">{}</td>', _last_used(key)))
    cells.append(format_html('<td data-label="Expires">{}</td>', _expires(row)))
    cells.append(format_html('<td data-label="Status">{}</td>', key_status(row["status"], row["in_grace"])))
    return f"\n        <tr>{_CELL}{_CELL.join(cells)}\n        </tr>\n        "


def _name(row, detail_url, audit_url: str) -> str:
    key = row["key"]
    nowrap = " nowrap" if len(key.name) <= NOWRAP_NAME_LENGTH else ""
    if key.deleted_at:
        link = format_html(
            '<a class="strong-link{}" href="{}?q={}" title="Deleted: its history in the audit log">{}</a>'
            '<span class="subtle">Deleted {}</span>',
            nowrap,
            audit_url,
            key.pk,
            key.name,
            time_tag(key.deleted_at, "date"),
        )
    else:
        link = format_html('<a class="strong-link{}" href="{}">{}</a>', nowrap, detail_url(key.pk), key.name)
    lines = [link, copy_id(key.pk, "key ID"), "", ""]
    if key.replaced_by_id:
        lines[2] = _lineage("Replaced by", key.replaced_by_id, detail_url)
    if row["replaces"]:
        lines[3] = _lineage("Replaces", row["replaces"].pk, detail_url)
    return mark_safe(_LINE + _LINE.join(lines))  # noqa: S308 (every line is format_html output)


def _lineage(words: str, key_id, detail_url) -> str:
    return format_html(
        '<span class="subtle lineage">{} <a href="{}" class="mono" title="{}">{}…</a></span>',
        words,
        detail_url(key_id),
        key_id,
        str(key_id)[:8],
    )


def _access(row) -> str:
    first = row["first"]
    if not first:
        return mark_safe('<span class="subtle">none</span>')
    more = format_html(' <span class="badge">+{}</span>', row["more"]) if row["more"] else ""
    return format_html(
        '<span class="scope"><span class="scope-type">{}</span> <span title="{}">{}</span>{}</span>'
        '<span class="badge badge-role">{}</span>',
        first.get_resource_type_display(),
        first.resource_id,
        first.resource.name,
        more,
        first.role,
    )


def _last_used(key) -> str:
    if not key.last_used_at:
        return mark_safe('<span class="subtle">never</span>')
    source = format_html('<span class="subtle mono">from {}</span>', key.last_used_ip) if key.last_used_ip else ""
    return format_html("{}{}", time_tag(key.last_used_at, "natural"), source)


def _expires(row) -> str:
    key = row["key"]
    ends = key.ends_at
    if not ends:
        return mark_safe('<span class="subtle">never</span>')
    if key.retired_at and ends == key.retired_at:
        why = "end of rotation grace" if row["in_grace"] else "rotated"
        return format_html('{}<span class="subtle">{}</span>', time_tag(ends, "minute"), why)
    return time_tag(ends, "date")
