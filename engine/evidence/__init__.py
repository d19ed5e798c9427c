"""Evidence (证据材料): photos and documents attached to a case or to a task's submission.

``store`` keeps the bytes by SHA-256 (local disk, or an S3-compatible store: ``s3``); ``sniff``
judges a file by its content; ``attachments`` is the upload command (audited in the case's chain)
and the reads; ``verify`` makes audit verification cover the files.
"""

from engine.evidence.attachments import ADDED, KINDS, AttachmentView, Evidence, clean_filename
from engine.evidence.s3 import S3Store
from engine.evidence.sniff import ACCEPTED, Sniffed, is_photo, sniff
from engine.evidence.store import BlobStore, LocalStore
from engine.evidence.verify import check_evidence

__all__ = [
    "ACCEPTED",
    "ADDED",
    "KINDS",
    "AttachmentView",
    "BlobStore",
    "Evidence",
    "LocalStore",
    "S3Store",
    "Sniffed",
    "check_evidence",
    "clean_filename",
    "is_photo",
    "sniff",
]
