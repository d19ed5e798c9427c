"""SQLite (``make run``'s database) under HTTP load: the server killed with SIGKILL mid-write and
restarted; the disk full mid-load and freed again. After each: every acknowledged report once,
each key replayed with its original answer, no 500, ``PRAGMA integrity_check`` and the audit
chain pass."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import Node, check, copy_of, loaded, recovery, wait_for

pytestmark = pytest.mark.faults


def test_kill_9_of_the_sqlite_server_mid_write(demo_sqlite: Path, tmp_path: Path) -> None:
    url = copy_of(demo_sqlite, tmp_path / "bihuan.db")
    node = Node(url, tmp_path / "serve.log", workers=2).start().ready()
    try:
        load, runner = loaded([node], "SQLK", count=80)
        before = len(load.acked)
        started = time.monotonic()
        os.killpg(node.pid, signal.SIGKILL)  # the supervisor and its workers, mid-write
        assert node.proc is not None
        node.proc.wait(timeout=10)
        node.start().ready()
        recovered = recovery(load, before, runner)
        runner.join()
        check("kill-9-sqlite", load, url, node, restart_and_recovery_s=round(time.monotonic() - started, 2), recovery_after_ready_s=recovered)  # fmt: skip
    finally:
        node.stop()


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 24 MB tmpfs of our own: a disk the test can fill without touching the machine's."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a full disk needs a private tmpfs: mount is not available to this user")
    where = Path(tempfile.mkdtemp(prefix="bihuan-faults-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a private tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)
        shutil.rmtree(where, ignore_errors=True)


def fill(disk: Path) -> Path:
    """Write a file until the disk refuses (ENOSPC)."""
    filler = disk / "filler"
    chunk = b"\0" * (256 * 1024)
    with filler.open("wb") as out:
        try:
            while True:
                out.write(chunk)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return filler


def test_a_full_disk_mid_load(demo_sqlite: Path, small_disk: Path, tmp_path: Path) -> None:
    url = copy_of(demo_sqlite, small_disk / "bihuan.db")
    node = Node(url, tmp_path / "serve.log", workers=2).start().ready()
    try:
        load, runner = loaded([node], "DISK", count=80)
        filler = fill(small_disk)
        wait_for("the full disk to be refused (503)", lambda: load.statuses[503] > 0 or not runner.is_alive(), 60)  # fmt: skip
        refused = load.statuses[503]
        before = len(load.acked)
        filler.unlink()
        recovered = recovery(load, before, runner)
        runner.join()
        check("full-disk-sqlite", load, url, node, refused_while_full=refused, recovery_after_freeing_s=recovered)  # fmt: skip
    finally:
        node.stop()
