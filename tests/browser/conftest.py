"""Browser tests: Debian's Chromium driven through Playwright against a live server.

Each test gets its own server (a real uvicorn on a free port, a temp SQLite database, the demo
organisations and the shipped processes, a ``ManualClock``) serving the committed console bundle
at ``/``. The browser is started once per session, a fresh context (its own sessionStorage) per
user. Screenshots go to a temp folder, and into ``docs/img/console/`` when
``BIHUAN_SCREENSHOTS=1``.

Nothing here waits on the wall clock: Playwright's auto-waiting assertions wait for what the
page shows (``expect(...).to_be_visible()``), not for a time.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from demo import scenarios as sc
from demo.seed import DEMO_CASES, _bundle, _demo_hasher, _seed
from engine.bootstrap import build_engine
from engine.clock import ManualClock
from engine.orgs import load_organisations
from engine.runtime import Engine, files_from_paths
from engine.settings import Settings
from tests.conftest import START
from tests.engine.support import DESIGNER
from tests.live_server import live_server

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
DOCS_IMG = ROOT / "docs" / "img" / "console"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

try:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None  # type: ignore[assignment]


def _skip_reason() -> str | None:
    if sync_playwright is None:
        return "browser tests need the playwright package (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return (
            "browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)"
        )
    if not (ROOT / "console" / "dist" / "index.html").exists():
        return "the console bundle console/dist is missing (run `make console`)"
    return None


#: Test modules here that need neither a browser nor the playwright package.
NO_BROWSER = {"test_bundle_fresh.py", "test_openapi_sync.py"}


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Without the playwright package the browser modules cannot even be imported: leave them
    out (the report header says why) rather than fail collection."""
    if sync_playwright is None and collection_path.suffix == ".py":
        name = collection_path.name
        if name.startswith("test_") and name not in NO_BROWSER:
            return True
    return None


def pytest_report_header(config: pytest.Config) -> str | None:
    reason = _skip_reason()
    return f"browser tests skipped: {reason}" if reason else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _skip_reason()
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent != here:
            continue
        if item.get_closest_marker("browser") is None:
            continue
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


# ---------------------------------------------------------------- the server


@dataclass
class Console:
    """A live server with the console, and what a test needs to set the scene."""

    base: str
    engine: Engine
    clock: ManualClock
    driver: sc.Driver = field(init=False)

    def __post_init__(self) -> None:
        self.driver = sc.Driver(self.engine)

    def add_user(self, user_id: str, role: str, org: str, password: str) -> None:
        """The admin adds a user (POST /users, real HTTP)."""
        with httpx.Client(base_url=self.base) as http:
            token = http.post(
                "/api/v1/auth/token", json={"username": "admin", "password": "demo"}
            ).json()["access_token"]
            r = http.post(
                "/api/v1/users",
                headers={"Authorization": f"Bearer {token}"},
                json={"id": user_id, "display_name": user_id, "password": password,
                      "roles": [{"role": role, "org_id": org}]},
            )  # fmt: skip
            r.raise_for_status()

    def seed(self, case_no: str) -> None:
        """Create one of the demo cases (demo/seed.py) in its state."""
        demo = next(d for d in DEMO_CASES if d.case_no == case_no)
        _seed(self.driver, demo)


@pytest.fixture
def console(tmp_path: Path, sqlite_template: Path) -> Iterator[Console]:
    path = tmp_path / "bihuan.db"
    shutil.copy(sqlite_template, path)
    clock = ManualClock(START)
    settings = Settings(database_url=f"sqlite:///{path}", demo=True, scheduler_enabled=False,
                        evidence_dir=tmp_path / "evidence")  # fmt: skip
    engine = build_engine(settings, clock=clock)
    with engine.db.session() as s:
        load_organisations(s, settings.organisations_file, hash_password=_demo_hasher(),
                           now=clock.now)  # fmt: skip
    engine.deploy(files_from_paths(_bundle(settings.processes_dir, settings.forms_dir)), DESIGNER)
    app = create_app(settings, engine=engine, clock=clock, sse_poll_seconds=0.2)
    with live_server(app) as base:
        yield Console(base, engine, clock)
    engine.db.dispose()


# ---------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Playwright]:
    if _skip_reason() is not None:
        pytest.skip(_skip_reason() or "")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    b = playwright_session.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield b
    b.close()


@dataclass
class Screens:
    folder: Path
    publish: bool

    def shot(self, page: Page, name: str, *, full_page: bool = True) -> Path:
        target = self.folder / f"{name}.png"
        page.screenshot(path=str(target), full_page=full_page)
        if self.publish:
            DOCS_IMG.mkdir(parents=True, exist_ok=True)
            shutil.copy(target, DOCS_IMG / target.name)
        return target


@pytest.fixture(scope="session")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Screens:
    return Screens(tmp_path_factory.mktemp("screens"), os.environ.get("BIHUAN_SCREENSHOTS") == "1")


PHONE = {"width": 360, "height": 740}
DESK = {"width": 1280, "height": 860}

Opener = Callable[..., Page]


@pytest.fixture
def open_as(browser: Browser, console: Console) -> Iterator[Opener]:
    """``open_as("grid01")`` → a page signed in as that demo user (password ``demo``)."""
    contexts: list[BrowserContext] = []
    problems: list[str] = []

    def opener(
        user: str, *, viewport: dict[str, int] | None = None, password: str = "demo", **kw: Any
    ) -> Page:
        ctx = browser.new_context(  # the zone is fixed: nothing depends on the host's
            viewport=viewport or DESK, locale="zh-CN", timezone_id="Asia/Shanghai", **kw
        )
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda e: problems.append(f"{user}: {e}"))
        sign_in(page, console.base, user, password)
        return page

    yield opener
    for ctx in contexts:
        ctx.close()
    assert not problems, f"JavaScript errors in the console: {problems}"


def sign_in(page: Page, base: str, user: str, password: str = "demo") -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("whoami")).to_be_visible()
