from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

# A fixed instant with non-zero fields everywhere, so a formatting slip shows.
T0 = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


class FixedClock:
    """Stands in for fleetadmin.clock.now: returns ``now`` until a test moves it."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch) -> FixedClock:
    fixed = FixedClock(T0)
    monkeypatch.setattr("fleetadmin.clock.now", fixed)
    return fixed


@pytest.fixture(autouse=True)
def _empty_cache():
    # The failure counter for API-key authentication lives in the cache; no test may inherit another's.
    cache.clear()
    yield
    cache.clear()
