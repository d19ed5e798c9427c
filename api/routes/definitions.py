"""Process definitions: deploy and validate bundles (BPMN, DMN, forms), list, fetch the XML."""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import APIRouter, File, Path, Query, Response, UploadFile

from api.deps import MULTIPART, PREFIX, EngineDep, PrincipalDep, SessionDep, StateDep
from api.schemas import (
    BundleProblem,
    CatalogOut,
    DefinitionFileOut,
    DefinitionOut,
    DeployedOut,
    StartFormOut,
    ValidationOut,
)
from engine import access, reads
from engine.errors import InputInvalid
from engine.spiff import BundleFile

router = APIRouter(prefix=PREFIX, tags=["definitions"])
# A bundle: the processes, their decision tables and two files (schema, UI schema) per form;
# the shipped dispute bundle alone is over 50.
MAX_FILES = 200
Files = Annotated[list[UploadFile], File(description="BPMN (.bpmn), DMN (.dmn), forms (.json)")]


def _bundle(files: list[UploadFile]) -> list[BundleFile]:
    if not files:
        raise InputInvalid("no files were sent", field="files")
    if len(files) > MAX_FILES:
        raise InputInvalid(f"at most {MAX_FILES} files per bundle", field="files")
    out = []
    for f in files:
        name = os.path.basename((f.filename or "").replace("\\", "/"))
        if not name:
            raise InputInvalid("every file needs a file name", field="files")
        out.append(BundleFile(name, f.file.read()))
    return out


@router.post(
    "/definitions",
    response_model=list[DeployedOut],
    status_code=201,
    dependencies=[MULTIPART],
    responses={200: {"model": list[DeployedOut], "description": "already deployed"}},
)
def deploy(
    files: Files, engine: EngineDep, principal: PrincipalDep, response: Response
) -> list[DeployedOut]:
    """Deploy a bundle: new versions (201), or the existing ones for the same content (200).

    A bundle with problems answers 422 listing every one (file, line, element id, message).
    """
    access.can_deploy(principal)
    versions = engine.deploy(_bundle(files), principal.actor())
    if not any(v.created for v in versions):
        response.status_code = 200
    return [DeployedOut.model_validate(v) for v in versions]


@router.post("/definitions/validate", response_model=ValidationOut, dependencies=[MULTIPART])
def validate(files: Files, engine: EngineDep, principal: PrincipalDep) -> ValidationOut:
    """Check a bundle without deploying it: 200, or 422 listing every problem."""
    access.can_deploy(principal)
    bundle = _bundle(files)
    warnings = engine.validate(bundle)
    return ValidationOut(
        files=[f.filename for f in bundle],
        warnings=[BundleProblem.model_validate(w) for w in warnings],
    )


@router.get("/definitions", response_model=list[DefinitionOut])
def list_definitions(s: SessionDep, principal: PrincipalDep) -> list[DefinitionOut]:
    """Every deployed version of every process."""
    return [DefinitionOut.model_validate(d) for d in reads.definitions(s)]


@router.get("/definitions/catalog", response_model=CatalogOut)
def catalog(state: StateDep, principal: PrincipalDep) -> CatalogOut:
    """The values bihuan's BPMN properties take: deadline keys (``deadlines.yaml``), lane names
    (``lanes.yaml``) and case statuses (``caseStatus``), for a designer's properties panel."""
    settings = state.settings
    found = reads.catalog(settings.deadlines_file, settings.processes_dir / "lanes.yaml")
    return CatalogOut.model_validate(found)


@router.get("/definitions/{process_id}/start-form", response_model=StartFormOut)
def start_form(
    process_id: str,
    s: SessionDep,
    principal: PrincipalDep,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> StartFormOut:
    """The start event's form and UI schema (what 上报 fills in) of the newest version, or of
    ``version``; ``null`` schemas when the start event names no form."""
    return StartFormOut.model_validate(reads.start_form(s, process_id, version))


@router.get(
    "/definitions/{process_id}/versions/{version}/files",
    response_model=list[DefinitionFileOut],
)
def definition_files_list(
    process_id: str,
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
    s: SessionDep,
    principal: PrincipalDep,
) -> list[DefinitionFileOut]:
    """Every file of the bundle the version was deployed from (BPMN, DMN, forms); ``source``
    marks the version's own BPMN file. A new version is deployed with the whole bundle."""
    found = reads.bundle_files(s, process_id, version)
    return [DefinitionFileOut.model_validate(f) for f in found]


@router.get(
    "/definitions/{process_id}/versions/{version}/files/{filename}",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/xml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            }
        }
    },
)
def definition_file(
    process_id: str,
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
    filename: str,
    s: SessionDep,
    principal: PrincipalDep,
) -> Response:
    """One file of the version's bundle, byte for byte."""
    media, content = reads.bundle_file(s, process_id, version, filename)
    return Response(content, media_type=media)


@router.get(
    "/definitions/{process_id}/versions/{version}/xml",
    response_class=Response,
    responses={200: {"content": {"application/xml": {"schema": {"type": "string"}}}}},
)
def definition_xml(
    process_id: str,
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
    s: SessionDep,
    principal: PrincipalDep,
) -> Response:
    """The BPMN file exactly as deployed (for the modeler and for diagram overlays)."""
    return Response(reads.definition_xml(s, process_id, version), media_type="application/xml")
