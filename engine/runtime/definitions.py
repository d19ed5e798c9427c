"""Deploy, validate and version process definitions.

A bundle's content hash (over file names and bytes) identifies it: deploying the same content
again returns the existing versions; new content gives each of its processes the next version
number. The files are kept byte for byte, so a modeler opens exactly what was deployed.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.errors import Conflict, NotFound, Problem
from engine.runtime.forms import FormValidator
from engine.sandbox import Sandbox
from engine.spiff import BundleFile, RestoredSpec, compile_bundle
from engine.storage.models import Bundle, Definition
from engine.storage.models import BundleFile as BundleFileRow


@dataclass(frozen=True)
class DefinitionVersion:
    id: int
    process_id: str
    version: int
    name: str | None
    content_hash: str
    created_at: datetime
    created: bool  # False when the same content was deployed before
    warnings: list[Problem] = field(default_factory=list)  # deployed, but worth a look

    @classmethod
    def of(
        cls, row: Definition, created: bool = False, warnings: list[Problem] | None = None
    ) -> DefinitionVersion:
        return cls(
            row.id, row.process_id, row.version, row.name, row.content_hash, row.created_at,
            created, list(warnings or []),
        )  # fmt: skip


def files_from_paths(paths: list[Path]) -> list[BundleFile]:
    return [BundleFile(p.name, p.read_bytes()) for p in paths]


def validate(files: list[BundleFile], sandbox: Sandbox, *, now: datetime) -> list[Problem]:
    """Raise :class:`~engine.errors.ValidationFailed` listing every problem, or return the
    warnings (what deploys but deserves a look, e.g. a user task without a form)."""
    return compile_bundle(files, sandbox, now=now).warnings


def deploy(
    session: Session, files: list[BundleFile], sandbox: Sandbox, *, actor: str | None, now: datetime
) -> list[DefinitionVersion]:
    compiled = compile_bundle(files, sandbox, now=now)
    warned = compiled.warnings
    existing = session.scalars(
        select(Definition).where(Definition.content_hash == compiled.content_hash)
    ).all()
    if existing and {d.process_id for d in existing} == set(compiled.processes):
        return [DefinitionVersion.of(d, warnings=warned)
                for d in sorted(existing, key=lambda d: d.process_id)]  # fmt: skip
    bundle = session.scalar(select(Bundle).where(Bundle.content_hash == compiled.content_hash))
    if bundle is None:
        bundle = Bundle(content_hash=compiled.content_hash, created_at=now, deployed_by=actor)
        session.add(bundle)
        session.flush()
        for f in files:
            session.add(
                BundleFileRow(
                    bundle_id=bundle.id,
                    filename=f.filename,
                    kind=f.kind,
                    sha256=f.sha256,
                    content=f.content,
                )
            )
    out = []
    for pid, proc in sorted(compiled.processes.items()):
        same = next((d for d in existing if d.process_id == pid), None)
        if same is not None:
            out.append(DefinitionVersion.of(same, warnings=warned))
            continue
        latest = session.scalar(
            select(func.max(Definition.version)).where(Definition.process_id == pid)
        )
        row = Definition(
            process_id=pid,
            version=(latest or 0) + 1,
            name=proc.name,
            content_hash=compiled.content_hash,
            bundle_id=bundle.id,
            source_file=proc.source_file,
            spec=proc.spec,
            elements=proc.elements,
            created_at=now,
            deployed_by=actor,
        )
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(
                f"process {pid!r} was deployed concurrently; retry the deployment"
            ) from None
        out.append(DefinitionVersion.of(row, created=True, warnings=warned))
    return out


def latest(session: Session, process_id: str) -> Definition:
    row = session.scalar(
        select(Definition)
        .where(Definition.process_id == process_id)
        .order_by(Definition.version.desc())
        .limit(1)
    )
    if row is None:
        raise NotFound(f"no process {process_id!r} is deployed")
    return row


def get_version(session: Session, process_id: str, version: int) -> Definition:
    row = session.scalar(
        select(Definition).where(Definition.process_id == process_id, Definition.version == version)
    )
    if row is None:
        raise NotFound(f"process {process_id!r} has no version {version}")
    return row


def source_xml(session: Session, definition: Definition) -> bytes:
    content = session.scalar(
        select(BundleFileRow.content).where(
            BundleFileRow.bundle_id == definition.bundle_id,
            BundleFileRow.filename == definition.source_file,
        )
    )
    if content is None:
        raise NotFound(f"the source of {definition.process_id} v{definition.version} is missing")
    return bytes(content)


def list_definitions(session: Session) -> list[Definition]:
    return list(
        session.scalars(select(Definition).order_by(Definition.process_id, Definition.version))
    )


class DefinitionCache:
    """Restored specs and compiled form validators, per definition id (bounded LRU)."""

    def __init__(self, size: int = 64) -> None:
        self._specs: OrderedDict[int, RestoredSpec] = OrderedDict()
        self._forms: OrderedDict[tuple[int, str], FormValidator | None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def spec(self, definition: Definition) -> RestoredSpec:
        with self._lock:
            found = self._specs.get(definition.id)
            if found is not None:
                self._specs.move_to_end(definition.id)
                return found
        restored = RestoredSpec(definition.spec)
        with self._lock:
            self._specs[definition.id] = restored
            while len(self._specs) > self._size:
                self._specs.popitem(last=False)
        return restored

    def form(self, session: Session, bundle_id: int, filename: str) -> FormValidator | None:
        key = (bundle_id, filename)
        with self._lock:
            if key in self._forms:
                return self._forms[key]
        schema = form_document(session, bundle_id, filename)
        validator = FormValidator(filename, schema) if schema is not None else None
        with self._lock:
            self._forms[key] = validator
            while len(self._forms) > self._size * 8:
                self._forms.popitem(last=False)
        return validator


def form_document(session: Session, bundle_id: int, filename: str) -> dict[str, Any] | None:
    content = session.scalar(
        select(BundleFileRow.content).where(
            BundleFileRow.bundle_id == bundle_id, BundleFileRow.filename == filename
        )
    )
    if content is None:
        return None
    doc = json.loads(bytes(content).decode("utf-8"))
    return doc if isinstance(doc, dict) else None
