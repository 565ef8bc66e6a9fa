"""Callbacks run after this process commits a write of a given table or a call of a given SQL function (issue 24).

Some in-process state must follow writes that no ORM hook sees (Core inserts, updates, the booking's PostgreSQL
functions ``hoso_book``/``hoso_book_many``, which write notices inside the database): the outbox dispatcher is
woken when a notice is committed (``backend.notices.wake``), the inbox stops trusting the versions it read
(``backend.notices.inbox_answer``). Each used to listen on ``Engine`` with its own substring test of every
statement; this is the one listener they subscribe to (``on_commit``):

* ``after_cursor_execute``: one cheap test per statement (does it name any watched table or function at all,
  ``in``, case-sensitive as the names are written), then, for the few that do, one regular expression tells
  which writes it makes (``INSERT INTO t``, ``UPDATE t``, ``DELETE FROM t``, ``f(``: whole names, so
  ``notification_delivery`` is not ``notification``). The subscriptions hit are noted on the connection.
* ``commit``: the noted subscriptions become committed. The event comes *before* the database commits, so
  nothing is called yet: a dispatcher woken now could look before the row is visible and then sleep a poll.
* the connection's next ``begin`` or its return to the pool (``checkin``), whichever comes first: the commit is
  over, the callbacks run. An ``AsyncSession`` returns its connection at each commit, ``engine.begin()`` at the
  block's end.
* ``rollback``: what was noted and not committed is forgotten (never on a lost connection: reading its info
  would raise inside the rollback and turn a 503 into a 500).
* a statement run in autocommit (the booking's group commit, ``backend/booking/pgbatch.py``) is committed when
  it returns and no commit event follows: its callbacks run at once.

A commit that fails after its event may still call them (the database may have committed before the connection
was lost): a spurious wake or re-read, never a missed one. Statements inside a savepoint later rolled back count
at the outer commit, the same. Callbacks run on whichever thread committed; they must be quick and not raise (a
raise is logged and the next callback still runs).
"""

import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import Pool

log = logging.getLogger("backend.table_writes")

_NOTED = "table_writes.noted"  # conn.info: bit mask of the subscriptions this transaction's statements hit
_COMMITTED = "table_writes.committed"  # the same, once its commit began: run at the next begin or check-in

_VERBS = ("INSERT", "UPDATE", "DELETE")


class _Subscription:
    __slots__ = ("callback", "writes", "calls")

    def __init__(
        self, callback: Callable[[], None], writes: frozenset[tuple[str, str]], calls: frozenset[str]
    ):
        self.callback = callback
        self.writes = writes  # (verb, table): ("INSERT", "notification")
        self.calls = calls  # function names


_subscriptions: list[_Subscription] = []
_names: tuple[str, ...] = ()  # the fast test: a statement naming none of these is not looked at again
_tables: frozenset[str] = frozenset()
_write_masks: dict[tuple[str, str], int] = {}  # (verb, table) -> the subscriptions it concerns
_call_masks: dict[str, int] = {}  # function -> the same
_lock = threading.Lock()

_IDENT = re.compile(r"\w*")
_CALL_AFTER = re.compile(r'"?\s*\(')  # hoso_book( or "hoso_book" (
_VERB_REACH = 48  # characters looked at before a table's name for its verb
# Statements naming a watched name (the reads of the notification table, polled) -> their mask, so that each is
# looked at once; bulk inserts of many rows are too long and too varied to keep.
_known: dict[str, int] = {}
KNOWN_MOST = 512
KNOWN_LONGEST = 4096


def _compile() -> None:
    global _names, _tables, _write_masks, _call_masks
    writes: dict[tuple[str, str], int] = {}
    calls: dict[str, int] = {}
    for i, s in enumerate(_subscriptions):
        for w in s.writes:
            writes[w] = writes.get(w, 0) | 1 << i
        for c in s.calls:
            calls[c] = calls.get(c, 0) | 1 << i
    every = {t for _, t in writes} | set(calls)
    # hoso_book_many contains hoso_book: finding the shorter finds both.
    _names = tuple(sorted(n for n in every if not any(o != n and o in n for o in every)))
    _tables = frozenset(t for _, t in writes)
    _write_masks, _call_masks = writes, calls
    _known.clear()


def hits(statement: str) -> int:
    """The subscriptions ``statement`` concerns, as a bit mask (bit i: the i-th subscription); 0 for most.

    One ``in`` per watched name for a statement naming none (nearly all); a statement seen before is looked up
    (``_known``); otherwise each place a name stands is looked at alone: a whole identifier
    (``notification_delivery``, ``my_hoso_book`` are others), a function followed by ``(``, a table preceded by
    ``INSERT INTO``, ``UPDATE`` or ``DELETE FROM``."""
    for name in _names:
        if name in statement:
            break
    else:
        return 0
    known = _known.get(statement)  # SQLAlchemy's cached statements are the same string, its hash kept
    if known is not None:
        return known
    mask = 0
    for name in _names:
        at = statement.find(name)
        while at >= 0:
            mask |= _at(statement, at)
            at = statement.find(name, at + 1)
    if len(statement) <= KNOWN_LONGEST:
        if len(_known) >= KNOWN_MOST:
            _known.clear()
        _known[statement] = mask
    return mask


