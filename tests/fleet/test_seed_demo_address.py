"""seed_demo prints the address the portal is actually served at (issue 12, item 18)."""

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def test_it_prints_the_address_it_is_told(settings):
    assert "Sign in at http://127.0.0.1:8011/ with:" in seed(base_url="http://127.0.0.1:8011/")


def test_make_run_passes_the_port_it_serves_on():
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"seed_demo --base-url http://\$\(HOST\):\$\(PORT\)/", run)
    assert "runserver $(HOST):$(PORT)" in run
