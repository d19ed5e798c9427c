"""Static files served by the API process itself: the web console and the API pages' assets.

    GET /                 console/dist/index.html      Cache-Control: no-cache
    GET /assets/<file>    console/dist/assets/<file>   immutable for a year (names carry a hash)
    GET /<file>           other files at the bundle's top level (build-info.json, icons), no-cache

A :class:`StaticFiles` keeps each file in memory with its gzip form (made once, level 9) and
answers ``br`` or ``gzip`` when the client accepts it: a precompressed ``<file>.br`` or
``<file>.gz`` lying beside the file is used as is. Every answer has a strong ``ETag``
(``If-None-Match`` → 304) and ``Vary: Accept-Encoding``. A file changed on disk is read again
(the size and modification time are checked on each request), so a rebuilt bundle is served
without a restart.

Only files inside the root are served: hidden names, ``..`` and anything that resolves outside
the root are *not found*.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request, Response

#: Media types worth compressing (text; images and fonts are compressed already).
_COMPRESSIBLE = (
    "text/",
    "application/javascript",
    "application/json",
    "application/xml",
    "image/svg+xml",
    "application/wasm",
    "application/manifest+json",
)
_MIN_COMPRESS = 512
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".wasm": "application/wasm",
    ".woff2": "font/woff2",
    ".webmanifest": "application/manifest+json",
}
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"


def media_type_of(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in _TYPES:
        return _TYPES[suffix]
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def accepted_encodings(header: str | None) -> set[str]:
    """The content codings an ``Accept-Encoding`` header allows (``q=0`` refuses one)."""
    found: set[str] = set()
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip().lower()
        if not name:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            found.add(name)
    if "*" in found:
        found |= {"gzip", "br"}
    return found


@dataclass(frozen=True)
class _Entry:
    stamp: tuple[int, int]
    media_type: str
    body: bytes
    gzip: bytes | None
    brotli: bytes | None
    etag: str

    @property
    def compressible(self) -> bool:
        return self.gzip is not None or self.brotli is not None


class StaticFiles:
    """The files under ``root``, served from memory (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def exists(self, name: str) -> bool:
        return self._path(name) is not None

    def response(
        self,
        request: Request,
        name: str,
        *,
        cache_control: str,
        headers: dict[str, str] | None = None,
    ) -> Response | None:
        """The file's response, or None when there is no such file."""
        entry = self._entry(name)
        if entry is None:
            return None
        common = {"Cache-Control": cache_control, "ETag": entry.etag, **(headers or {})}
        common["X-Content-Type-Options"] = "nosniff"
        if entry.compressible:
            common["Vary"] = "Accept-Encoding"
        wanted = request.headers.get("if-none-match")
        if wanted and entry.etag in {t.strip() for t in wanted.split(",")} | {"*"}:
            return Response(status_code=304, headers=common)
        body = entry.body
        accepted = accepted_encodings(request.headers.get("accept-encoding"))
        if entry.brotli is not None and "br" in accepted:
            body, common["Content-Encoding"] = entry.brotli, "br"
        elif entry.gzip is not None and "gzip" in accepted:
            body, common["Content-Encoding"] = entry.gzip, "gzip"
        if request.method == "HEAD":
            common["Content-Length"] = str(len(body))
            return Response(status_code=200, headers=common, media_type=entry.media_type)
        return Response(body, headers=common, media_type=entry.media_type)

    def _path(self, name: str) -> Path | None:
        parts = name.split("/")
        if not name or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
            return None
        if "\\" in name or "\x00" in name:
            return None
        path = self.root.joinpath(*parts)
        try:
            resolved = path.resolve(strict=True)
            root = self.root.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not resolved.is_file() or not resolved.is_relative_to(root):
            return None
        return resolved

    def _entry(self, name: str) -> _Entry | None:
        path = self._path(name)
        if path is None:
            return None
        try:
            st = path.stat()
        except OSError:
            return None
        stamp = (st.st_size, st.st_mtime_ns)
        entry = self._entries.get(name)
        if entry is not None and entry.stamp == stamp:
            return entry
        with self._lock:
            entry = self._entries.get(name)
            if entry is None or entry.stamp != stamp:
                entry = self._load(path, stamp)
                self._entries[name] = entry
        return entry

    @staticmethod
    def _load(path: Path, stamp: tuple[int, int]) -> _Entry:
        body = path.read_bytes()
        media = media_type_of(path.name)
        gz: bytes | None = None
        br: bytes | None = None
        if media.startswith(_COMPRESSIBLE) and len(body) >= _MIN_COMPRESS:
            gz = _sibling(path, ".gz") or gzip.compress(body, compresslevel=9, mtime=0)
            br = _sibling(path, ".br")
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        return _Entry(stamp, media, body, gz, br, etag)


def _sibling(path: Path, suffix: str) -> bytes | None:
    """A precompressed copy the build left beside the file, if any."""
    try:
        return path.with_name(path.name + suffix).read_bytes()
    except OSError:
        return None
