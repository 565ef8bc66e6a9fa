"""Drill 4 as a test: the upload disk full. A proof image that does not fit is refused with a 503
``storage_full`` problem and leaves no file, whole or partial; one that fits is stored whole.

No root needed: the write runs in a child process whose file size limit (``RLIMIT_FSIZE``, what ``ulimit -f``
sets) is below the image, so the kernel refuses the write part-way (``EFBIG``; CPython ignores ``SIGXFSZ``);
the drill (``python -m bench.drills upload``) fills a real tiny tmpfs (``ENOSPC``) instead when it can mount one.
"""

import json
import subprocess
import sys
import zlib
from pathlib import Path

CHILD = r"""
import json, resource, sys, uuid
from datetime import datetime, timezone
from backend.lib import images
from backend.lib.problems import Problem

limit, upload_dir, sizes = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
out = []
for size in sizes:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (size // 256)
    try:
        stored = images.write(upload_dir, uuid.uuid4(), data, "image/png", "png", datetime.now(timezone.utc))
        out.append({"stored": stored.path, "size": stored.size})
    except Problem as exc:
        out.append({"status": exc.status_code, "code": exc.code, "retry": exc.headers.get("Retry-After")})
print(json.dumps(out))
"""


def test_an_image_that_does_not_fit_is_a_503_storage_full_and_leaves_no_file(tmp_path: Path) -> None:
    upload = tmp_path / "uploads"
    limit = 64 * 1024
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(limit), str(upload), json.dumps([300_000, 20_000, 2_000_000])],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    too_big, fits, too_big_again = json.loads(done.stdout)
    assert too_big == {"status": 503, "code": "storage_full", "retry": "300"}
    assert too_big_again == too_big
    files = [p for p in upload.rglob("*") if p.is_file()]
    # Only the image that fitted, whole: no partial file of the two refused ones, no temporary name left.
    assert [p.relative_to(upload).as_posix() for p in files] == [fits["stored"]]
    data = files[0].read_bytes()
    assert (
        len(data) == fits["size"]
        and data.startswith(b"\x89PNG")
        and zlib.crc32(data) == zlib.crc32(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (20_000 // 256))
    )
