"""The portal's notion of "now", so time-dependent rules (key expiry, rotation grace) can be tested.

Unit tests monkeypatch ``now``. Browser tests, which talk to a separate server
process, set ``FLEETADMIN_CLOCK_OFFSET_FILE`` for that process and write a
number of seconds into the file to move its clock forward. The setting is
unset in production, where this is ``django.utils.timezone.now``.
"""

from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone


def _offset() -> timedelta:
    path = getattr(settings, "FLEETADMIN_CLOCK_OFFSET_FILE", "")
    if not path:
        return timedelta(0)
    try:
        return timedelta(seconds=float(Path(path).read_text().strip() or 0))
    except (OSError, ValueError):
        return timedelta(0)


def now() -> datetime:
    return timezone.now() + _offset()
