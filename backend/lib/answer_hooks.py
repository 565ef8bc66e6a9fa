"""The answer cache's in-process invalidation (``backend.lib.answer_cache``): a commit that flushed rows drops
the answers made from them, right after the commit, in this process.

Global ``Session`` hooks (like ``backend.booking.ledger_cache``): ``after_flush`` notes the tags of every row
inserted, updated or deleted (``table:<name>``, plus what ``tag_rows`` adds per table: ``dossier:<id>`` for a
dossier and its events), ``after_commit`` invalidates them, ``after_rollback`` forgets them. Writes that bypass
the ORM (``insert()``/``update()`` statements) are not seen here: PostgreSQL's triggers (migration 0029) and the
short TTL cover them.
"""

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_TAGS = "answer_cache.tags"
_invalidate: list[Callable[..., None]] = []  # answer_cache.invalidate, given by install (no import cycle)
# table name -> functions giving the extra tags of one of its rows
_ROW_TAGS: dict[str, list[Callable[[Any], Iterable[str]]]] = {}


def tag_rows(table: str, tags: Callable[[Any], Iterable[str]]) -> None:
    """Add ``tags(row)`` to what a committed change of a ``table`` row invalidates (idempotent)."""
    if tags not in _ROW_TAGS.setdefault(table, []):
        _ROW_TAGS[table].append(tags)


def _dossier(row: Any) -> Iterable[str]:
    return (f"dossier:{row.id}",)


def _dossier_event(row: Any) -> Iterable[str]:
    return (f"dossier:{row.dossier_id}",)


def _after_flush(session: Session, _context: Any) -> None:
    noted: set[str] | None = None
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if not isinstance(table, str):
            continue
        if noted is None:
            noted = session.info.setdefault(_TAGS, set())
        noted.add(f"table:{table}")
        for tags in _ROW_TAGS.get(table, ()):
            noted.update(tags(obj))


def _after_commit(session: Session) -> None:
    tags = session.info.pop(_TAGS, None)
    if tags:
        for invalidate in _invalidate:
            invalidate(*tags)


def _after_rollback(session: Session) -> None:
    session.info.pop(_TAGS, None)


_SESSION_HOOKS = (
    ("after_flush", _after_flush),
    ("after_commit", _after_commit),
    ("after_rollback", _after_rollback),
)


def install(invalidate: Callable[..., None]) -> None:
    """Hook the ORM's commits to ``invalidate(*tags)`` (``backend.lib.answer_cache.install``; idempotent)."""
    if invalidate not in _invalidate:
        _invalidate.append(invalidate)
    tag_rows("dossier", _dossier)
    tag_rows("dossier_event", _dossier_event)
    for name, hook in _SESSION_HOOKS:
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)
