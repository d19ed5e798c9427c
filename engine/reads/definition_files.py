"""What a front-end reads about deployed definitions besides the BPMN: the start form of a
process, every file of the bundle a version came from, and the values bihuan's own BPMN
properties take (deadline keys, lane names, case statuses) for a designer's properties panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.kpi.labels import STATUS
from engine.runtime import definitions
from engine.storage.models import BundleFile, Definition

MEDIA_TYPES = {"bpmn": "application/xml", "dmn": "application/xml", "form": "application/json"}


@dataclass(frozen=True)
class StartForm:
    process_id: str
    version: int
    form_schema: dict[str, Any] | None
    ui_schema: dict[str, Any] | None


@dataclass(frozen=True)
class FileInfo:
    filename: str
    kind: str
    sha256: str
    source: bool


@dataclass(frozen=True)
class Catalog:
    deadline_keys: list[dict[str, str]]
    lanes: list[str]
    case_statuses: list[dict[str, str]]


def start_form(s: Session, process_id: str, version: int | None = None) -> StartForm:
    """The form (and UI schema) on the process's top-level start event: what 上报 fills in.
    ``None`` schemas when the start event names none."""
    d = (
        definitions.get_version(s, process_id, version)
        if version is not None
        else definitions.latest(s, process_id)
    )
    props: dict[str, Any] = {}
    for element in (d.elements or {}).values():
        if (
            element.get("type") == "startEvent"
            and element.get("process") == d.process_id
            and element.get("top_level")
        ):
            props = element.get("properties") or {}
            break
    return StartForm(
        d.process_id,
        d.version,
        _form(s, d, props.get("formJsonSchemaFilename")),
        _form(s, d, props.get("formUiSchemaFilename")),
    )


def _form(s: Session, d: Definition, filename: Any) -> dict[str, Any] | None:
    if not isinstance(filename, str) or not filename:
        return None
    return definitions.form_document(s, d.bundle_id, filename)


def bundle_files(s: Session, process_id: str, version: int) -> list[FileInfo]:
    """Every file of the bundle the version was deployed from (``source``: its own BPMN)."""
    d = definitions.get_version(s, process_id, version)
    rows = s.execute(
        select(BundleFile.filename, BundleFile.kind, BundleFile.sha256)
        .where(BundleFile.bundle_id == d.bundle_id)
        .order_by(BundleFile.filename)
    )
    return [FileInfo(f, k, h, f == d.source_file) for f, k, h in rows]


def bundle_file(s: Session, process_id: str, version: int, filename: str) -> tuple[str, bytes]:
    """One file of the version's bundle, byte for byte, with its media type."""
    d = definitions.get_version(s, process_id, version)
    row = s.execute(
        select(BundleFile.kind, BundleFile.content).where(
            BundleFile.bundle_id == d.bundle_id, BundleFile.filename == filename
        )
    ).first()
    if row is None:
        raise NotFound(f"{process_id} v{version} has no file {filename!r}")
    return MEDIA_TYPES.get(row.kind, "application/octet-stream"), bytes(row.content)


def catalog(deadlines_file: Path, lanes_file: Path) -> Catalog:
    """Deadline keys (``deadlines.yaml``), lane names (``lanes.yaml``) and case statuses: the
    values of ``deadline``, the lanes and ``caseStatus``. A missing file gives an empty list."""
    steps = _yaml(deadlines_file).get("steps") or {}
    keys = [
        {"key": str(k), "title": str(v.get("title", "")) if isinstance(v, dict) else ""}
        for k, v in steps.items()
    ]
    lanes = [str(name) for name in (_yaml(lanes_file).get("lanes") or {})]
    statuses = [{"code": code, "label": label} for code, label in STATUS.items()]
    return Catalog(keys, lanes, statuses)


def _yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return doc if isinstance(doc, dict) else {}
