"""What a browser opens: the web console at ``/`` and the API pages ``/docs`` and ``/redoc``.

Everything is served by this process from files on disk (``console/dist`` and
``api/static``): no CDN, no outside fonts, so the pages work on an intranet without internet.
A Content-Security-Policy on each page keeps the browser from fetching anything from another
host even where a third-party file names one (ReDoc's logo).
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api.static import IMMUTABLE, NO_CACHE, StaticFiles
from engine.errors import NotFound

STATIC = Path(__file__).resolve().parent.parent / "static"

#: The console's policy: its own origin only. Inline styles are allowed (bpmn-js, rjsf and the
#: chart SVGs set style attributes); inline scripts are not.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'self'"
)
#: The API pages' policy: as the console's (ReDoc renders in a worker made from a blob).
DOCS_CSP = CONSOLE_CSP
_GET = ["GET", "HEAD"]


def console_router(dist: Path) -> APIRouter:
    """``/`` and the bundle's files; a page saying how to build it when it is missing."""
    files = StaticFiles(dist)
    router = APIRouter(include_in_schema=False)

    @router.api_route("/", methods=_GET)
    def index(request: Request) -> Response:
        found = files.response(
            request,
            "index.html",
            cache_control=NO_CACHE,
            headers={"Content-Security-Policy": CONSOLE_CSP},
        )
        return found or _not_built(dist)

    @router.api_route("/assets/{name:path}", methods=_GET)
    def asset(request: Request, name: str) -> Response:
        return _or_404(files.response(request, f"assets/{name}", cache_control=IMMUTABLE), name)

    @router.api_route("/{name}", methods=_GET)
    def top_level(request: Request, name: str) -> Response:
        if name == "index.html":
            return index(request)
        return _or_404(files.response(request, name, cache_control=NO_CACHE), name)

    return router


def docs_router(openapi_url: str = "/openapi.json") -> APIRouter:
    """``/docs`` (Swagger UI) and ``/redoc`` with their assets under ``/docs/assets/``."""
    files = StaticFiles(STATIC)
    router = APIRouter(include_in_schema=False)

    @router.api_route("/docs", methods=_GET)
    def swagger(request: Request) -> Response:
        return _page(
            request,
            "bihuan API — Swagger UI",
            styles=["swagger-ui/swagger-ui.css"],
            scripts=["swagger-ui/swagger-ui-bundle.js", "pages/swagger-init.js"],
            body='<div id="swagger-ui" data-spec="{spec}"></div>',
            openapi_url=openapi_url,
        )

    @router.api_route("/redoc", methods=_GET)
    def redoc(request: Request) -> Response:
        return _page(
            request,
            "bihuan API — ReDoc",
            styles=[],
            scripts=["redoc/redoc.standalone.js", "pages/redoc-init.js"],
            body='<div id="redoc" data-spec="{spec}"></div>',
            openapi_url=openapi_url,
        )

    @router.api_route("/docs/assets/{name:path}", methods=_GET)
    def docs_asset(request: Request, name: str) -> Response:
        if name.endswith(".md"):
            raise NotFound(f"no file {name}")
        return _or_404(files.response(request, name, cache_control="public, max-age=86400"), name)

    return router


def _page(
    request: Request,
    title: str,
    *,
    styles: list[str],
    scripts: list[str],
    body: str,
    openapi_url: str,
) -> Response:
    root = html.escape(str(request.scope.get("root_path", "")).rstrip("/"), quote=True)
    links = "".join(f'<link rel="stylesheet" href="{root}/docs/assets/{s}">' for s in styles)
    tags = "".join(f'<script src="{root}/docs/assets/{s}"></script>' for s in scripts)
    spec = html.escape(root + openapi_url, quote=True)
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{html.escape(title)}</title><link rel="icon" href="data:,">{links}'
        '<style>body{margin:0}</style></head>'
        f"<body>{body.format(spec=spec)}{tags}</body></html>"
    )  # fmt: skip
    return HTMLResponse(
        text, headers={"Cache-Control": NO_CACHE, "Content-Security-Policy": DOCS_CSP}
    )


def _or_404(found: Response | None, name: str) -> Response:
    if found is None:
        raise NotFound(f"没有文件 {name} (no file {name})")
    return found


def _not_built(dist: Path) -> Response:
    text = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        "<title>闭环控制台未构建 (console not built)</title></head><body>"
        "<h1>控制台尚未构建 (the console is not built)</h1>"
        f"<p>没有找到 <code>{html.escape(str(dist / 'index.html'))}</code>。"
        "在仓库根目录运行 <code>make console</code> 重新构建（需要 Node 与 npm），"
        "或设置 <code>BIHUAN_CONSOLE_DIR</code> 指向已构建的目录。</p>"
        f"<p>No <code>{html.escape(str(dist / 'index.html'))}</code>: run "
        "<code>make console</code> in the repository (needs Node and npm), or point "
        "<code>BIHUAN_CONSOLE_DIR</code> at a built bundle. The API itself is up: "
        '<a href="docs">/docs</a>, <a href="redoc">/redoc</a>, '
        '<a href="openapi.json">/openapi.json</a>.</p></body></html>'
    )
    return HTMLResponse(text, status_code=503, headers={"Cache-Control": NO_CACHE})
