"""A private PostgreSQL for the fault tests: ``initdb`` into a temporary directory, its own port
and socket directory, started, crashed and restarted by the test alone. The machine's shared
server (5432) is never touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.faults.harness import free_port, tool, wait_for


def _as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the ``postgres`` user then."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root without runuser: cannot start a private PostgreSQL")
    return [runuser, "-u", "postgres", "--"]


def missing_tools() -> str | None:
    for name in ("initdb", "pg_ctl"):
        if tool(name) is None:
            return f"{name} not found: the private PostgreSQL cannot be started"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and no 'postgres' user to run a private PostgreSQL"
    return None


@dataclass
class PrivatePostgres:
    root: Path
    port: int = 0

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"

    @classmethod
    @contextmanager
    def temporary(cls) -> Iterator[PrivatePostgres]:
        """Initialised and started in a fresh directory under the system's temp dir (which the
        ``postgres`` user can reach, unlike pytest's root-only one); removed afterwards."""
        root = Path(tempfile.mkdtemp(prefix="bihuan-faults-pg-"))
        pg = cls(root)
        try:
            yield pg.init().start()
        finally:
            pg.stop()
            shutil.rmtree(root, ignore_errors=True)

    def _run(self, *args: str, timeout: float = 120) -> None:
        done = subprocess.run([*_as_postgres(), *args], capture_output=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:2])} failed: {done.stderr.decode(errors='replace')}"
            )

    def init(self) -> PrivatePostgres:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        initdb = tool("initdb")
        assert initdb is not None
        self._run(initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        return self

    def start(self) -> PrivatePostgres:
        pg_ctl = tool("pg_ctl")
        assert pg_ctl is not None
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c fsync=off -c full_page_writes=off"
        )
        self._run(pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        return self

    def crash(self) -> None:
        """Stop at once, as a crash would (``-m immediate``: no checkpoint, recovery on start)."""
        pg_ctl = tool("pg_ctl")
        assert pg_ctl is not None
        self._run(pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        pg_ctl = tool("pg_ctl")
        if pg_ctl is not None and (self.data / "postmaster.pid").exists():
            subprocess.run(
                [*_as_postgres(), pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
                capture_output=True, timeout=60,
            )  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url(name)

    def execute(self, sql: str, database: str = "postgres") -> list[tuple[object, ...]]:
        engine = create_engine(self.url(database), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                result = conn.execute(text(sql))
                return [tuple(r) for r in result] if result.returns_rows else []
        finally:
            engine.dispose()

    def accepting(self) -> bool:
        try:
            self.execute("SELECT 1")
        except Exception:
            return False
        return True

    def wait_accepting(self, timeout: float = 60) -> None:
        wait_for(f"PostgreSQL on port {self.port}", self.accepting, timeout, every=0.2)
