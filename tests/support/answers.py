"""Stored answers made by hand, for the unit tests of the answer cache and what uses it
(backend/lib/answer_cache.py, backend/lib/sqlite_watch.py, backend/lib/private_reads.py)."""

import time

from backend.lib import answer_cache


def entry(
    body: bytes,
    *tags: str,
    private: bool = False,
    policy: str = answer_cache.NO_CACHE,
    etag: str | None = None,
) -> answer_cache.Entry:
    """An answer ``body`` stored now under ``tags``, living the cache's own time (its ETag from the body unless
    given)."""
    return answer_cache.Entry(
        body=body,
        etag=etag if etag is not None else answer_cache.etag.entity_tag(body),
        policy=policy,
        tags=frozenset(tags),
        stored=time.monotonic(),
        ttl_s=None,
        private=private,
    )
