"""What a browser opens: the console at ``/``, ``/docs`` and ``/redoc`` from local files, CORS,
and bearer tokens kept out of the access log."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.app import create_app
from api.logs import log_config, redact
from api.routes.pages import STATIC
from engine.clock import ManualClock
from engine.settings import Settings
from tests.api.conftest import World, make_world

INDEX = '<!doctype html><html><head><script type="module" src="./assets/app-Ab12Cd34.js"></script></head><body><div id="root"></div></body></html>'
SCRIPT = "console.log('闭环');\n" * 200


@pytest.fixture
def world(tmp_path: Path, sqlite_template: Path, clock: ManualClock) -> Iterator[World]:
    """SQLite only: these pages read no cases."""
    path = tmp_path / "bihuan.db"
    shutil.copy(sqlite_template, path)
    w, db = make_world(f"sqlite:///{path}", clock)
    with w.client:
        yield w
    db.dispose()


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX, encoding="utf-8")
    (root / "assets" / "app-Ab12Cd34.js").write_text(SCRIPT, encoding="utf-8")
    (root / "build-info.json").write_text('{"sha256": "x"}', encoding="utf-8")
    (root / ".secret").write_text("hidden", encoding="utf-8")
    (tmp_path / "outside.txt").write_text("outside", encoding="utf-8")
    return root


def client_for(world: World, **settings: Any) -> TestClient:
    app = create_app(
        world.settings.model_copy(update=settings), engine=world.engine, clock=world.clock
    )
    return TestClient(app, raise_server_exceptions=False)


# ---------------------------------------------------------------- the console at /


def test_console_index_is_served_uncached_with_a_same_origin_policy(
    world: World, dist: Path
) -> None:
    c = client_for(world, console_dir=dist)
    r = c.get("/")
    assert r.status_code == 200
    assert r.text == INDEX
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-cache"
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp
    assert "http" not in csp  # no outside host is allowed anything
    assert c.get("/index.html").text == INDEX
    assert c.head("/").status_code == 200


def test_hashed_assets_are_immutable_and_compressed_when_accepted(world: World, dist: Path) -> None:
    c = client_for(world, console_dir=dist)
    r = c.get("/assets/app-Ab12Cd34.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["vary"] == "Accept-Encoding"
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert r.text == SCRIPT  # the client decoded it
    assert int(r.headers["content-length"]) < len(SCRIPT.encode()) / 10
    plain = c.get("/assets/app-Ab12Cd34.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == SCRIPT
    refused = c.get("/assets/app-Ab12Cd34.js", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers


def test_a_precompressed_brotli_file_is_used_when_accepted(world: World, dist: Path) -> None:
    br = b"not really brotli, but what the build left beside the file"
    (dist / "assets" / "app-Ab12Cd34.js.br").write_bytes(br)
    c = client_for(world, console_dir=dist)
    with c.stream("GET", "/assets/app-Ab12Cd34.js", headers={"Accept-Encoding": "gzip, br"}) as r:
        assert r.headers["content-encoding"] == "br"
        assert b"".join(r.iter_raw()) == br
    with c.stream("GET", "/assets/app-Ab12Cd34.js", headers={"Accept-Encoding": "gzip"}) as r:
        assert r.headers["content-encoding"] == "gzip"
        assert gzip.decompress(b"".join(r.iter_raw())) == SCRIPT.encode()


def test_etag_answers_not_modified_and_a_rebuilt_file_is_served_at_once(
    world: World, dist: Path
) -> None:
    c = client_for(world, console_dir=dist)
    first = c.get("/build-info.json")
    assert first.headers["cache-control"] == "no-cache"
    etag = first.headers["etag"]
    again = c.get("/build-info.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    (dist / "build-info.json").write_text('{"sha256": "rebuilt"}', encoding="utf-8")
    fresh = c.get("/build-info.json", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.json() == {"sha256": "rebuilt"}


@pytest.mark.parametrize(
    "path",
    ["/.secret", "/assets/..%2F..%2Foutside.txt", "/assets/%2e%2e/index.html", "/nothing.js",
     "/assets/", "/assets/missing-00000000.js"],
)  # fmt: skip
def test_nothing_outside_the_bundle_is_served(world: World, dist: Path, path: str) -> None:
    r = client_for(world, console_dir=dist).get(path)
    assert r.status_code == 404, (path, r.text)
    assert r.headers["content-type"] == "application/problem+json"


def test_api_paths_keep_their_problem_answers(world: World, dist: Path) -> None:
    c = client_for(world, console_dir=dist)
    r = c.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert c.get("/healthz").json() == {"status": "ok"}
    assert c.get("/openapi.json").json()["info"]["title"] == "bihuan API"
    assert c.post("/", json={}).status_code == 405
    spec = c.get("/openapi.json").json()["paths"]
    assert "/" not in spec and "/docs" not in spec and "/{name}" not in spec


def test_a_missing_bundle_answers_a_page_saying_how_to_build_it(
    world: World, tmp_path: Path
) -> None:
    r = client_for(world, console_dir=tmp_path / "nowhere").get("/")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("text/html")
    assert "make console" in r.text and "BIHUAN_CONSOLE_DIR" in r.text
    assert "控制台尚未构建" in r.text


def test_the_default_settings_point_at_the_repository_bundle() -> None:
    assert Settings().console_dir == Path(__file__).resolve().parents[2] / "console" / "dist"


# ---------------------------------------------------------------- /docs and /redoc, offline


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "data-spec") and value:
                self.refs.append(value)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_pages_load_everything_from_this_server(world: World, page: str) -> None:
    r = world.client.get(page)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "http" not in csp
    parser = _Refs()
    parser.feed(r.text)
    assert parser.refs, "the page loads nothing?"
    scripts = [ref for ref in parser.refs if ref.endswith(".js")]
    assert scripts, parser.refs
    for ref in parser.refs:
        assert not re.match(r"^(https?:)?//", ref), f"{page} loads {ref} from another host"
        if ref.startswith("data:"):
            continue
        asset = world.client.get(ref, headers={"Accept-Encoding": "gzip"})
        assert asset.status_code == 200, ref
        if ref.startswith("/docs/assets/") and "/pages/" not in ref:  # the big vendored files
            assert asset.headers["content-encoding"] == "gzip", ref
    assert re.search(r"(https?:)?//", r.text) is None  # not even a link out


def test_fastapi_cdn_pages_are_gone(world: World) -> None:
    for page in ("/docs", "/redoc"):
        text = world.client.get(page).text
        assert "cdn.jsdelivr.net" not in text and "fonts.googleapis.com" not in text
    assert world.client.get("/docs/oauth2-redirect").status_code == 404


def test_vendored_files_are_the_published_ones() -> None:
    table = (STATIC / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+)` \| `[^`]+` [^|]*\| `([0-9a-f]{64})` \|$", table, re.M)
    assert len(rows) == 3
    for name, digest in rows:
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, name
    for folder in ("swagger-ui", "redoc"):
        assert (STATIC / folder / "LICENSE").is_file()


# ---------------------------------------------------------------- CORS


def test_cors_is_off_by_default(world: World) -> None:
    preflight = world.client.options(
        "/api/v1/auth/me",
        headers={"Origin": "https://other.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    r = world.client.get(
        "/api/v1/auth/me", headers={**world.h("grid_a"), "Origin": "https://other.example"}
    )
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers


def test_cors_allows_the_listed_origins_only(world: World) -> None:
    c = client_for(world, cors_origins=["https://console.example.org"])
    preflight = c.options(
        "/api/v1/tasks",
        headers={
            "Origin": "https://console.example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://console.example.org"
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "idempotency-key"} <= {
        h.strip() for h in allowed.split(",")
    }
    r = c.get(
        "/api/v1/auth/me",
        headers={**world.h("grid_a"), "Origin": "https://console.example.org"},
    )
    assert r.headers["access-control-allow-origin"] == "https://console.example.org"
    other = c.options(
        "/api/v1/tasks",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    r = c.get("/api/v1/auth/me", headers={**world.h("grid_a"), "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_origins_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIHUAN_CORS_ORIGINS", "https://a.example, http://localhost:5173/")
    assert Settings().cors_origins == ["https://a.example", "http://localhost:5173"]
    for bad in ("*", "https://a.example/console", "a.example", "ftp://a.example"):
        monkeypatch.setenv("BIHUAN_CORS_ORIGINS", bad)
        with pytest.raises(ValueError, match="is not an origin"):
            Settings()


# ---------------------------------------------------------------- tokens out of the log


def test_redact_hides_every_token_parameter() -> None:
    line = "GET /api/v1/events?last_event_id=3&access_token=eyJ.a-b_c&x=1&id_token=zz HTTP/1.1"
    assert redact(line) == (
        "GET /api/v1/events?last_event_id=3&access_token=***&x=1&id_token=*** HTTP/1.1"
    )
    assert redact("GET /api/v1/events?access_token=abc") == "GET /api/v1/events?access_token=***"
    assert redact("GET /api/v1/tasks?scope=mine") == "GET /api/v1/tasks?scope=mine"


def test_the_access_log_of_bihuan_serve_never_holds_a_token(
    world: World, capfd: pytest.CaptureFixture[str]
) -> None:
    token = world.token("county_staff")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    # The configuration `bihuan serve` runs with (api.app.serve), at the access log's level.
    config = uvicorn.Config(
        world.app, log_config=log_config(), log_level="info", access_log=True,
        lifespan="off", ws="none",
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        r = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/events",
            params={"access_token": token, "until": "caught_up", "last_event_id": 0},
            timeout=30,
        )
        assert r.status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    captured = capfd.readouterr()
    log = captured.out + captured.err  # uvicorn: access lines on stdout, the rest on stderr
    assert "/api/v1/events?access_token=***&until=caught_up" in log  # the request was logged
    assert token not in log
    assert token.split(".")[2] not in log  # not even the signature
