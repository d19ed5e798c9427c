"""A real database outage: a private PostgreSQL server (never the shared one) stopped mid-test.

* every route answers 503 with ``Retry-After`` (or what it answers without a database), never 500
  — the keyed POSTs too, whose middleware reads the database before the route runs;
* a keyed command whose database dies under it leaves no key stuck "in progress": once the
  server is back and the reservation's lease has lapsed, the retry runs the command once and a
  further retry replays the answer.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from datetime import timedelta

import pytest

from engine.clock import ManualClock
from engine.storage.database import Database
from engine.storage.migrate import upgrade
from tests.api.conftest import World, make_world
from tests.api.faults_support import (
    Gate,
    count_cases,
    hit_every_operation,
    in_background,
    report_keyed,
)
from tests.conftest import START, _truncate
from tests.private_postgres import PrivatePostgres, private_postgres

pytestmark = pytest.mark.postgres

NO_DATABASE = {"/healthz", "/metrics"}  # answer without a database


@pytest.fixture(scope="module")
def server() -> Iterator[PrivatePostgres]:
    with private_postgres() as pg:
        db = Database(pg.url)
        upgrade(db)
        db.dispose()
        yield pg


@pytest.fixture
def outage_world(server: PrivatePostgres) -> Iterator[tuple[World, Gate, PrivatePostgres]]:
    db = Database(server.url)
    _truncate(db)
    gate = Gate()
    world, _ = make_world(server.url, ManualClock(START), db=db, listeners=[gate])
    with world.client:
        try:
            yield world, gate, server
        finally:
            gate.release.set()
    with contextlib.suppress(subprocess.CalledProcessError):
        server.start()  # a test that failed half-way may have left it stopped
    db.dispose()


def test_every_route_answers_503_with_retry_after_while_the_database_is_down(
    outage_world: tuple[World, Gate, PrivatePostgres],
) -> None:
    world, _gate, pg = outage_world
    world.token("county_staff")
    pg.stop()
    answers = hit_every_operation(world, "county_staff")
    assert sum(1 for status in answers.values() if status == 503) > 30
    for (method, path, _keyed), status in answers.items():
        if status != 503 and path not in NO_DATABASE and not path.endswith("/auth/token"):
            # what may answer without the database: a refused request body or method
            assert status in (400, 404, 405, 413, 415, 422), f"{method} {path}: {status}"
    pg.start()
    assert world.get("county_staff", "/api/v1/cases").status_code in (200, 503)  # pool renewal
    assert world.get("county_staff", "/api/v1/cases").status_code == 200


def test_an_outage_under_a_keyed_command_leaves_a_key_a_retry_can_use(
    outage_world: tuple[World, Gate, PrivatePostgres],
) -> None:
    world, gate, pg = outage_world
    gate.armed = True
    first = in_background(world, "outage-1", "停电中的上报")
    assert gate.entered.wait(60)  # reserved, the command inside its transaction
    pg.stop()
    gate.release.set()
    failed = first.join()
    assert failed.status_code == 503 and failed.headers["Retry-After"].isdigit(), failed.text
    pg.start()
    retry = report_keyed(world, "outage-1", "停电中的上报")
    if retry.status_code == 503:  # the pool met a connection of the old server: renewed now
        retry = report_keyed(world, "outage-1", "停电中的上报")
    # the reservation survived (it could not be released in the outage) and is still leased
    assert retry.status_code == 409 and retry.json()["code"] == "request_in_progress"
    assert retry.headers["Retry-After"].isdigit()
    world.clock.advance(timedelta(seconds=world.settings.idempotency_lease_seconds + 1))
    done = report_keyed(world, "outage-1", "停电中的上报")
    assert done.status_code == 201, done.text
    again = report_keyed(world, "outage-1", "停电中的上报")
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.content == done.content
    assert count_cases(world, "停电中的上报") == 1
