"""OpenAPI-driven fuzzing: schemathesis generates requests from the portal's own schema; none may yield a 5xx.

schemathesis' own pytest plugin does not run under pytest 9, so the test walks the schema's
operations itself and drives each operation's hypothesis strategy.

One seed drives both hypothesis and the choice to aim at real objects, so a failure replays: the seed
is printed (shown with a failure) and named in the failure message; run again with
``FLEETADMIN_FUZZ_SEED=<seed>``. Without it, each run draws a new seed.
"""

import os
import random

import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, seed, settings

from fleetadmin.core.actors import SYSTEM
from fleetadmin.keys.services import Grant, api_key_create

EXAMPLES_PER_OPERATION = 20
SEED_VARIABLE = "FLEETADMIN_FUZZ_SEED"


def fuzz_seed() -> int:
    value = os.environ.get(SEED_VARIABLE, "")
    return int(value) if value else random.SystemRandom().randrange(2**32)


def test_no_request_the_schema_allows_makes_the_server_fail(fleet):
    issued = api_key_create(
        actor=SYSTEM, organization=fleet.org, grants=[Grant(role="organization_owner", resource=fleet.org)]
    )
    headers = {"Authorization": f"ApiKey {issued.key.pk}:{issued.value}"}
    target = api_key_create(
        actor=SYSTEM, organization=fleet.org, grants=[Grant(role="location_operator", resource=fleet.hq)]
    )
    real_ids = {"org_id": fleet.org.pk, "location_id": fleet.hq.pk, "machine_id": fleet.arm.pk, "key_id": target.key.pk}
    # Like Django's test client: keep the request cycle from closing the test's transaction-bound
    # connection (with CONN_MAX_AGE set, request_finished would close it on PostgreSQL).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    run_seed = fuzz_seed()
    print(f"fuzz seed: {run_seed} (replay with {SEED_VARIABLE}={run_seed})")
    try:
        _fuzz(fleet, headers, real_ids, run_seed)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _fuzz(fleet, headers, real_ids, run_seed):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    failures = []

    for operation in operations:
        # Per operation, so one operation's choices do not depend on how many examples the others drew.
        rng = random.Random(f"{run_seed}:{operation.label}")

        @seed(run_seed)
        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case):
            # Half the time, aim at real objects so requests get past the 404s into the code behind them.
            if case.path_parameters and rng.random() < 0.5:  # noqa: B023 -- called below, in this iteration
                for name, value in real_ids.items():
                    if name in case.path_parameters:
                        case.path_parameters[name] = str(value)
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append((case.method, case.formatted_path, case.body, response.status_code))
            elif response.status_code >= 400:
                assert "error" in response.json(), (
                    f"{SEED_VARIABLE}={run_seed}",
                    case.method,
                    case.formatted_path,
                    response.text[:300],
                )

        exercise()

    assert not failures, (f"{SEED_VARIABLE}={run_seed}", failures[:5])
