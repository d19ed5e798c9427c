"""Schema-driven fuzzing with schemathesis against ``/openapi.json``, in process (ASGI).

Every operation gets a bounded number of generated requests, valid and invalid, sent with the
token of a user holding several roles; no answer may be a 5xx, and every answer must match the
documented status codes, media types and schemas; afterwards the audit chain verifies. The
event stream is left out (it does not end by itself; tests/api/test_events.py covers it).
tests/api/test_fuzz_data.py searches the values of data, messages, reports and queries.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from engine.clock import ManualClock
from engine.storage.models import UserRole
from tests.api.conftest import World, make_world

EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzz_world(db_url: str, clock: ManualClock) -> Iterator[World]:
    world, db = make_world(db_url, clock)
    with world.db.session() as s:  # one user who may do (nearly) everything
        for role in ("designer", "admin", "grid_worker"):
            s.add(UserRole(user_id="county_staff", role=role, org_id="county"))
    with world.client:
        world.report("county_staff")
        yield world
    db.dispose()


def test_no_server_errors_and_documented_answers(fuzz_world: World) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_world.app)
    headers = fuzz_world.h("county_staff")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/v1/events":
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                continue
            except Exception as exc:  # collect every operation's failure, then report them all
                where = f"{operation.method.upper()} {operation.path} ({mode.value})"
                failures.append(f"{where}: {exc}"[:3000])
    assert operations >= 20
    assert not failures, "\n\n".join(failures)
    # whatever was accepted was stored so that the audit chain still verifies
    verified = fuzz_world.get("auditor_county", "/api/v1/audit/verify")
    assert verified.status_code == 200 and verified.json()["ok"], verified.text
