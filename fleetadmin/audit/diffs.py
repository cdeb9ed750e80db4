"""Before/after as rows a person can read: nested values flattened to dotted paths."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_MISSING = object()
REDACTED = "[redacted]"
# Fields whose value is the id of another object, by the model it names: shown as links while it exists.
REFERENCE_FIELDS = {"replaced_by": "keys.apikey", "replaces": "keys.apikey"}


@dataclass(frozen=True)
class DiffRow:
    path: str
    before: str
    after: str
    changed: bool
    added: bool
    removed: bool
    before_url: str = ""
    after_url: str = ""


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix or "(value)": value}


def _show(value: Any) -> str:
    if value is _MISSING:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def references(changes: dict) -> set[tuple[str, str]]:
    """(model label, id) of every object a REFERENCE_FIELDS field of these changes names."""
    found = set()
    for side in ("before", "after"):
        for path, value in _flatten(changes.get(side) or {}).items():
            if path in REFERENCE_FIELDS and isinstance(value, str) and value:
                found.add((REFERENCE_FIELDS[path], value))
    return found


def diff_rows(changes: dict, urls: dict[tuple[str, str], str] | None = None) -> list[DiffRow]:
    """Rows for every field in before or after; changed ones flagged (secrets arrive as "[redacted]").

    ``urls`` maps (model label, id) to a page; a REFERENCE_FIELDS value found there becomes a link.
    """
    urls = urls or {}

    def url(path, value):
        return urls.get((REFERENCE_FIELDS[path], value), "") if path in REFERENCE_FIELDS else ""

    before = _flatten(changes.get("before") or {}) if changes.get("before") else {}
    after = _flatten(changes.get("after") or {}) if changes.get("after") else {}
    extra = {k: v for k, v in changes.items() if k not in {"before", "after"}}
    rows = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path, _MISSING), after.get(path, _MISSING)
        # A secret recorded on both sides was changed (services only record what changed),
        # even though both sides read "[redacted]".
        secret_changed = old == new == REDACTED
        rows.append(
            DiffRow(
                path=path,
                before=_show(old),
                after=_show(new),
                changed=old != new or secret_changed,
                added=old is _MISSING,
                removed=new is _MISSING,
                before_url=url(path, old),
                after_url=url(path, new),
            )
        )
    for path, value in sorted(_flatten(extra).items()) if extra else []:
        rows.append(DiffRow(path=path, before="", after=_show(value), changed=False, added=False, removed=False))
    return rows
