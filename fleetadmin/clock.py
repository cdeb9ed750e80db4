"""The portal's notion of "now", so time-dependent rules (key expiry, rotation grace) can be tested.

Every service reads the time here (audit.record included), so a test moves one clock. Unit tests
monkeypatch ``now`` (tests/conftest.py's ``clock`` fixture). Browser tests, which talk to a separate
server process, run it with the test settings overlay (tests/server_settings.py), whose
``FLEETADMIN_CLOCK_OFFSET_FILE`` names a file holding a number of seconds to move its clock forward.
portal/settings.py never defines that setting, so in production this is ``django.utils.timezone.now``.
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
