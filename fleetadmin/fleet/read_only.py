"""The words a read-only viewer reads where a page's controls would be (issue 12 item 13)."""

from __future__ import annotations

from fleetadmin.fleet import authz
from fleetadmin.fleet.models import Organization, Role

_LABELS = dict(Role.choices)


def read_only_text(user, organization: Organization, what: str) -> str:
    """ "As an organization operator you can <what>. An organization owner can make changes."

    Empty for support staff: their banner already says the organization is read-only to them.
    """
    roles = authz.roles_in(user, organization)
    if authz.SUPPORT_AGENT in roles:
        return ""
    labels = [str(_LABELS.get(role, role)).lower() for role in sorted(roles)]
    if labels:
        article = "an" if labels[0][0] in "aeiou" else "a"
        who = f"As {article} {' and '.join(labels)} you"
    else:
        who = "You"
    return f"{who} can {what}. An organization owner can make changes."
