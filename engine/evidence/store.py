"""Where the bytes of evidence live: content-addressed by SHA-256, so a file is stored once
however often it is attached, and a changed byte is a different file.

``LocalStore`` (the default) keeps them under a directory on the local disk; ``S3Store`` in an
S3-compatible object store, for several nodes (engine/evidence/s3.py).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from engine.errors import NotFound

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class BlobStore(Protocol):
    def put(self, digest: str, data: bytes) -> None:
        """Store ``data`` under its digest; storing the same digest again changes nothing."""

    def get(self, digest: str) -> bytes:
        """The bytes stored under ``digest``; NotFound when there are none."""

    def exists(self, digest: str) -> bool: ...


def check_digest(digest: str) -> str:
    if not _DIGEST.match(digest):
        raise ValueError(f"not a SHA-256 hex digest: {digest!r}")
    return digest


class LocalStore:
    """``<root>/ab/cd/abcd…``: written to a temporary file, synced, then renamed into place, so
    a crash never leaves a partial file under a digest."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, digest: str) -> Path:
        check_digest(digest)
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, digest: str, data: bytes) -> None:
        path = self._path(digest)
        if path.exists() and path.stat().st_size == len(data):
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, digest: str) -> bytes:
        path = self._path(digest)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise NotFound(
                f"证据文件缺失 (the file {digest[:12]}… is missing from the store)"
            ) from None

    def exists(self, digest: str) -> bool:
        return self._path(digest).exists()
