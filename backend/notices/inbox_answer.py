"""The caller's inbox page as rendered bytes, kept per account and inbox version (issue 24).

Notices are written by many paths (the ORM, bulk inserts, the booking's PostgreSQL function, other processes
and machines) and no trigger announces them, so a stored page is trusted only as far as this:

* the page is kept under ``("inbox", kind, account, limit, offset, unread, version)``, where ``version`` is
  ``notifications.inbox.version`` (one indexed aggregate: how many entries are due, the newest, how many are
  read, the latest read): any change a page can show moves it, whoever wrote it;
* a request reads the version, unless this process read it for the same page less than ``TRUST_S`` ago: then
  the page stored under that version is answered without reading the database. A notice written by another
  process, a bulk insert or the booking's PostgreSQL function shows within ``TRUST_S``;
* in this process, a notice added through the ORM (``outbox.enqueue``) or entries marked read (``mark_read``)
  drop the recipient's pages at once (tag ``services.inbox_tag``), and any committed statement writing the
  ``notification`` table (bulk inserts, the booking's ``hoso_book`` or its group commit ``hoso_book_many``,
  updates) ends every trust, so the next read of every inbox reads its version again (engine hooks: a substring
  test per statement; at its commit, or at once for a statement run in autocommit, as the group commit is).

The key names the signed-in account (``backend.lib.answer_cache`` private entry: never served by the public
middleware, never to another account); pages of a version that moved are never asked for again and age out
(``MAX_AGE_S``). The answer carries an ``ETag``; ``If-None-Match`` gives 304.
"""

import time
from collections.abc import Hashable, Iterable
from typing import Any

from litestar import Request, Response
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib import answer_cache, answer_hooks
from backend.lib.auth import Principal
from backend.lib.paging import Paging
from backend.notices import services
from notifications import inbox
from schemas.notifications import InboxPage, RecipientKind

POLICY = "private, no-cache"
MAX_AGE_S = 60.0
TRUST_S = 1.0
MAX_PROBES = 50_000
# (database, kind, account, limit, offset, unread) -> (when its version was read, the version)
_probed: dict[tuple[Hashable, ...], tuple[float, tuple[Any, ...]]] = {}


async def answer(
    request: Request[Any, Any, Any], session: AsyncSession, principal: Principal, paging: Paging, unread: bool
) -> Response[Any]:
    db = answer_cache.db_of(request.app)
    kind = services.recipient_kind(principal)
    page = (kind, principal.id, paging.limit, paging.offset, unread)
    now = time.monotonic()
    probed = _probed.get((db, *page))
    if probed is not None and now - probed[0] < TRUST_S:
        hit = answer_cache.lookup(db, ("inbox", *page, probed[1]))
        if hit is not None and hit.private:
            return answer_cache.respond(request, hit)
    version = await inbox.version(session, recipient_kind=kind, recipient_id=principal.id)
    if len(_probed) >= MAX_PROBES:
        _probed.clear()
    _probed[(db, *page)] = (now, version)

    async def load() -> tuple[InboxPage, Iterable[str]]:
        content = InboxPage.model_validate(await services.inbox_page(session, principal, paging, unread))
        return content, (services.inbox_tag(kind, principal.id),)

    key = ("inbox", *page, version)
    return await answer_cache.serve(request, load, key=key, private=True, policy=POLICY, ttl_s=MAX_AGE_S)


def _notice_tags(row: Any) -> Iterable[str]:
    return (services.inbox_tag(RecipientKind(row.recipient_kind).value, row.recipient_id),)


# "hoso_book" covers hoso_book( and the group commit's hoso_book_many( (both write the booking's notices).
_WRITES = ("INSERT INTO notification", "UPDATE notification", "DELETE FROM notification", "hoso_book")
_TOUCHED = "notices.inbox_written"


def _after_execute(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    if ("notification" in statement or "hoso_book" in statement) and any(w in statement for w in _WRITES):
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            _probed.clear()  # committed already, and no commit event follows (the booking group commit's call)
        else:
            conn.info[_TOUCHED] = True


def _after_commit(conn: Connection) -> None:
    if conn.info.pop(_TOUCHED, False):
        _probed.clear()


def _after_rollback(conn: Connection) -> None:
    if conn.invalidated:  # a lost connection: reading its info would raise inside the rollback
        return
    conn.info.pop(_TOUCHED, None)


_ENGINE_HOOKS = (
    ("after_cursor_execute", _after_execute),
    ("commit", _after_commit),
    ("rollback", _after_rollback),
)


def install() -> None:
    """A notice committed through the ORM in this process drops its recipient's pages; any committed write of
    the notification table here ends the trust in versions read before it (idempotent)."""
    answer_hooks.tag_rows("notification", _notice_tags)
    for name, hook in _ENGINE_HOOKS:
        if not event.contains(Engine, name, hook):
            event.listen(Engine, name, hook)
