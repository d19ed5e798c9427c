"""Helpers for the storage-fault tests: a gate that holds a command mid-transaction, and a
keyed request run on a thread of its own."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx

from engine.runtime import CommandContext
from engine.storage.models import HumanTask
from tests.api.conftest import World, case_body


class Gate:
    """A task listener that holds the first command opening a task, inside its transaction,
    until released: ``entered`` says the command got there (synchronisation, not timing)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.armed = False

    def task_opened(self, ctx: CommandContext, task: HumanTask, properties: dict[str, str]) -> None:
        if self.armed:
            self.armed = False
            self.entered.set()
            assert self.release.wait(120), "the test never released the gate"

    def task_closed(self, ctx: CommandContext, task: HumanTask, outcome: str) -> None:
        return None

    def case_changed(self, ctx: CommandContext) -> None:
        return None


@dataclass
class Background:
    """A request sent on a thread; ``response`` once it is answered."""

    thread: threading.Thread
    response: list[httpx.Response] = field(default_factory=list)

    def join(self) -> httpx.Response:
        self.thread.join(120)
        assert self.response, "the request never answered"
        return self.response[0]


def keyed_body(title: str) -> bytes:
    """The exact bytes a keyed report sends (its request hash is taken over them)."""
    return json.dumps(case_body(title=title)).encode()


def report_keyed(world: World, key: str, title: str, user: str = "grid_a") -> httpx.Response:
    headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
    return world.post(user, "/api/v1/cases", content=keyed_body(title), headers=headers)


def in_background(world: World, key: str, title: str) -> Background:
    out: list[httpx.Response] = []

    def run() -> None:
        out.append(report_keyed(world, key, title))

    world.token("grid_a")  # signed before the thread starts
    thread = threading.Thread(target=run, daemon=True)
    bg = Background(thread, out)
    thread.start()
    return bg


def count_cases(world: World, title: str) -> int:
    from sqlalchemy import func, select

    from engine.storage.models import Case

    with world.db.session(reading=True) as s:
        found: Any = s.scalar(select(func.count()).select_from(Case).where(Case.title == title))
        return int(found)


def hit_every_operation(world: World, user: str) -> dict[tuple[str, str, bool], int]:
    """Send every operation of the API (its OpenAPI document; path parameters filled in; POSTs
    with and without an Idempotency-Key) and return the statuses. None may be 500, and every
    503 must say when to retry."""
    import re

    headers = world.h(user)
    answers: dict[tuple[str, str, bool], int] = {}
    for template, item in world.app.openapi()["paths"].items():
        path = re.sub(r"\{[^}]+\}", "x", template)
        for method in (m.upper() for m in item):
            for keyed in (False, True) if method == "POST" else (False,):
                extra = {"Idempotency-Key": f"{method}-{path}"} if keyed else {}
                finite = {"until": "caught_up"} if path.endswith("/events") else {}  # a stream
                r = world.client.request(method, path, headers={**headers, **extra}, json={},
                                         params=finite)  # fmt: skip
                where = f"{method} {path} (keyed: {keyed})"
                assert r.status_code != 500, f"{where} answered 500: {r.text}"
                if r.status_code == 503:
                    assert r.headers.get("Retry-After", "").isdigit(), where
                answers[(method, path, keyed)] = r.status_code
    assert len(answers) > 40  # the whole API, not a sample
    return answers
