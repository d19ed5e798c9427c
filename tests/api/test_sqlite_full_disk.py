"""SQLite on a full disk: 503 with ``Retry-After``, never 500, and nothing lost.

The database lives on a small tmpfs of its own (mounted by the test: root only), filled to the
last byte. Every route answers 503 with ``Retry-After`` or what it answers anyway (reads may
still work); once space is freed, a keyed report retried with the same key runs once (its key
not stuck, whatever the failed attempt left) and the database passes ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from engine.clock import ManualClock
from tests.api.conftest import World, make_world
from tests.api.faults_support import count_cases, hit_every_operation, report_keyed


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(disk)],
                             capture_output=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path) -> Path:
    """Write until the disk has not one byte left."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        size = 1 << 20
        while size:
            try:
                os.write(fd, b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                size //= 2
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_answers_503_and_loses_nothing(
    small_disk: Path, sqlite_template: Path, clock: ManualClock
) -> None:
    path = small_disk / "bihuan.db"
    shutil.copy(sqlite_template, path)
    world: World
    world, db = make_world(f"sqlite:///{path}", clock)
    with world.client:
        for user in ("grid_a", "county_staff"):
            world.token(user)
        filler = _fill(small_disk)
        failed = report_keyed(world, "full-1", "磁盘已满时的上报")
        assert failed.status_code == 503, failed.text
        assert failed.headers["Retry-After"].isdigit()
        answers = hit_every_operation(world, "county_staff")
        assert answers[("POST", "/api/v1/cases", True)] == 503
        filler.unlink()
        world.clock.advance(timedelta(seconds=world.settings.idempotency_lease_seconds + 1))
        done = report_keyed(world, "full-1", "磁盘已满时的上报")
        assert done.status_code == 201, done.text
        again = report_keyed(world, "full-1", "磁盘已满时的上报")
        assert again.headers["idempotent-replayed"] == "true" and again.content == done.content
        assert count_cases(world, "磁盘已满时的上报") == 1
    db.dispose()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
