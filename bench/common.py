"""Shared set-up for the benchmarks: a fresh database with the demo organisations and processes."""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import create_engine, event, text

from demo.seed import _bundle, _demo_hasher
from engine.bootstrap import build_engine
from engine.clock import ManualClock
from engine.orgs import load_organisations
from engine.runtime import Engine, files_from_paths
from engine.settings import Settings
from engine.storage.database import Database
from engine.storage.migrate import upgrade

OUT = Path(__file__).resolve().parent / "out"


def out_dir() -> Path:
    """Where results go: ``bench/out`` unless ``BIHUAN_BENCH_OUT`` says otherwise (the tests)."""
    folder = Path(os.environ.get("BIHUAN_BENCH_OUT") or OUT)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def machine() -> str:
    return f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}"


def pg_base_url() -> str:
    return os.environ.get("BIHUAN_TEST_POSTGRES_URL") or PG_DEFAULT


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StatementCounter:
    """Counts the SQL statements sent on a SQLAlchemy engine and the time spent waiting for them
    (cursor execute: the driver + the round trip + the database's work)."""

    def __init__(self, engine: SqlEngine) -> None:
        self.engine = engine
        self.count = 0
        self.seconds = 0.0
        self.by_verb: dict[str, int] = {}
        self._started: list[float] = []

    def _before(self, _c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        self._started.append(time.perf_counter())
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
        self.by_verb[verb] = self.by_verb.get(verb, 0) + 1

    def _after(self, *_a: Any) -> None:
        self.count += 1
        self.seconds += time.perf_counter() - self._started.pop()

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, migrated database: a temp SQLite file or a throw-away PostgreSQL schema."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="bihuan-bench-")
        url = f"sqlite:///{folder}/bench.db"
        db = Database(url)
        upgrade(db)
        db.dispose()
        try:
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    base = pg_base_url()
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    db = Database(url)
    upgrade(db)
    db.dispose()
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def dispute_engine(url: str, clock: ManualClock | None = None) -> Engine:
    settings = Settings(database_url=url, demo=True)
    engine = build_engine(settings, clock=clock or ManualClock(START))
    with engine.db.session() as s:
        load_organisations(s, settings.organisations_file, hash_password=_demo_hasher(),
                           now=engine.clock.now)  # fmt: skip
    from engine.audit import Actor

    engine.deploy(
        files_from_paths(_bundle(settings.processes_dir, settings.forms_dir)),
        Actor("bench", "designer", None),
    )
    return engine


@dataclass
class Result:
    name: str
    figures: dict[str, Any] = field(default_factory=dict)

    def median(self, key: str, runs: list[float]) -> float:
        value = statistics.median(runs)
        self.figures[key] = round(value, 3)
        self.figures[f"{key}_runs"] = [round(r, 3) for r in runs]
        return value

    def write(self) -> Path:
        self.figures.setdefault("machine", machine())
        self.figures.setdefault("date", datetime.now(UTC).date().isoformat())
        path = out_dir() / f"{self.name}.json"
        path.write_text(json.dumps(self.figures, ensure_ascii=False, indent=1) + "\n")
        return path
