"""Evidence (证据材料): attachments stored by content hash, judged by content, audited in the case's
chain so that verification covers the files; on both databases, surviving a restart."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from engine.clock import ManualClock
from engine.runtime import Engine
from engine.storage.database import Database
from engine.storage.models import Attachment, AuditEvent
from tests.api.conftest import World, make_world
from tests.audit.chains import as_attacker

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 300
PDF = b"%PDF-1.7\n" + b"1 0 obj <<>> endobj\n" * 20


def docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def upload(w: World, user: str, case_no: str, content: bytes, name: str = "现场.jpg", **form: str):
    return w.post(
        user,
        f"/api/v1/cases/{case_no}/attachments",
        files={"file": (name, content, "application/octet-stream")},
        data=form,
    )


def verify(w: World, case_no: str) -> dict:
    r = w.get("auditor_a", "/api/v1/audit/verify", params={"case_no": case_no})
    assert r.status_code == 200, r.text
    return r.json()


def store_dir(w: World) -> Path:
    return Path(w.settings.evidence_dir)


def test_a_photo_is_stored_by_its_hash_audited_and_read_back(world: World) -> None:
    case_no = world.report()
    r = upload(world, "grid_a", case_no, JPEG)
    assert r.status_code == 201, r.text
    made = r.json()
    digest = hashlib.sha256(JPEG).hexdigest()
    assert made["sha256"] == digest and made["size"] == len(JPEG)
    assert made["media_type"] == "image/jpeg" and made["kind"] == "photo"
    assert made["filename"] == "现场.jpg" and made["uploaded_by"] == "grid_a"
    assert (store_dir(world) / digest[:2] / digest[2:4] / digest).read_bytes() == JPEG

    listed = world.get("town_a_staff", f"/api/v1/cases/{case_no}/attachments").json()["items"]
    assert [a["id"] for a in listed] == [made["id"]]
    got = world.get("town_a_staff", f"/api/v1/attachments/{made['id']}")
    assert got.status_code == 200 and got.content == JPEG
    assert got.headers["etag"] == f'"{digest}"'
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment;")
    inline = world.get("town_a_staff", f"/api/v1/attachments/{made['id']}", params={"inline": 1})
    assert inline.headers["content-disposition"].startswith("inline;")

    history = world.get("town_a_staff", f"/api/v1/cases/{case_no}/history").json()["items"]
    added = [e for e in history if e["event_type"] == "attachment_added"]
    assert len(added) == 1 and added[0]["seq"] == made["audit_seq"]
    assert verify(world, case_no) == {"ok": True, "problems": []}


@pytest.mark.parametrize(
    ("content", "media_type", "kind"),
    [(PNG, "image/png", "photo"), (PDF, "application/pdf", "document")],
)
def test_the_type_comes_from_the_content(
    world: World, content: bytes, media_type: str, kind: str
) -> None:
    case_no = world.report()
    r = upload(world, "grid_a", case_no, content, name="协议.txt")
    assert r.status_code == 201, r.text
    assert (r.json()["media_type"], r.json()["kind"]) == (media_type, kind)


def test_office_documents_are_judged_by_their_parts(world: World) -> None:
    case_no = world.report()
    r = upload(world, "grid_a", case_no, docx(), name="调解协议书", kind="agreement")
    assert r.status_code == 201, r.text
    assert r.json()["media_type"].endswith("wordprocessingml.document")
    assert r.json()["filename"] == "调解协议书.docx" and r.json()["kind_label"] == "调解协议书"
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("payload.exe", b"MZ")
    r = upload(world, "grid_a", case_no, other_zip.getvalue(), name="a.docx")
    assert r.status_code == 422 and r.json()["field"] == "file"


@pytest.mark.parametrize(
    "content",
    [b"MZ\x90\x00" + b"\x00" * 100, b"<html><script>alert(1)</script>", b"#!/bin/sh\nrm -rf /"],
)
def test_files_that_are_not_evidence_are_refused_whatever_their_name(
    world: World, content: bytes
) -> None:
    case_no = world.report()
    r = upload(world, "grid_a", case_no, content, name="photo.jpg")
    assert r.status_code == 422 and r.json()["field"] == "file"
    assert "不支持" in r.json()["detail"]
    assert world.get("grid_a", f"/api/v1/cases/{case_no}/attachments").json()["items"] == []


def test_empty_unknown_kind_and_oversized_files_are_refused(
    db_url: str, clock: ManualClock
) -> None:
    w, db = make_world(db_url, clock, settings_kw={"evidence_max_bytes": 4096})
    with w.client:
        case_no = w.report()
        r = upload(w, "grid_a", case_no, b"")
        assert r.status_code == 422 and r.json()["field"] == "file"
        r = upload(w, "grid_a", case_no, JPEG, kind="selfie")
        assert r.status_code == 422 and r.json()["field"] == "kind"
        r = upload(w, "grid_a", case_no, JPEG + b"\x00" * 5000)
        assert r.status_code == 422 and r.json()["field"] == "file"
        r = upload(w, "grid_a", case_no, JPEG + b"\x00" * 400_000)
        assert r.status_code == 413
        r = upload(w, "grid_a", case_no, JPEG)
        assert r.status_code == 201
        assert len(w.get("grid_a", f"/api/v1/cases/{case_no}/attachments").json()["items"]) == 1
    db.dispose()


def test_names_never_become_paths(world: World) -> None:
    case_no = world.report()
    for name, expected in [
        ("../../etc/passwd.jpg", "passwd.jpg"),
        ("C:\\Users\\x\\照片.jpg", "照片.jpg"),
        ("evil\u202egpj.jpg", "evilgpj.jpg"),  # a right-to-left override hides the real type
        ("..", "file.jpg"),
    ]:
        r = upload(world, "grid_a", case_no, JPEG, name=name)
        assert r.status_code == 201, (name, r.text)
        assert r.json()["filename"] == expected


def test_who_may_attach_and_read(world: World) -> None:
    case_no = world.report()
    assert upload(world, "auditor_a", case_no, JPEG).status_code == 403
    assert upload(world, "grid_b", case_no, JPEG).status_code == 404
    assert upload(world, "grid_a", "NO-SUCH-CASE", JPEG).status_code == 404
    made = upload(world, "town_a_staff", case_no, JPEG).json()
    assert world.get("grid_b", f"/api/v1/cases/{case_no}/attachments").status_code == 404
    hidden = world.get("grid_b", f"/api/v1/attachments/{made['id']}")
    missing = world.get("grid_b", "/api/v1/attachments/00000000-0000-0000-0000-000000000000")
    assert hidden.status_code == missing.status_code == 404
    assert world.get("auditor_a", f"/api/v1/attachments/{made['id']}").status_code == 200


def test_a_task_submission_carries_its_evidence(world: World) -> None:
    case_no = world.report()
    task_id = world.open_task(case_no)
    r = upload(world, "handler_a", case_no, PDF, name="情况说明.pdf", kind="statement",
               task_id=task_id)  # fmt: skip
    assert r.status_code == 403  # not claimed yet: only the assignee, while the task is open
    assert world.post("handler_a", f"/api/v1/tasks/{task_id}/claim").status_code == 200
    assert upload(world, "handler_a2", case_no, PDF, task_id=task_id).status_code == 403
    r = upload(world, "handler_a", case_no, PDF, name="情况说明.pdf", kind="statement",
               task_id=task_id)  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["task_id"] == task_id and r.json()["kind"] == "statement"
    other = world.report()
    assert upload(world, "handler_a", other, PDF, task_id=task_id).status_code == 404


def test_the_same_file_twice_is_stored_once_and_recorded_twice(world: World) -> None:
    case_no = world.report()
    a = upload(world, "grid_a", case_no, JPEG).json()
    b = upload(world, "town_a_staff", case_no, JPEG).json()
    assert a["id"] != b["id"] and a["sha256"] == b["sha256"]
    assert b["audit_seq"] == a["audit_seq"] + 1
    assert len([p for p in store_dir(world).rglob("*") if p.is_file()]) == 1
    assert verify(world, case_no)["ok"] is True


def test_verification_covers_the_evidence(world: World) -> None:
    case_no = world.report()
    altered = upload(world, "grid_a", case_no, JPEG).json()
    gone = upload(world, "grid_a", case_no, PNG).json()
    row_deleted = upload(world, "grid_a", case_no, PDF).json()
    assert verify(world, case_no)["ok"] is True

    def blob(digest: str) -> Path:
        return store_dir(world) / digest[:2] / digest[2:4] / digest

    blob(altered["sha256"]).write_bytes(JPEG[:-1] + b"!")
    blob(gone["sha256"]).unlink()
    with world.db.session() as s:
        row = s.get(Attachment, row_deleted["id"])
        assert row is not None
        s.delete(row)
    kinds = {(p["kind"], p["seq"]) for p in verify(world, case_no)["problems"]}
    assert kinds == {
        ("evidence_altered", altered["audit_seq"]),
        ("evidence_missing", gone["audit_seq"]),
        ("evidence_row_missing", row_deleted["audit_seq"]),
    }
    skipped = world.get(
        "auditor_a", "/api/v1/audit/verify", params={"case_no": case_no, "files": "false"}
    ).json()
    assert skipped["ok"] is True  # the chain itself is intact; only the files were touched


def test_a_row_that_does_not_match_its_event_is_reported(world: World) -> None:
    case_no = world.report()
    made = upload(world, "grid_a", case_no, JPEG).json()
    other = upload(world, "grid_a", case_no, PNG).json()
    with world.db.session() as s:
        row = s.get(Attachment, made["id"])
        assert row is not None
        row.sha256 = other["sha256"]  # point the row at another stored file
    problems = verify(world, case_no)["problems"]
    assert [(p["kind"], p["seq"]) for p in problems] == [("evidence_unrecorded", made["audit_seq"])]


def test_editing_the_upload_event_breaks_the_chain(world: World) -> None:
    case_no = world.report()
    made = upload(world, "grid_a", case_no, JPEG).json()
    forged = json.dumps({"attachment_id": made["id"], "sha256": "0" * 64})
    with as_attacker(world.db) as conn:  # a database superuser, past the append-only triggers
        conn.execute(
            update(AuditEvent)
            .where(AuditEvent.case_no == case_no, AuditEvent.seq == made["audit_seq"])
            .values(details=json.loads(forged))
        )
    problems = verify(world, case_no)["problems"]
    assert problems and problems[0]["seq"] == made["audit_seq"]


def test_attachments_survive_a_restart(db_url: str, clock: ManualClock) -> None:
    w, db = make_world(db_url, clock)
    with w.client:
        case_no = w.report()
        made = upload(w, "grid_a", case_no, JPEG).json()
        token = w.token("grid_a")
    db.dispose()
    db2 = Database(db_url)  # a new process: a new engine and app on the same database and store
    app = create_app(w.settings, engine=Engine(db2, clock=clock), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        h = {"Authorization": f"Bearer {token}"}
        listed = client.get(f"/api/v1/cases/{case_no}/attachments", headers=h).json()["items"]
        assert [a["id"] for a in listed] == [made["id"]]
        assert client.get(f"/api/v1/attachments/{made['id']}", headers=h).content == JPEG
    db2.dispose()
