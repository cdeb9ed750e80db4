"""Settings for the server processes the browser tests start: portal.settings plus the test clock.

``FLEETADMIN_CLOCK_OFFSET_FILE`` names a file holding a number of seconds that fleetadmin.clock adds to
the time, so a test moves the server's clock instead of sleeping. portal/settings.py does not read it: a
production process (DJANGO_SETTINGS_MODULE=portal.settings) cannot have its clock moved this way.
"""

import os

from portal.settings import *  # noqa: F403

FLEETADMIN_CLOCK_OFFSET_FILE = os.environ.get("FLEETADMIN_CLOCK_OFFSET_FILE", "")
