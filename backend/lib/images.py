"""Uploaded images (proofs, authorisation letters): their type by content, and where they are written.

The declared content type is ignored: only the file's magic bytes decide (PNG's signature, JPEG's SOI marker,
the RIFF/WEBP header), so a script renamed ``.jpg`` is refused. A file is written under ``upload_dir`` with a
random name; tables keep only its metadata (``proof_file``). Used by ``backend/custody/proofs.py`` and
``backend/accounts/authorisations.py``.

A file appears whole or not at all: it is written to a temporary name beside its place, flushed to the disk,
then renamed (``os.replace``, atomic on POSIX). A full disk (``ENOSPC``), a quota (``EDQUOT``) or a file size
limit (``EFBIG``) removes the partial file and answers a 503 ``storage_full`` problem with ``Retry-After``
(found by the upload-disk-full drill, ``bench/drills``: it was a 500 leaving a truncated file in place).
"""

import contextlib
import errno
import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from backend.lib.problems import Problem

MAX_BYTES = 5 * 1024 * 1024
# The errors that mean "no room to write": the upload is refused, the service keeps serving.
FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
FULL_RETRY_AFTER_S = 300


def sniff(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the first bytes, for the image types we accept."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def checked(data: bytes) -> tuple[str, str]:
    """(content type, extension) of an upload, or the problem: empty (422), over 5 MB (413), not PNG, JPEG or
    WebP by its content (415)."""
    if not data:
        raise Problem(422, "Tệp rỗng / Empty file", code="empty_file")
    if len(data) > MAX_BYTES:
        raise Problem(
            413, f"Tệp quá {MAX_BYTES // 1024 // 1024} MB / File larger than 5 MB", code="too_large"
        )
    sniffed = sniff(data)
    if sniffed is None:
        raise Problem(
            415, "Chỉ nhận ảnh PNG, JPEG hoặc WebP / Only PNG, JPEG or WebP images", code="bad_type"
        )
    return sniffed


@dataclass(frozen=True)
class Stored:
    content_type: str
    size: int
    sha256: str
    path: str  # relative to upload_dir


def write(
    upload_dir: str, file_id: uuid.UUID, data: bytes, content_type: str, ext: str, now: datetime
) -> Stored:
    """Write ``data`` as ``proofs/<year>/<month>/<id>.<ext>`` under ``upload_dir``, whole or not at all."""
    rel = Path("proofs") / f"{now:%Y}" / f"{now:%m}" / f"{file_id.hex}.{ext}"
    path = Path(upload_dir) / rel
    partial = path.with_name(f".{path.name}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        if exc.errno in FULL:
            raise storage_full() from exc
        raise
    return Stored(content_type, len(data), hashlib.sha256(data).hexdigest(), str(rel))


def storage_full() -> Problem:
    return Problem(
        503,
        "Bộ nhớ lưu tệp đã đầy, vui lòng thử lại sau / No room to store the file, please retry later",
        code="storage_full",
        headers={"Retry-After": str(FULL_RETRY_AFTER_S)},
    )
