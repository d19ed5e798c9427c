"""console/openapi.json is the app's /openapi.json, so the console's generated types
(console/src/api/openapi.d.ts, `npm run openapi`) describe the API that is served.

``BIHUAN_WRITE_OPENAPI=1`` rewrites the file (then run `npm run openapi` and `make console`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from api.app import create_app
from engine.settings import Settings

FILE = Path(__file__).resolve().parents[2] / "console" / "openapi.json"


def render(doc: dict[str, object]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def test_the_console_s_copy_of_openapi_json_is_current(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", demo=True,
                              scheduler_enabled=False))  # fmt: skip
    current = render(app.openapi())
    if os.environ.get("BIHUAN_WRITE_OPENAPI") == "1":
        FILE.write_text(current, encoding="utf-8")
    assert FILE.read_text(encoding="utf-8") == current, (
        "console/openapi.json differs from the app's /openapi.json: run "
        "`BIHUAN_WRITE_OPENAPI=1 pytest tests/browser/test_openapi_sync.py`, then "
        "`cd console && npm run openapi` and `make console`"
    )
