"""Changes of plan stops and routes for the answer cache (issue 24), in every process, without a migration.

Plans NOTIFY ``hoso_reference`` (migration 0002) but their stops and routes do not, and the answers made from
them (a courier's route, ``GET /slots`` on a planned day, the plans listings check visits against) must change
when a courier starts or finishes a stop or a dispatcher moves one. Every such write goes through the ORM, so
global ``Session`` hooks see them:

* ``after_flush`` notes the tags of each ``PlanStop``/``PlanRoute``/``Plan`` row flushed: ``plan:<plan id>``
  and ``table:plan_stop``/``table:plan_route``; on PostgreSQL it also sends them in the same transaction,
  ``SELECT pg_notify('hoso_answers', tag)`` (delivered at commit, never for a rolled-back change), so every
  process drops the answers carrying them (``backend.lib.answer_cache`` listens on that channel);
* ``after_commit`` drops them in this process at once and tells the observers (``on_change``: the planning
  capacity's cached plan problems); ``after_rollback`` forgets them.

Another process's notification reaches the observers through ``pgnotify`` too.
"""

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from backend.lib import answer_cache, pgnotify
from schemas.planning import Plan, PlanRoute, PlanStop

_NOTED = "planning.answer_tags"
_NOTIFY = text("SELECT pg_notify(:channel, tag) FROM unnest(CAST(:tags AS text[])) AS tag")
_observers: list[Callable[[], None]] = []


def plan_tag(plan_id: uuid.UUID) -> str:
    """The tag of answers made from this plan's routes and stops."""
    return f"plan:{plan_id}"


def on_change(observer: Callable[[], None]) -> None:
    """Call ``observer()`` whenever a plan's stops or routes changed, here or in another process (idempotent)."""
    if observer not in _observers:
        _observers.append(observer)


def _tags(obj: Any) -> Iterable[str]:
    if isinstance(obj, PlanStop):
        return (plan_tag(obj.plan_id), answer_cache.table_tag("plan_stop"))
    if isinstance(obj, PlanRoute):
        return (plan_tag(obj.plan_id), answer_cache.table_tag("plan_route"))
    if isinstance(obj, Plan):
        return (plan_tag(obj.id),)
    return ()


def _after_flush(session: Session, _context: Any) -> None:
    tags: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        tags.update(_tags(obj))
    if not tags:
        return
    session.info.setdefault(_NOTED, set()).update(tags)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_NOTIFY, {"channel": pgnotify.ANSWERS, "tags": sorted(tags)})


def _changed() -> None:
    for observer in _observers:
        observer()


def _after_commit(session: Session) -> None:
    tags = session.info.pop(_NOTED, None)
    if tags:
        answer_cache.invalidate(*tags)
        _changed()


def _after_rollback(session: Session) -> None:
    session.info.pop(_NOTED, None)


def _on_notify(payload: str) -> None:
    if payload.startswith(("plan:", "table:plan")):
        _changed()


_SESSION_HOOKS = (
    ("after_flush", _after_flush),
    ("after_commit", _after_commit),
    ("after_rollback", _after_rollback),
)


def install() -> None:
    """Hook the ORM's flushes and commits and listen for other processes' changes (idempotent)."""
    for name, hook in _SESSION_HOOKS:
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)
    pgnotify.subscribe(pgnotify.ANSWERS, _on_notify)
