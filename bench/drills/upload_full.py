"""Drill 4: the upload disk full.

The service's ``UPLOAD_DIR`` is put on a 256 KiB tmpfs mounted for the drill (a real ``ENOSPC``) when this
process may mount one (root in a container); otherwise the serving process gets a 256 KiB file size limit
(``RLIMIT_FSIZE``, what ``ulimit -f`` sets: the kernel refuses writes past it with ``EFBIG``). A courier uploads
proof photos of 48 KiB until the disk refuses one, then a larger one. Expected: each refused upload is a 503
``storage_full`` problem with ``Retry-After``; every stored file is whole (its size and SHA-256 match its
``proof_file`` row), no partial or temporary file is left, the service keeps serving.
"""

import contextlib
import hashlib
import os
import resource
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.drills import common

SIZE = 256 * 1024


@contextlib.contextmanager
def _small_disk() -> Iterator[tuple[str, str, Callable[[], None] | None]]:
    """(directory, how it is limited, the serving process's preexec or None)."""
    top = tempfile.mkdtemp(prefix="drill-upload-")
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", top], capture_output=True
        ).returncode
        == 0
    )
    try:
        if mounted:
            yield top, f"tmpfs of {SIZE // 1024} KiB (ENOSPC)", None
        else:

            def limit() -> None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (SIZE, SIZE))

            yield top, f"RLIMIT_FSIZE {SIZE // 1024} KiB on the server (EFBIG)", limit
    finally:
        if mounted:
            subprocess.run(["umount", top], check=False)
        with contextlib.suppress(OSError):
            for p in sorted(Path(top).rglob("*"), reverse=True):
                p.rmdir() if p.is_dir() else p.unlink()
            os.rmdir(top)


def _on_disk(top: str, rows: list[Any]) -> tuple[list[Path], int, int]:
    """The files under ``top``, their bytes, and how many ``proof_file`` rows have their file whole."""
    files = [p for p in Path(top).rglob("*") if p.is_file()]
    whole = 0
    for row in rows:
        p = Path(top) / row["path"]
        if p.is_file() and p.stat().st_size == row["size"]:
            whole += hashlib.sha256(p.read_bytes()).hexdigest() == row["sha256"]
    return files, sum(p.stat().st_size for p in files), whole


def _png(n: int, seed: int) -> bytes:
    body = hashlib.sha256(str(seed).encode()).digest() * (n // 32)
    return b"\x89PNG\r\n\x1a\n" + body


async def run_on(url: str) -> common.Outcome:
    known = {str(r["id"]) for r in await common.fetch(url, "SELECT id FROM proof_file")}  # the demo's proofs
    with _small_disk() as (top, how, preexec):
        with common.serving(url, workers=1, preexec=preexec, UPLOAD_DIR=top) as service:
            async with httpx.AsyncClient(base_url=service.base, timeout=30) as c:
                token = await common.staff_token(c, "courier01")
                auth = {"Authorization": f"Bearer {token}"}
                answers: list[httpx.Response] = []

                async def upload(size: int, seed: int) -> bool:
                    r = await c.post(
                        "/api/v1/proofs/",
                        files={"file": (f"p{seed}.png", _png(size, seed), "image/png")},
                        data={"kind": "photo"},
                        headers=auth,
                    )
                    answers.append(r)
                    return r.status_code == 201

                for i in range(40):  # until the disk refuses one
                    if not await upload(48 * 1024, i):
                        break
                await upload(200 * 1024, 99)
                health = (await c.get("/health")).status_code
        rows = [
            r
            for r in await common.fetch(url, "SELECT id, path, size, sha256 FROM proof_file")
            if str(r["id"]) not in known
        ]
        files, used, whole = _on_disk(top, rows)
    stored = [r for r in answers if r.status_code == 201]
    refused = [r for r in answers if r.status_code != 201]
    codes = sorted({f"{r.status_code} {r.json().get('code')}" for r in refused})
    retry = all(r.headers.get("Retry-After") for r in refused)
    passed = (
        bool(refused)
        and codes == ["503 storage_full"]
        and retry
        and len(stored) == len(rows) == whole == len(files)
        and health == 200
    )
    return common.Outcome(
        drill="4 upload disk full",
        done=f"UPLOAD_DIR on {how}; 48 KiB proof photos until refused, then one of 200 KiB",
        expected="refused: 503 storage_full + Retry-After; stored files whole; no partial file; service up",
        observed=f"{len(stored)} stored, refused {codes}; files on disk {len(files)}, rows {len(rows)}, "
        f"whole {whole}; health {health}",
        passed=passed,
        figures={"stored": len(stored), "refused": len(refused), "kib_stored": used // 1024},
    )


async def run() -> common.Outcome:
    async with common.database() as (url, _):
        return await run_on(url)
