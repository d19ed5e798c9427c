"""What the console reads about definitions: the start form, the bundle's files, the catalog of
bihuan's property values; and the audit CSV as Excel reads it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

from engine.kpi.labels import STATUS
from tests.api.conftest import FIXTURES, World

ROOT = Path(__file__).resolve().parents[2]


def test_the_start_form_is_the_report_form(demo: World) -> None:
    r = demo.get("grid01", "/api/v1/definitions/dispute/start-form")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["process_id"] == "dispute" and body["version"] == 1
    assert body["form_schema"] == json.loads((ROOT / "forms/report.schema.json").read_text())
    assert body["ui_schema"] == json.loads((ROOT / "forms/report.uischema.json").read_text())
    assert demo.get("grid01", "/api/v1/definitions/dispute/start-form?version=1").json() == body
    assert demo.get("grid01", "/api/v1/definitions/nope/start-form").status_code == 404
    assert demo.get("grid01", "/api/v1/definitions/dispute/start-form?version=7").status_code == 404
    assert demo.client.get("/api/v1/definitions/dispute/start-form").status_code == 401


def test_a_process_without_a_start_form_answers_null_schemas(world: World) -> None:
    r = world.get("grid_a", "/api/v1/definitions/loop/start-form")
    assert r.status_code == 200
    assert r.json() == {"process_id": "loop", "version": 1, "form_schema": None, "ui_schema": None}


def test_every_file_of_a_versions_bundle(world: World) -> None:
    r = world.get("designer", "/api/v1/definitions/loop/versions/1/files")
    assert r.status_code == 200, r.text
    files = {f["filename"]: f for f in r.json()}
    assert set(files) == {"loop.bpmn", "handle.schema.json", "handle.uischema.json",
                          "check.schema.json"}  # fmt: skip
    assert files["loop.bpmn"]["source"] is True and files["loop.bpmn"]["kind"] == "bpmn"
    assert not files["check.schema.json"]["source"]
    assert files["check.schema.json"]["kind"] == "form"
    for name, info in files.items():
        got = world.get("grid_a", f"/api/v1/definitions/loop/versions/1/files/{name}")
        assert got.status_code == 200
        original = next(FIXTURES.glob(f"*/{name}")).read_bytes()
        assert got.content == original  # byte for byte
        assert hashlib.sha256(got.content).hexdigest() == info["sha256"]
        want = "application/xml" if name.endswith(".bpmn") else "application/json"
        assert got.headers["content-type"].startswith(want)
    missing = world.get("grid_a", "/api/v1/definitions/loop/versions/1/files/nope.dmn")
    assert missing.status_code == 404
    assert world.get("grid_a", "/api/v1/definitions/loop/versions/2/files").status_code == 404


def test_the_catalog_offers_the_shipped_values(demo: World) -> None:
    r = demo.get("designer", "/api/v1/definitions/catalog")
    assert r.status_code == 200, r.text
    body = r.json()
    steps = yaml.safe_load((ROOT / "processes/deadlines.yaml").read_text(encoding="utf-8"))
    assert [k["key"] for k in body["deadline_keys"]] == list(steps["steps"])
    screen = next(k for k in body["deadline_keys"] if k["key"] == "dispute.screen")
    assert screen["title"].startswith("甄别")
    lanes = yaml.safe_load((ROOT / "processes/lanes.yaml").read_text(encoding="utf-8"))
    assert body["lanes"] == list(lanes["lanes"]) and "网格员" in body["lanes"]
    assert {s["code"]: s["label"] for s in body["case_statuses"]} == STATUS
