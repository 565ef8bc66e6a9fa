"""The caller's inbox page as rendered bytes, kept per account and inbox version (issue 24).

Notices are written by many paths (the ORM, bulk inserts, the booking's PostgreSQL function, other processes
and machines) and no trigger announces them, so a stored page is trusted only as far as this:

* the page is kept under ``("inbox", kind, account, limit, offset, unread, version)``, where ``version`` is
  ``notifications.inbox.version`` (one indexed aggregate: how many entries are due, the newest, how many are
  read, the latest read): any change a page can show moves it, whoever wrote it;
* a request reads the version, unless this process read it for the same page less than ``TRUST_S`` ago: then
  the page stored under that version is answered without reading the database. A notice written by another
  process, a bulk insert or the booking's PostgreSQL function shows within ``TRUST_S``. Requests needing the
  same page's version at the same moment share one read of it; a version read while a write ended the trust
  (below) answers its requests but is not trusted;
* in this process, a notice added through the ORM (``outbox.enqueue``) or entries marked read (``mark_read``)
  drop the recipient's pages at once (tag ``services.inbox_tag``), and any committed statement writing the
  ``notification`` table (bulk inserts, the booking's ``hoso_book`` or its group commit ``hoso_book_many``,
  updates) ends every trust, so the next read of every inbox reads its version again
  (``backend.lib.table_writes``: once its commit is over, or at once for a statement run in autocommit, as the
  group commit is).

A trusted page is sent before the handler runs (``stored``, through ``backend.lib.private_reads``) once the token
is verified and the guards admit the caller; a page whose version must be read again reaches ``answer``.

The key names the signed-in account (``backend.lib.answer_cache`` private entry: never served by the public
middleware, never to another account); pages of a version that moved are never asked for again and age out
(``MAX_AGE_S``). The answer carries an ``ETag``; ``If-None-Match`` gives 304.
"""

import time
import uuid
from collections.abc import Hashable, Iterable
from typing import Any

from litestar import Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib import answer_cache, answer_hooks, private_reads, table_writes
from backend.lib.auth import Principal
from backend.lib.paging import DEFAULT_LIMIT, Paging
from backend.lib.single_flight import SingleFlight
from backend.notices import services
from notifications import inbox
from schemas.common import MAX_LIMIT, MAX_OFFSET
from schemas.notifications import InboxPage, RecipientKind

POLICY = "private, no-cache"
MAX_AGE_S = 60.0
TRUST_S = 1.0
MAX_PROBES = 50_000
# (database, kind, account, limit, offset, unread) -> (when its version was read, the version)
_probed: dict[tuple[Hashable, ...], tuple[float, tuple[Any, ...]]] = {}
# The same key -> a version read in progress, shared by the requests that arrive meanwhile.
_probing: SingleFlight[tuple[Hashable, ...], tuple[Any, ...]] = SingleFlight()
_trust = [0]  # moves whenever a write ends the trust (``_end_trust``)


def _trusted(db: str, page: tuple[Hashable, ...], now: float) -> answer_cache.Entry | None:
    """The page stored under the version this process read for it less than ``TRUST_S`` ago."""
    probed = _probed.get((db, *page))
    if probed is None or now - probed[0] >= TRUST_S:
        return None
    hit = answer_cache.lookup(db, ("inbox", *page, probed[1]))
    return hit if hit is not None and hit.private else None


def stored(request: Request[Any, Any, Any], principal: Principal) -> answer_cache.Entry | None:
    """The trusted stored page for this request, sent before the handler runs (``backend.lib.private_reads``);
    None when there is none or the query is not in the plain form the apps send (the handler decides)."""
    query = private_reads.plain_query(request.scope, ("limit", "offset", "unread"))
    if query is None:
        return None
    limit = private_reads.plain_count(query.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = private_reads.plain_count(query.get("offset"), 0, 0, MAX_OFFSET)
    unread = private_reads.plain_flag(query.get("unread"))
    if limit is None or offset is None or unread is None:
        return None
    page = (services.recipient_kind(principal), principal.id, limit, offset, unread)
    return _trusted(answer_cache.db_of(request.app), page, time.monotonic())


async def answer(
    request: Request[Any, Any, Any], session: AsyncSession, principal: Principal, paging: Paging, unread: bool
) -> Response[Any]:
    db = answer_cache.db_of(request.app)
    kind = services.recipient_kind(principal)
    page = (kind, principal.id, paging.limit, paging.offset, unread)
    now = time.monotonic()
    hit = _trusted(db, page, now)
    if hit is not None:
        return answer_cache.respond(request, hit)
    version = await _version(session, (db, *page), kind, principal.id, now)

    async def load() -> tuple[InboxPage, Iterable[str]]:
        content = InboxPage.model_validate(await services.inbox_page(session, principal, paging, unread))
        return content, (services.inbox_tag(kind, principal.id),)

    key = ("inbox", *page, version)
    return await answer_cache.serve(request, load, key=key, private=True, policy=POLICY, ttl_s=MAX_AGE_S)


def _notice_tags(row: Any) -> Iterable[str]:
    return (services.inbox_tag(RecipientKind(row.recipient_kind).value, row.recipient_id),)


async def _version(
    session: AsyncSession, probe: tuple[Hashable, ...], kind: str, account: uuid.UUID, now: float
) -> tuple[Any, ...]:
    """The page's inbox version, read once for all the requests that need it at the same moment (a polled inbox
    asked by many connections would otherwise read it once per request each second); trusted for ``TRUST_S``
    unless a write ended the trust while it was read."""
    generation = _trust[0]
    version = await _probing.run(
        probe, lambda: inbox.version(session, recipient_kind=kind, recipient_id=account)
    )
    if generation == _trust[0]:  # no write ended the trust meanwhile: this version may be trusted
        if len(_probed) >= MAX_PROBES:
            _probed.clear()
        _probed[probe] = (now, version)
    return version


def _end_trust() -> None:
    _trust[0] += 1
    _probed.clear()
    _probing.forget_all()  # later requests read the version afresh instead of joining a read begun before the write


def install() -> None:
    """A notice committed through the ORM in this process drops its recipient's pages; any committed write of
    the notification table here (or call of the booking's functions, which write its notices; the group
    commit's in autocommit, at once) ends the trust in versions read before it (idempotent)."""
    answer_hooks.tag_rows("notification", _notice_tags)
    table_writes.on_commit(_end_trust, writes=("notification",), calls=("hoso_book", "hoso_book_many"))
