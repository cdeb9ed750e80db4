"""Production settings: API_KEY_PEPPERS is required with DEBUG=0, and the test clock file is out of reach.

Each case starts a fresh interpreter, because settings are read once per process.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; django.setup(); from django.conf import settings; from django.utils import timezone; "
    "from fleetadmin import clock; "
    "print(json.dumps({'peppers': settings.API_KEY_PEPPERS, 'pepper_id': settings.API_KEY_PEPPER_ID, "
    "'offset': round((clock.now() - timezone.now()).total_seconds())}))"
)


def run(tmp_path, **env):
    base = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "OIDC_SIGNING_KEYS_FILE": str(tmp_path / "oidc-keys.json"),
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def probe(tmp_path, **env) -> dict:
    result = run(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_debug_off_refuses_to_start_without_api_key_peppers(tmp_path):
    result = run(tmp_path, DEBUG="0", SECRET_KEY="s" * 50)
    assert result.returncode != 0
    assert "ImproperlyConfigured: Set API_KEY_PEPPERS (id:secret pairs" in result.stderr
    assert "s" * 50 not in result.stderr  # the message says how to rebuild the old pepper, without the secret


def test_debug_off_uses_the_configured_peppers(tmp_path):
    seen = probe(tmp_path, DEBUG="0", SECRET_KEY="s" * 50, API_KEY_PEPPERS="1:old-pepper,2:new-pepper")
    assert seen["peppers"] == {"1": "old-pepper", "2": "new-pepper"}
    assert seen["pepper_id"] == "1"


def test_debug_on_derives_a_pepper_from_the_secret_key(tmp_path):
    seen = probe(tmp_path, DEBUG="1", SECRET_KEY="s" * 50)
    assert seen["peppers"] == {"1": "pepper-derived-from-secret-key:" + "s" * 50}


@pytest.mark.parametrize(
    ("settings_module", "offset"), [("portal.settings", 0), ("tests.server_settings", 86400)], ids=["portal", "tests"]
)
def test_only_the_test_settings_read_the_clock_offset_file(tmp_path, settings_module, offset):
    clock_file = tmp_path / "clock-offset"
    clock_file.write_text("86400")
    seen = probe(
        tmp_path,
        DEBUG="0",
        SECRET_KEY="s" * 50,
        API_KEY_PEPPERS="1:p",
        DJANGO_SETTINGS_MODULE=settings_module,
        FLEETADMIN_CLOCK_OFFSET_FILE=str(clock_file),
    )
    assert seen["offset"] == offset
