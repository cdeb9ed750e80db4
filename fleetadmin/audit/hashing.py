"""The canonical form of an audit event and its chained hash."""

import hashlib
import json
from typing import Any

HASHED_FIELDS = (
    "created_at",
    "organization_id",
    "actor_type",
    "actor_id",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "target_name",
    "changes",
    "request_id",
    "ip",
    "user_agent",
    "ticket",
)


def canonical_content(event: Any) -> dict[str, Any]:
    content = {name: getattr(event, name) for name in HASHED_FIELDS}
    content["created_at"] = event.created_at.isoformat(timespec="microseconds")
    content["organization_id"] = str(event.organization_id) if event.organization_id else None
    return content


def event_hash(event: Any, prev_hash: str) -> str:
    payload = json.dumps(
        {"prev": prev_hash, "event": canonical_content(event)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
