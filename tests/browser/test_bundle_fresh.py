"""The committed console bundle (console/dist) is built from the current sources.

console/scripts/build-info.mjs writes ``dist/build-info.json`` after each build: a SHA-256 over
the sources, each file fed as ``path \\0 content \\0`` in the order of their POSIX paths relative
to console/. This test recomputes it the same way; no browser or Node needed.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

CONSOLE = Path(__file__).resolve().parents[2] / "console"
TOP_LEVEL = {"index.html", "package.json", "package-lock.json", "vite.config.ts"}


def source_files() -> list[str]:
    files = [p for p in (CONSOLE / "src").rglob("*") if p.is_file()]
    files += [
        p
        for p in CONSOLE.iterdir()
        if p.is_file() and (p.name in TOP_LEVEL or re.fullmatch(r"tsconfig.*\.json", p.name))
    ]
    return sorted(p.relative_to(CONSOLE).as_posix() for p in files)


def sources_sha256() -> str:
    h = hashlib.sha256()
    for rel in source_files():
        h.update(rel.encode())
        h.update(b"\0")
        h.update((CONSOLE / rel).read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def test_the_committed_bundle_is_built_from_the_current_sources() -> None:
    info_file = CONSOLE / "dist" / "build-info.json"
    assert info_file.exists(), (
        "console/dist/build-info.json is missing: run `make console` to rebuild"
    )
    info = json.loads(info_file.read_text(encoding="utf-8"))
    assert info["sources_sha256"] == sources_sha256(), (
        "the console sources changed since console/dist was built: run `make console` to rebuild "
        "and commit console/dist"
    )


def test_the_bundle_loads_nothing_from_another_origin() -> None:
    """Offline at run time: no CDN, no outside fonts — every URL in the bundle's HTML and CSS
    is relative (the JS talks to /api/v1 on its own origin)."""
    dist = CONSOLE / "dist"
    html = (dist / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html), html
    for css in (dist / "assets").glob("*.css"):
        text = css.read_text(encoding="utf-8")
        remote = re.findall(
            r"url\(\s*['\"]?(?:https?:)?//[^)]*\)|@import\s+['\"]?(?:https?:)?//", text
        )
        assert not remote, f"{css.name} loads {remote}"


def test_every_file_index_html_names_is_in_the_bundle() -> None:
    dist = CONSOLE / "dist"
    html = (dist / "index.html").read_text(encoding="utf-8")
    for ref in re.findall(r"""(?:src|href)=["']\./([^"']+)["']""", html):
        assert (dist / ref).is_file(), f"index.html names {ref}, which is not in console/dist"