def _at(statement: str, at: int) -> int:
    before = statement[at - 1 : at]
    if before.isalnum() or before == "_":
        return 0  # the end of a longer name
    end = _IDENT.match(statement, at).end()  # type: ignore[union-attr]  # \w* always matches
    name = statement[at:end]
    mask = 0
    call = _call_masks.get(name)
    if call and _CALL_AFTER.match(statement, end):
        mask |= call
    if name in _tables and statement[end : end + 1] != ".":  # notification.id is a column
        verb = _verb_before(statement, at)
        if verb is not None:
            mask |= _write_masks.get((verb, name), 0)
    return mask


def _verb_before(statement: str, at: int) -> str | None:
    """INSERT, UPDATE or DELETE when the words before ``at`` are ``INSERT INTO``, ``UPDATE`` (``ONLY``) or
    ``DELETE FROM``, then maybe a schema and quotes (``"public"."notification"``). Words, not a regular
    expression: a read naming the table (``FROM notification``) costs a split of a few words."""
    words = statement[max(0, at - _VERB_REACH) : at].split()
    while words and (words[-1].rstrip('"') == "" or words[-1].rstrip('"').endswith(".")):
        words.pop()  # the opening quote, the schema
    if words and words[-1].upper() == "ONLY":
        words.pop()
    if not words:
        return None
    last = words[-1].upper()
    if last == "UPDATE":
        return "UPDATE"
    first = words[-2].upper() if len(words) > 1 else ""
    if last == "INTO" and first == "INSERT":
        return "INSERT"
    if last == "FROM" and first == "DELETE":
        return "DELETE"
    return None


def _run(mask: int) -> None:
    for i, s in enumerate(list(_subscriptions)):
        if mask >> i & 1:
            try:
                s.callback()
            except Exception:  # one subscriber's fault must not fail another's commit or check-in
                log.exception("table write callback %r failed", s.callback)


def _after_execute(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
    mask = hits(statement)
    if not mask:
        return
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        _run(mask)  # committed already, and no commit event follows
    else:
        conn.info[_NOTED] = conn.info.get(_NOTED, 0) | mask


def _commit(conn: Connection) -> None:
    noted = conn.info.pop(_NOTED, 0)
    if noted:
        conn.info[_COMMITTED] = conn.info.get(_COMMITTED, 0) | noted


def _rollback(conn: Connection) -> None:
    if conn.invalidated:  # a lost connection: reading its info would raise inside the rollback
        return
    conn.info.pop(_NOTED, None)


def _begin(conn: Connection) -> None:
    # A new transaction on this connection: the commit that preceded it is over.
    if conn.invalidated:
        return
    committed = conn.info.pop(_COMMITTED, 0)
    if committed:
        _run(committed)


def _checkin(_dbapi_conn: Any, record: Any) -> None:
    # Back in the pool: its transaction is over (a rollback forgot what was only noted).
    if record is not None:
        committed = record.info.pop(_COMMITTED, 0)
        if committed:
            _run(committed)


_HOOKS = (
    (Engine, "after_cursor_execute", _after_execute),
    (Engine, "commit", _commit),
    (Engine, "rollback", _rollback),
    (Engine, "begin", _begin),
    (Pool, "checkin", _checkin),
)


def on_commit(
    callback: Callable[[], None],
    *,
    inserts: Iterable[str] = (),
    writes: Iterable[str] = (),
    calls: Iterable[str] = (),
) -> None:
    """Call ``callback()`` after each commit in this process (or autocommit statement) that inserted into a table
    of ``inserts``, inserted into, updated or deleted from one of ``writes``, or called a function of ``calls``
    (names as in SQL, lower case). Once per commit whatever the number of such statements. Idempotent: the same
    callback again replaces its subscription; it must be subscribed before the statements it is to hear."""
    wanted = frozenset({("INSERT", t) for t in inserts} | {(verb, t) for t in writes for verb in _VERBS})
    subscription = _Subscription(callback, wanted, frozenset(calls))
    with _lock:
        for i, s in enumerate(_subscriptions):
            if s.callback == callback:
                _subscriptions[i] = subscription
                break
        else:
            _subscriptions.append(subscription)
        _compile()
    for target, name, hook in _HOOKS:
        if not event.contains(target, name, hook):
            event.listen(target, name, hook)
