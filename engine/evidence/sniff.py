"""What a file is, judged by its content (never by its name or the client's word): the kinds of
evidence a caseworker attaches — photos from a phone, scanned or signed documents (调解协议书,
情况说明), office files and short videos."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sniffed:
    media_type: str
    extension: str
    label: str  # Chinese first: shown to caseworkers


_PHOTO = {"image/jpeg", "image/png", "image/webp", "image/heic", "image/gif"}

# ISO base-media brands (the ``ftyp`` box) of phone photos and videos.
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1"}
_MP4_BRANDS = {b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"M4V ", b"3gp4", b"3gp5", b"qt  "}


def sniff(head: bytes, whole: bytes | None = None) -> Sniffed | None:
    """The file's type from its first bytes (``whole`` for the zip-based formats); None when it is
    not a kind of evidence the engine accepts."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image/jpeg", ".jpg", "照片 (JPEG)")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image/png", ".png", "图片 (PNG)")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image/gif", ".gif", "图片 (GIF)")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image/webp", ".webp", "图片 (WebP)")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return Sniffed("image/heic", ".heic", "照片 (HEIC)")
        if brand in _MP4_BRANDS:
            return Sniffed("video/mp4", ".mp4", "视频 (MP4)")
        return None
    if head.startswith(b"%PDF-"):
        return Sniffed("application/pdf", ".pdf", "PDF 文档")
    if head.startswith(b"PK\x03\x04") and whole is not None:
        return _zip_document(whole)
    return None


def is_photo(media_type: str) -> bool:
    return media_type in _PHOTO


def _zip_document(data: bytes) -> Sniffed | None:
    """Word, Excel and OFD (版式文档, GB/T 33190) files are zip packages: judged by their parts.
    Only the directory is read, never a member's content."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "OFD.xml" in names:
        return Sniffed("application/ofd", ".ofd", "OFD 版式文档")
    if "[Content_Types].xml" not in names:
        return None
    if any(n.startswith("word/") for n in names):
        return Sniffed(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ".docx",
            "Word 文档",
        )
    if any(n.startswith("xl/") for n in names):
        return Sniffed(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ".xlsx",
            "Excel 表格",
        )
    return None


ACCEPTED = (
    "image/jpeg, image/png, image/gif, image/webp, image/heic, video/mp4, application/pdf, "
    "Word (.docx), Excel (.xlsx), OFD"
)
