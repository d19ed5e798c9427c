"""Shared set-up for the benchmarks: a fresh database with the demo organisations and processes."""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from engine.bootstrap import build_engine
from engine.clock import ManualClock
from engine.definitions import files_from_paths
from engine.demo import _bundle, _demo_hasher
from engine.orgs import load_organisations
from engine.runtime import Engine
from engine.settings import Settings
from engine.storage.database import Database
from engine.storage.migrate import upgrade

OUT = Path(__file__).resolve().parent / "out"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def machine() -> str:
    return f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}"


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh, migrated database: a temp SQLite file or a throw-away PostgreSQL schema."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="bihuan-bench-")
        url = f"sqlite:///{folder}/bench.db"
        upgrade(Database(url))
        yield url
        return
    base = os.environ.get("BIHUAN_TEST_POSTGRES_URL") or PG_DEFAULT
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
        OUT.mkdir(exist_ok=True)
        self.figures.setdefault("machine", machine())
        self.figures.setdefault("date", datetime.now(UTC).date().isoformat())
        path = OUT / f"{self.name}.json"
        path.write_text(json.dumps(self.figures, ensure_ascii=False, indent=1) + "\n")
        return path
