"""Proof images (delivery photos, signatures, authorisation letters): size-limited, type-checked by content.

The declared content type is ignored: only the file's magic bytes decide, so a script renamed ``.jpg`` is
refused. Files are stored under ``settings.upload_dir`` with a random name; the table keeps only metadata.
Personal data (Decree 13/2023/NĐ-CP): proofs are never served by the public tracking page; ``GET /proofs/{id}``
serves one only to whoever uploaded it, staff of the uploader's organisation, an admin, and whoever may read a
dossier that cites it (its pickup signature or its delivery proof: the citizen, the desk, the agency...).
Everyone else gets the same 404 as for an unknown id.
"""

import asyncio
import uuid
from pathlib import Path, PurePath

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.custody.services import citing_dossiers, owns_proof, was_custodian
from backend.lib import images
from backend.lib.auth import Principal
from backend.lib.images import MAX_BYTES, sniff
from backend.lib.problems import Problem, not_found
from schemas.base import utcnow
from schemas.dossiers import Dossier, ProofFile

KINDS = frozenset({"photo", "signature", "authorisation"})
__all__ = ["MAX_BYTES", "readable_proof", "sniff", "store_proof"]


async def store_proof(
    session: AsyncSession, principal: Principal, upload_dir: str, kind: str, data: bytes
) -> ProofFile:
    if kind not in KINDS:
        raise Problem(422, f"Loại chứng từ không hợp lệ / unknown proof kind '{kind}'", code="invalid_kind")
    content_type, ext = images.checked(data)
    proof_id = uuid.uuid4()
    stored = images.write(upload_dir, proof_id, data, content_type, ext, utcnow())
    row = ProofFile(
        id=proof_id,
        kind=kind,
        content_type=content_type,
        size=stored.size,
        sha256=stored.sha256,
        path=stored.path,
        uploaded_by=principal.id,
        org_id=principal.org_id,
    )
    session.add(row)
    await session.commit()
    return row


async def readable_proof(
    session: AsyncSession, principal: Principal, upload_dir: str, proof_id: uuid.UUID
) -> tuple[ProofFile, Path]:
    """The proof and its file, if ``principal`` may see it (see the module's note), else 404."""
    proof = await session.get(ProofFile, proof_id)
    if proof is None or not await _may_read(session, principal, proof):
        raise not_found("chứng từ / proof", proof_id)
    rel = PurePath(proof.path)  # written by store_proof; checked anyway before touching the disk
    path = Path(upload_dir) / rel
    if rel.is_absolute() or ".." in rel.parts or not await asyncio.to_thread(path.is_file):
        raise Problem(410, "Tệp chứng từ không còn / The proof file is gone", code="proof_file_gone")
    return proof, path


async def _may_read(session: AsyncSession, principal: Principal, proof: ProofFile) -> bool:
    if owns_proof(principal, proof):
        return True
    dossiers = (
        await session.exec(select(Dossier).where(col(Dossier.id).in_(citing_dossiers(proof.id))))
    ).all()
    for dossier in dossiers:
        if await was_custodian(session, principal, dossier):
            return True
    return False
