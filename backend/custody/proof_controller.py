"""Proof images (photos, signatures, authorisation letters): upload and download.

Their own module beside ``controllers.py`` to keep each small (scripts/check_sizes.py); mounted from
``backend/app.py``'s ROUTES. The storage and the access rule are ``backend/custody/proofs.py``.
"""

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from litestar import Controller, Request, get, post
from litestar.datastructures import ETag, UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, MultipartBody
from litestar.response import File
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.custody.controllers import deps
from backend.custody.proofs import MAX_BYTES, readable_proof, store_proof
from backend.lib.auth import Principal, requires, signed_in
from backend.lib.openapi import CONSOLE, COURIER_APP, problems
from backend.lib.problems import Problem
from schemas.dossier_answers import ProofOut
from schemas.enums import Role


@dataclass
class ProofUpload:
    """The multipart form of an upload; ``file`` is checked in the handler so a missing one is a clear 422."""

    file: UploadFile | None = None
    kind: Literal["photo", "signature", "authorisation"] = "photo"


class ProofController(Controller):
    path = "/proofs"
    dependencies = deps

    @get(
        "/{proof_id:uuid}",
        guards=[signed_in],
        tags=[CONSOLE],
        media_type="image/*",
        summary="Download a proof image",
        description=(
            "The image as uploaded (PNG, JPEG or WebP; `Content-Type` says which), for whoever may see it: the "
            "uploader, staff of their office, an admin, and readers of a dossier that cites it (pickup "
            "signature, delivery proof). Others get 404; a file gone from storage is 410. Sent with an `ETag` "
            "(its SHA-256) and `Cache-Control: private`."
        ),
        responses=problems(404, 410),
    )
    async def get_proof(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        proof_id: FromPath[uuid.UUID],
    ) -> File:
        proof, path = await readable_proof(
            db_session, principal, request.app.state.settings.upload_dir, proof_id
        )
        return File(
            path=path,
            media_type=proof.content_type,
            content_disposition_type="inline",
            filename=f"{proof.kind}-{proof.id.hex}{path.suffix}",
            headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
            etag=ETag(value=proof.sha256),
        )

    @post(
        "/",
        status_code=201,
        request_max_body_size=MAX_BYTES + 64 * 1024,
        guards=[requires(Role.courier, Role.dispatcher, Role.desk, Role.admin)],
        tags=[COURIER_APP],
        summary="Upload a photo, signature or authorisation letter",
        description=(
            "Multipart with a `file` part (PNG, JPEG or WebP by its content, at most 5 MB; missing: 422 "
            "`file_required`) and `kind` (`photo`, `signature` or `authorisation`, default `photo`; another is "
            "400). Returns the id to cite in a pickup (`confirmation.signature_proof_id`), a delivery "
            "(`proof_id`) or an authorisation check. A proof backs one visit only."
        ),
        responses=problems(413, 415, 422),
    )
    async def upload_proof(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: MultipartBody[ProofUpload],
    ) -> ProofOut:
        if not isinstance(data.file, UploadFile):
            raise Problem(422, "Thiếu tệp 'file' / missing 'file' part", code="file_required")
        content = await data.file.read(MAX_BYTES + 1)
        settings = request.app.state.settings
        proof = await store_proof(db_session, principal, settings.upload_dir, data.kind, content)
        return ProofOut.model_validate(proof, from_attributes=True)


ROUTES = [ProofController]
