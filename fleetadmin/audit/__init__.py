"""The audit log. Services call ``fleetadmin.audit.record(...)`` inside their transaction."""


def record(**kwargs):
    from fleetadmin.audit.services import record as _record

    return _record(**kwargs)
