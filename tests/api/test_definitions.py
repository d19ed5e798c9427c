"""Deploy, validate, list, and fetch process definitions."""

from __future__ import annotations

from tests.api.conftest import FIXTURES, World, loop_bundle

BROKEN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="broken" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="svc"/>
    <bpmn:complexGateway id="cgw"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _files(bundle: list[object]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (f.filename, f.content, "application/octet-stream")) for f in bundle]  # type: ignore[attr-defined]


def test_deploy_new_then_same_content(world: World) -> None:
    bundle = loop_bundle("mediation")
    r = world.post("designer", "/api/v1/definitions", files=_files(bundle))
    assert r.status_code == 201, r.text
    [made] = r.json()
    assert made["process_id"] == "mediation" and made["version"] == 1 and made["created"]
    again = world.post("designer", "/api/v1/definitions", files=_files(bundle))
    assert again.status_code == 200 and again.json()[0]["created"] is False
    listed = world.get("grid_a", "/api/v1/definitions").json()
    assert {(d["process_id"], d["version"]) for d in listed} == {("loop", 1), ("mediation", 1)}


def test_xml_is_byte_exact(world: World) -> None:
    r = world.get("grid_a", "/api/v1/definitions/loop/versions/1/xml")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/xml")
    assert r.content == (FIXTURES / "bpmn" / "loop.bpmn").read_bytes()
    assert world.get("grid_a", "/api/v1/definitions/loop/versions/9/xml").status_code == 404
    assert world.get("grid_a", "/api/v1/definitions/nope/versions/1/xml").status_code == 404


def test_invalid_bundle_lists_every_problem(world: World) -> None:
    for url in ("/api/v1/definitions", "/api/v1/definitions/validate"):
        files = [
            ("files", ("broken.bpmn", BROKEN, "text/xml")),
            ("files", ("garbage.bpmn", b"<not xml", "text/xml")),
        ]
        r = world.post("designer", url, files=files)
        assert r.status_code == 422, r.text
        problem = r.json()
        assert problem["code"] == "invalid_bundle"
        assert r.headers["content-type"] == "application/problem+json"
        assert len(problem["problems"]) >= 3
        assert {p["file"] for p in problem["problems"]} == {"broken.bpmn", "garbage.bpmn"}
        assert {"svc", "cgw"} <= {p["element_id"] for p in problem["problems"]}
        assert all(isinstance(p["line"], int) for p in problem["problems"] if p["element_id"])


def test_validate_only(world: World) -> None:
    r = world.post("designer", "/api/v1/definitions/validate", files=_files(loop_bundle("x")))
    assert r.status_code == 200 and r.json()["valid"] is True
    assert {d["process_id"] for d in world.get("designer", "/api/v1/definitions").json()} == {
        "loop"
    }


def test_only_designers_deploy(world: World) -> None:
    for user in ("admin", "county_staff", "auditor_county", "grid_a"):
        r = world.post(user, "/api/v1/definitions", files=_files(loop_bundle("other")))
        assert r.status_code == 403, (user, r.text)
        assert r.json()["code"] == "forbidden"


def test_deploy_needs_multipart_and_files(world: World) -> None:
    r = world.post("designer", "/api/v1/definitions", json={"files": []})
    assert r.status_code == 415
    r = world.post(
        "designer", "/api/v1/definitions", files=[("other", ("a.txt", b"x", "text/plain"))]
    )
    assert r.status_code == 422
    r = world.post(
        "designer", "/api/v1/definitions", files=[("files", ("notes.txt", b"x", "text/plain"))]
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_bundle"
