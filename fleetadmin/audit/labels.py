"""How an audit action reads in a sentence: ``fleet.machine.rename`` -> ``renamed machine``."""

PAST_TENSE = {
    "create": "created",
    "rename": "renamed",
    "delete": "deleted",
    "update": "updated",
    "grant": "granted",
    "revoke": "revoked",
    "rotate": "rotated",
    "enable": "enabled",
    "disable": "disabled",
    "set": "set",
    "remove": "removed",
    "view": "viewed",
    "duplicate": "duplicated",
    "attach": "attached",
    "detach": "detached",
    "pay": "marked paid",
    "void": "voided",
    "export": "exported",
    "verify": "verified",
    "prune": "pruned",
    "open": "opened",
    "end": "ended",
}


def action_label(action: str) -> str:
    """``fleet.machine.rename`` -> ``renamed machine``."""
    parts = action.split(".")
    if len(parts) < 3:
        return action
    obj, verb = parts[-2], parts[-1]
    return f"{PAST_TENSE.get(verb, verb)} {obj.replace('_', ' ')}"
