"""API fixtures: a small org tree and users of our own, the loop process, an app per test.

    /county/                  county_staff (county_center), auditor_county, designer, admin
    ├── town_a/               town_a_staff (township_center), handler_a, handler_a2
    │   │                     (handling_unit), auditor_a, supervisor_a, leader_a (case_leader),
    │   │                     revisit_a (revisit_agent)
    │   └── village_a1/       village_a (village_cmte)
    │       └── grid_a1/      grid_a (grid_worker)
    ├── town_b/               town_b_staff (township_center), handler_b (handling_unit), auditor_b
    │   └── grid_b1/          grid_b (grid_worker)
    └── dept_water/           dept_user (handling_unit)

The loop process's lanes map to candidates through data fields: ``handler`` → handling_unit at
``handler_org``, ``checker`` → township_center at ``checker_org`` (both default to town_a).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from engine.access import Access, hash_password, load_principal
from engine.audit.log import Actor
from engine.clock import ManualClock
from engine.runtime import Candidate, Engine, TaskListener, files_from_paths
from engine.settings import Settings
from engine.storage.database import Database
from engine.storage.models import OrgUnit, User, UserRole

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PASSWORD = "correct horse battery"
SECRET = "test-secret-" + "x" * 40

UNITS = [
    ("county", None, "county", "/county/"),
    ("town_a", "county", "township", "/county/town_a/"),
    ("village_a1", "town_a", "village", "/county/town_a/village_a1/"),
    ("grid_a1", "village_a1", "grid", "/county/town_a/village_a1/grid_a1/"),
    ("town_b", "county", "township", "/county/town_b/"),
    ("grid_b1", "town_b", "grid", "/county/town_b/grid_b1/"),
    ("dept_water", "county", "department", "/county/dept_water/"),
]
USERS: dict[str, list[tuple[str, str]]] = {
    "county_staff": [("county_center", "county")],
    "auditor_county": [("auditor", "county")],
    "designer": [("designer", "county")],
    "admin": [("admin", "county")],
    "town_a_staff": [("township_center", "town_a")],
    "handler_a": [("handling_unit", "town_a")],
    "handler_a2": [("handling_unit", "town_a")],
    "auditor_a": [("auditor", "town_a")],
    "grid_a": [("grid_worker", "grid_a1")],
    "town_b_staff": [("township_center", "town_b")],
    "handler_b": [("handling_unit", "town_b")],
    "grid_b": [("grid_worker", "grid_b1")],
    "auditor_b": [("auditor", "town_b")],
    "village_a": [("village_cmte", "village_a1")],
    "supervisor_a": [("supervisor", "town_a")],
    "leader_a": [("case_leader", "town_a")],
    "revisit_a": [("revisit_agent", "town_a")],
    "dept_user": [("handling_unit", "dept_water")],
}
DEFAULT_ORG = "town_a"
LANES = {"handler": ("handling_unit", "handler_org"), "checker": ("township_center", "checker_org")}


class LaneResolver:
    def resolve(
        self,
        *,
        lane: str | None,
        element_id: str,
        properties: Mapping[str, str],
        data: Mapping[str, Any],
    ) -> Candidate:
        role, org_field = LANES.get(lane or "", (None, ""))
        org = (data.get(org_field) or DEFAULT_ORG) if org_field else None
        return Candidate(org_id=str(org) if org else None, role=role)


_HASH_CACHE: dict[str, str] = {}


def seed_people(db: Database, clock: ManualClock) -> None:
    hashed = _HASH_CACHE.setdefault(PASSWORD, hash_password(PASSWORD))
    with db.session() as s:
        for uid, parent, kind, path in UNITS:
            s.add(OrgUnit(id=uid, name=uid, kind=kind, tier=None, parent_id=parent, path=path))
        s.flush()
        for user, grants in USERS.items():
            s.add(
                User(
                    id=user,
                    display_name=user,
                    password_hash=hashed,
                    active=True,
                    created_at=clock.now(),
                )
            )
            s.flush()
            for role, org in grants:
                s.add(UserRole(user_id=user, role=role, org_id=org))


def loop_bundle(process_id: str = "loop") -> list[Any]:
    files = files_from_paths(
        [
            FIXTURES / "bpmn" / "loop.bpmn",
            FIXTURES / "forms" / "handle.schema.json",
            FIXTURES / "forms" / "handle.uischema.json",
            FIXTURES / "forms" / "check.schema.json",
        ]
    )
    if process_id != "loop":
        from engine.spiff import BundleFile

        files[0] = BundleFile(
            files[0].filename, files[0].content.replace(b'id="loop"', f'id="{process_id}"'.encode())
        )
    return files


def case_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "process_id": "loop",
        "title": "邻里噪音纠纷",
        "category": "neighbour",
        "severity": "yellow",
        "grid_code": "grid_a1",
        "data": {"rounds": 0, "handler_org": "town_a", "checker_org": "town_a"},
    }
    body.update(overrides)
    return body


@dataclass
class World:
    app: FastAPI
    client: TestClient
    engine: Engine
    clock: ManualClock
    db: Database
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, user: str) -> str:
        """A token as ``POST /auth/token`` issues it, without paying for argon2 every time
        (sign-in itself is tested in test_auth.py and test_docs.py)."""
        if user not in self.tokens:
            access: Access = self.app.state.bihuan.access
            with self.db.session() as s:
                principal = load_principal(s, user)
            assert principal is not None, user
            self.tokens[user] = access.issue(principal).access_token
        return self.tokens[user]

    def h(self, user: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}", **extra}

    def get(self, user: str, url: str, **kw: Any) -> httpx.Response:
        return self.client.get(url, headers=self.h(user), **kw)

    def post(self, user: str, url: str, **kw: Any) -> httpx.Response:
        headers = {**self.h(user), **kw.pop("headers", {})}
        return self.client.post(url, headers=headers, **kw)

    def report(self, user: str = "grid_a", **overrides: Any) -> str:
        r = self.post(user, "/api/v1/cases", json=case_body(**overrides))
        assert r.status_code == 201, r.text
        return str(r.json()["case"]["case_no"])

    def open_task(self, case_no: str, element_id: str = "handle") -> str:
        r = self.get(
            "county_staff", "/api/v1/tasks", params={"scope": "jurisdiction", "case_no": case_no}
        )
        assert r.status_code == 200, r.text
        ids = [t["id"] for t in r.json()["items"] if t["element_id"] == element_id]
        assert ids, r.json()
        return str(ids[0])


def make_world(
    db_url: str,
    clock: ManualClock,
    *,
    deploy_as: str = "loop",
    settings_kw: Mapping[str, Any] | None = None,
    db: Database | None = None,
    listeners: Sequence[TaskListener] = (),
    **app_kw: Any,
) -> tuple[World, Database]:
    db = db or Database(db_url)
    settings = Settings(
        **{
            "database_url": db_url, "secret_key": SECRET, "demo": False,
            "max_request_bytes": 256 * 1024, "messages_file": FIXTURES / "messages.yaml",
            "evidence_dir": Path(tempfile.mkdtemp(prefix="bihuan-evidence-")),
            **(settings_kw or {}),
        }
    )  # fmt: skip
    engine = Engine(db, clock=clock, resolver=LaneResolver(), listeners=listeners)
    seed_people(db, clock)
    engine.deploy(loop_bundle(deploy_as), Actor("designer", "designer", "county"))
    app = create_app(settings, engine=engine, clock=clock, sse_poll_seconds=0.01, **app_kw)
    client = TestClient(app, raise_server_exceptions=False)
    return World(app, client, engine, clock, db, settings), db


@pytest.fixture
def world(db_url: str, clock: ManualClock) -> Iterator[World]:
    w, db = make_world(db_url, clock)
    with w.client:
        yield w
    db.dispose()


def make_demo_world(db_url: str, clock: ManualClock) -> World:
    """The demo organisations (processes/organisations.yaml) and the shipped processes and
    forms, as ``make run`` serves them (users grid01, town01, …; see docs/walkthrough.md)."""
    from demo.seed import _bundle
    from engine.bootstrap import build_engine
    from engine.orgs import load_organisations
    from tests.scenarios.conftest import demo_hasher

    settings = Settings(
        database_url=db_url, demo=True, scheduler_enabled=False,
        evidence_dir=Path(tempfile.mkdtemp(prefix="bihuan-evidence-")),
    )  # fmt: skip
    engine = build_engine(settings, clock=clock)
    with engine.db.session() as s:
        load_organisations(s, settings.organisations_file, hash_password=demo_hasher(),
                           now=clock.now)  # fmt: skip
    engine.deploy(
        files_from_paths(_bundle(settings.processes_dir, settings.forms_dir)),
        Actor("designer", "designer", "qs"),
    )
    app = create_app(settings, engine=engine, clock=clock, sse_poll_seconds=0.01)
    client = TestClient(app, raise_server_exceptions=False)
    return World(app, client, engine, clock, engine.db, settings)


@pytest.fixture
def demo(db_url: str, clock: ManualClock) -> Iterator[World]:
    w = make_demo_world(db_url, clock)
    with w.client:
        yield w
    w.db.dispose()
