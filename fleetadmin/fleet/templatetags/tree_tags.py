"""The overview tree's rows, rendered in Python: one tag for every row of a response.

At 100 rows the ``tree-rows`` partial's loop did about 2,200 variable lookups and 700 tag renders per request,
most of the overview's time (bench/profile_pages.py --profile). ``{% tree_rows rows organization can_view_log
highlight %}`` writes the markup the loop wrote, whitespace included, with one URL reverse per kind of link per
response. Every value from the database goes through ``escape`` (the standard library's, which Django's
``escape`` wraps); the rest is literal markup. The rows come from ``fleetadmin.fleet.views._tree_rows``.
"""

from html import escape

from django import template
from django.urls import reverse
from django.utils.safestring import mark_safe

from fleetadmin.core.links import url_maker
from fleetadmin.fleet.templatetags.fleet_ui import copy_id

register = template.Library()

_ACTIONS = "\n      "  # the indentation of the History / Rename / Delete links


class _Links:
    """The URLs of one response's rows, each named URL reversed once."""

    def __init__(self, organization):
        self.location = url_maker("fleet:location", organization.pk)
        self.rename = {kind: url_maker(f"fleet:{kind}_rename", organization.pk) for kind in ("location", "machine")}
        self.delete = {kind: url_maker(f"fleet:{kind}_delete", organization.pk) for kind in ("location", "machine")}
        self.history = escape(reverse("audit:log", args=[organization.pk]) + "?q=target:")


@register.simple_tag
def tree_rows(rows, organization, can_view_log, highlight=None) -> str:
    links = _Links(organization)
    parts = []
    for row in rows:
        if row.kind == "location":
            parts.append(_location(row, links, can_view_log, highlight))
        elif row.kind == "machine":
            parts.append(_machine(row, links, can_view_log, highlight))
        else:
            words = "More machines" if row.kind == "more-machines" else "More locations"
            url = escape(row.url)
            parts.append(
                f'\n<li class="tree-node tree-more"><a class="link-button" href="{url}" hx-get="{url}"'
                f' hx-target="closest li" hx-swap="outerHTML">{words} →</a></li>\n'
            )
        parts.append("</ul></li>" * row.closes)
    return mark_safe("".join(parts))  # noqa: S308


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


def _node_row(row, kind: str, label: str, links: _Links, can_view_log, highlight) -> str:
    """The ``<div class="node-row">`` of a location or machine, and the indentation after it."""
    obj = row.obj
    name = escape(obj.name)
    new = " is-new" if obj.pk == highlight else ""
    css = " is-machine" if kind == "machine" else ""
    history = rename = delete = ""
    if can_view_log:
        history = (
            f'<a class="link-button" href="{links.history}{obj.pk}" aria-label="History of {kind} {name}">History</a>'
        )
    if row.can_rename:
        url = links.rename[kind](obj.pk)
        rename = (
            f'<a class="link-button" href="{url}" hx-get="{url}" hx-target="#node-{obj.pk}" hx-swap="outerHTML"'
            f' aria-label="Rename {kind} {name}">Rename</a>'
        )
    if row.can_delete:
        url = links.delete[kind](obj.pk)
        delete = (
            f'<a class="link-button danger" href="{url}" hx-post="{url}" hx-target="#fleet-panel" hx-swap="outerHTML"'
            f' hx-confirm="Delete {kind} “{name}”? This cannot be undone." aria-label="Delete {kind} {name}">Delete</a>'
        )
    return (
        f'\n  <div class="node-row{css}{new}" id="node-{obj.pk}">'
        f'\n    <span class="node-icon icon-{kind}" aria-hidden="true"></span>'
        f"\n    {label}"
        f'\n    <span class="node-tools">{copy_id(obj.pk, f"{kind} ID")}'
        f'\n    <span class="node-actions">{_ACTIONS}{history}{_ACTIONS}{rename}{_ACTIONS}{delete}'
        "\n    </span></span>\n  </div>\n"
    )


def _location(row, links: _Links, can_view_log, highlight) -> str:
    location = row.obj
    name = escape(location.name)
    url = links.location(location.pk)
    count = location.subtree_machine_count
    machines = f" · {count} machine{_plural(count)}" if count else ""
    label = (
        f'<span class="node-label"><a class="node-name" href="{url}">{name}</a>'
        f'<span class="node-kind">Location{machines}</span></span>'
    )
    if row.opens:
        tail = '<ul class="tree-children" role="group">'
    else:
        tail = ""
        if location.has_contents:
            children, here = location.child_count, location.machine_count
            what = f"{children} sub-location{_plural(children)}" if children else ""
            if children and here:
                what += " and "
            if here:
                what += f"{here} machine{_plural(here)}"
            tail = (
                f'<div class="tree-expand"><a class="link-button" href="{url}" hx-get="{url}"'
                f' hx-target="closest .tree-expand" hx-swap="outerHTML" aria-label="Show what is in {name}">'
                f"Show {what}</a></div>"
            )
        tail += "</li>"
    expanded = "true" if row.opens or not location.has_contents else "false"
    return (
        f'\n<li class="tree-node" role="treeitem" aria-expanded="{expanded}" aria-label="Location {name}">'
        f"{_node_row(row, 'location', label, links, can_view_log, highlight)}  {tail}\n"
    )


def _machine(row, links: _Links, can_view_log, highlight) -> str:
    name = escape(row.obj.name)
    label = (
        f'<span class="node-label"><span class="node-name">{name}</span><span class="node-kind">Machine</span></span>'
    )
    return (
        f'\n<li class="tree-node" role="treeitem" aria-label="Machine {name}">'
        f"{_node_row(row, 'machine', label, links, can_view_log, highlight)}</li>\n"
    )
