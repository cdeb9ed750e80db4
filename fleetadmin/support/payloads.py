"""The ``changes`` of the ``support.access.*`` audit events, declared once.

``support.services`` writes them with ``to_payload()``; ``support.selectors.access_sessions``
reads them with ``from_payload()``. Reading is lenient, since the audit log keeps every event
ever written: a missing field reads as empty, an unreadable time as None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

Changes = dict[str, Any]


def _part(changes: Changes | None, side: str) -> dict[str, Any]:
    return (changes or {}).get(side) or {}


def _time(raw: Any) -> datetime | None:
    if not raw or not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def grant_of(changes: Changes | None) -> str:
    """The grant a support event names ("" for the customer's own services' events, which name none)."""
    return _part(changes, "after").get("grant") or _part(changes, "before").get("grant") or ""


@dataclass(frozen=True)
class AccessOpened:
    """``support.access.open``: a grant was opened, why, and until when."""

    ACTION: ClassVar[str] = "support.access.open"

    grant: str
    reason: str
    expires_at: datetime | None

    def to_payload(self) -> Changes:
        return {"after": {"grant": self.grant, "reason": self.reason, "expires_at": _iso(self.expires_at)}}

    @classmethod
    def from_payload(cls, changes: Changes | None) -> AccessOpened:
        after = _part(changes, "after")
        return cls(
            grant=after.get("grant", ""), reason=after.get("reason", ""), expires_at=_time(after.get("expires_at"))
        )


@dataclass(frozen=True)
class AccessViewed:
    """``support.access.view``: a page the engineer viewed under the grant (``page`` is the view's declared label)."""

    ACTION: ClassVar[str] = "support.access.view"
    PATH_MAX: ClassVar[int] = 300
    OBJECT_ID_MAX: ClassVar[int] = 64
    QUERY_MAX: ClassVar[int] = 200

    grant: str
    page: str
    path: str
    object_id: str = ""
    query: str = ""

    @classmethod
    def of(cls, *, grant: str, page: str, path: str, object_id: str = "", query: str = "") -> AccessViewed:
        """What is recorded of a view: the path, object id and query cut to their limits."""
        return cls(
            grant=grant,
            page=page,
            path=path[: cls.PATH_MAX],
            object_id=object_id[: cls.OBJECT_ID_MAX],
            query=query[: cls.QUERY_MAX],
        )

    def to_payload(self) -> Changes:
        after = {"grant": self.grant, "page": self.page, "path": self.path}
        if self.object_id:
            after["object_id"] = self.object_id
        if self.query:
            after["query"] = self.query
        return {"after": after}

    @classmethod
    def from_payload(cls, changes: Changes | None) -> AccessViewed:
        after = _part(changes, "after")
        return cls(
            grant=after.get("grant", ""),
            page=after.get("page", ""),
            path=after.get("path", ""),
            object_id=after.get("object_id", ""),
            query=after.get("query", ""),
        )


@dataclass(frozen=True)
class AccessEnded:
    """``support.access.end``: a grant was ended (by its engineer or by an owner) at ``ended_at``."""

    ACTION: ClassVar[str] = "support.access.end"

    grant: str
    ended_at: datetime | None

    def to_payload(self) -> Changes:
        return {
            "before": {"grant": self.grant, "ended_at": None},
            "after": {"grant": self.grant, "ended_at": _iso(self.ended_at)},
        }

    @classmethod
    def from_payload(cls, changes: Changes | None) -> AccessEnded:
        return cls(grant=grant_of(changes), ended_at=_time(_part(changes, "after").get("ended_at")))
