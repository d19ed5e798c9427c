"""The fault scenarios' view of a private PostgreSQL (:mod:`tests.private_postgres`: ``initdb``
into a temporary directory, its own port; the machine's shared server is never touched): a
database per suite, statements as the superuser, a crash and a restart."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import create_engine, text

from tests.faults.harness import wait_for
from tests.private_postgres import PrivatePostgres, private_postgres


@dataclass
class FaultyPostgres:
    server: PrivatePostgres

    @classmethod
    @contextmanager
    def temporary(cls) -> Iterator[FaultyPostgres]:
        """Started for the block (the test skips, saying why, without initdb and pg_ctl)."""
        with private_postgres() as server:
            yield cls(server)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.server.port}/{database}"

    def create_database(self, name: str) -> str:
        self.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def execute(self, sql: str) -> list[tuple[object, ...]]:
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                result = conn.execute(text(sql))
                return [tuple(r) for r in result] if result.returns_rows else []
        finally:
            engine.dispose()

    def crash(self) -> None:
        """Stop at once, as a crash would (``-m immediate``: no checkpoint, recovery on start)."""
        self.server.stop("immediate")

    def start(self) -> None:
        self.server.start()

    def accepting(self) -> bool:
        try:
            self.execute("SELECT 1")
        except Exception:
            return False
        return True

    def wait_accepting(self, timeout: float = 60) -> None:
        wait_for(f"PostgreSQL on port {self.server.port}", self.accepting, timeout, every=0.2)
