"""Render a BPMN file to PNG with bpmn-js in headless Chromium (for docs/img/*.png).

Needs, outside the repository: a scratch directory with ``npm install bpmn-js@17`` and the
``chromium`` browser (Debian: ``apt-get install chromium fonts-wqy-microhei`` — a CJK font is
required, or every Chinese label renders as boxes). Usage::

    python scripts/render_png.py processes/dispute.bpmn docs/img/dispute.png \\
        --bpmn-js /tmp/render/node_modules/bpmn-js

The page is as large as the diagram, so the PNG shows it at 100 %. The page title reports
bpmn-js import warnings (unresolved references and the like): the script fails on any.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--hide-scrollbars",
    "--virtual-time-budget=8000",
]


def diagram_size(xml: str) -> tuple[int, int]:
    right, bottom = 0.0, 0.0
    for m in re.finditer(
        r'<dc:Bounds x="(-?[\d.]+)" y="(-?[\d.]+)" width="([\d.]+)" height="([\d.]+)"', xml
    ):
        x, y, w, h = (float(v) for v in m.groups())
        right, bottom = max(right, x + w), max(bottom, y + h)
    return int(right) + 40, int(bottom) + 40


def page(xml: str, bpmn_js: Path, width: int, height: int) -> str:
    dist = bpmn_js / "dist"
    return f"""<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="file://{dist}/assets/bpmn-js.css">
<style>html,body{{margin:0;background:#fff}} #c{{width:{width}px;height:{height}px}}</style>
<script src="file://{dist}/bpmn-viewer.production.min.js"></script></head>
<body><div id="c"></div><script>
const viewer = new BpmnJS({{container: '#c'}});
viewer.importXML({json.dumps(xml)}).then(result => {{
  viewer.get('canvas').viewbox({{x: 0, y: 0, width: {width}, height: {height}}});
  const warnings = (result.warnings || []).map(w => w.message);
  document.title = 'rendered ' + warnings.length + ' ' + warnings.join(' | ');
}}).catch(e => {{ document.title = 'error ' + e.message; }});
</script></body></html>"""


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("bpmn", type=Path)
    args.add_argument("png", type=Path)
    args.add_argument("--bpmn-js", type=Path, required=True, help="node_modules/bpmn-js")
    args.add_argument("--chromium", default="chromium")
    ns = args.parse_args()
    xml = ns.bpmn.read_text(encoding="utf-8")
    width, height = diagram_size(xml)
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "page.html"
        html.write_text(page(xml, ns.bpmn_js.resolve(), width, height), encoding="utf-8")
        url = f"file://{html}"
        dom = subprocess.run(
            [ns.chromium, *CHROMIUM_FLAGS, "--dump-dom", url],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        title = re.search(r"<title>([^<]*)</title>", dom)
        status = title.group(1) if title else "no title: the page did not load"
        if not status.startswith("rendered 0"):
            print(f"bpmn-js: {status}", file=sys.stderr)
            return 1
        subprocess.run(
            [
                ns.chromium,
                *CHROMIUM_FLAGS,
                f"--window-size={width},{height}",
                f"--screenshot={ns.png.resolve()}",
                url,
            ],
            check=True,
            capture_output=True,
        )
    print(f"{ns.png} ({width}x{height})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
