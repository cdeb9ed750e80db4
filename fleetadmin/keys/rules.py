"""The API-key rules, stated once: the value's prefix and the rotation grace periods.

Services, forms, the JSON API's schema and the CLI's ``--grace`` read these names. The
module imports no app, so the CLI can import it too.
"""

import re
from datetime import timedelta

from fleetadmin.core.text import accepted, shown

KEY_PREFIX = "fak_"
# Rotation: how long the old value keeps working. "none" is the default.
GRACE_PERIODS = {
    "none": timedelta(0),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
GRACE_LABELS = {"none": "None: the old value stops working now", "1h": "1 hour", "24h": "24 hours", "7d": "7 days"}
GRACE_DEFAULT = "none"


def grace_refused(got: str) -> str:
    suffix = f"; got '{shown(got)}'" if got else ""
    return f"must be one of {accepted(GRACE_PERIODS)}{suffix}"


def role_refused(roles, resource_type: str, got: str) -> str:
    """A role a key on this kind of resource cannot hold: "must be one of a, b for a location key; got 'x'"."""
    article = "an" if resource_type[:1] in {"a", "e", "i", "o", "u"} else "a"
    return f"must be one of {accepted(roles)} for {article} {resource_type} key; got '{shown(got)}'"


def secret_pattern(*prefixes: str) -> re.Pattern[str]:
    """What a pasted key or client secret looks like (prefix + base62), to spot one in free text."""
    alternatives = "|".join(re.escape(prefix) for prefix in prefixes)
    return re.compile(rf"\b(?:{alternatives})[0-9A-Za-z]{{8,}}")
