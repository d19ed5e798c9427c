"""Evidence (证据材料): attach photos and documents to a case or to a task's submission, list them,
download them. Uploads are ``multipart/form-data`` (``file``, ``kind``, optionally ``task_id``);
the content decides the type, the digest is recorded in the case's audit chain."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import PREFIX, PrincipalDep, SessionDep, StateDep
from api.schemas import AttachmentList, AttachmentOut
from engine import access, evidence
from engine.errors import InputInvalid, NotFound

router = APIRouter(prefix=PREFIX, tags=["evidence"])

KindField = Annotated[
    str | None,
    Form(description="photo (现场照片) | agreement (调解协议书) | statement (情况说明) | "
         "document (其他材料) | video (视频); by default photo for an image, video for a "
         "video, document otherwise"),
]  # fmt: skip


@router.post("/cases/{case_no}/attachments", response_model=AttachmentOut, status_code=201)
async def attach(
    case_no: str,
    state: StateDep,
    principal: PrincipalDep,
    file: Annotated[UploadFile, File(description="the file (at most evidence_max_bytes)")],
    kind: KindField = None,
    task_id: Annotated[str | None, Form(max_length=36)] = None,
) -> AttachmentOut:
    """Attach a file. To a task's submission (``task_id``): its assignee while it is open. To the
    case: anyone who acts on cases in its jurisdiction or works on it. Audited
    (``attachment_added``, with the SHA-256)."""
    limit = state.evidence.max_bytes
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise InputInvalid(
            f"文件过大：上限 {limit // (1024 * 1024)} MB (the file exceeds {limit} bytes)",
            field="file",
        )

    def run() -> AttachmentOut:
        with state.engine.db.session() as s:
            _case, actor = access.can_attach(s, principal, case_no, task_id)
        found = evidence.sniff(content[:64], content)
        chosen = kind or _default_kind(found.media_type if found else "")
        made = state.evidence.attach(
            case_no, content, filename=file.filename, kind=chosen, actor=actor, task_id=task_id
        )
        return AttachmentOut.model_validate(made)

    return await run_in_threadpool(run)


@router.get("/cases/{case_no}/attachments", response_model=AttachmentList)
def list_attachments(
    case_no: str, s: SessionDep, state: StateDep, principal: PrincipalDep
) -> AttachmentList:
    """The case's evidence, oldest first (each with the task it backs, if any)."""
    access.visible_case(s, principal, case_no)
    return AttachmentList(
        items=[AttachmentOut.model_validate(a) for a in state.evidence.list(s, case_no)]
    )


@router.get(
    "/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the file"}},
)
def download(
    attachment_id: str,
    s: SessionDep,
    state: StateDep,
    principal: PrincipalDep,
    inline: bool = False,
) -> Response:
    """The file's bytes, as stored (their SHA-256 in ``ETag``). ``inline=true`` lets a browser
    show a photo or PDF; anything else is always a download."""
    meta = state.evidence.find(s, attachment_id)
    try:
        access.visible_case(s, principal, meta.case_no)
    except NotFound:  # the same answer as for an id that does not exist
        raise NotFound(f"没有附件 {attachment_id} (no attachment {attachment_id})") from None
    data = state.evidence.content(meta)
    show = inline and (evidence.is_photo(meta.media_type) or meta.media_type == "application/pdf")
    disposition = "inline" if show else "attachment"
    return Response(
        content=data,
        media_type=meta.media_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(meta.filename)}",
            "ETag": f'"{meta.sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )


def _default_kind(media_type: str) -> str:
    if media_type.startswith("image/"):
        return "photo"
    if media_type.startswith("video/"):
        return "video"
    return "document"
