"""Proof images (delivery photos, signatures, authorisation letters): size-limited, type-checked by content.

The declared content type is ignored: only the file's magic bytes decide, so a script renamed ``.jpg`` is
refused. Files are stored under ``settings.upload_dir`` with a random name; the table keeps only metadata.
Personal data (Decree 13/2023/NĐ-CP): proofs are never served by the public tracking page.
"""

import hashlib
import uuid
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.problems import Problem
from schemas.base import utcnow
from schemas.dossiers import ProofFile

MAX_BYTES = 5 * 1024 * 1024
KINDS = frozenset({"photo", "signature", "authorisation"})


def sniff(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the first bytes, for the image types we accept."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


async def store_proof(
    session: AsyncSession, principal: Principal, upload_dir: str, kind: str, data: bytes
) -> ProofFile:
    if kind not in KINDS:
        raise Problem(422, f"Loại chứng từ không hợp lệ / unknown proof kind '{kind}'", code="invalid_kind")
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
    content_type, ext = sniffed
    proof_id = uuid.uuid4()
    now = utcnow()
    rel = Path("proofs") / f"{now:%Y}" / f"{now:%m}" / f"{proof_id.hex}.{ext}"
    path = Path(upload_dir) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    row = ProofFile(
        id=proof_id,
        kind=kind,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        path=str(rel),
        uploaded_by=principal.id,
        org_id=principal.org_id,
    )
    session.add(row)
    await session.commit()
    return row
