"""The legs report (``legs.py`` defines it) as SQL aggregates, so a province-year of dossiers is summed in the
database instead of being loaded (issue 23: about 66 s per 100,000 dossiers in Python, well under a second here).

Each statement is the same pipeline of common table expressions:

1. ``m``: the milestones of each dossier (``MIN(CASE code ...)`` over its custody events, as ``legs_store``);
2. the legs (or, for the clock, the spans) as rows with the epoch seconds of both ends;
3. working hours from a day table passed as ``VALUES`` (day number at UTC+7, office minutes from an anchor to the
   day's start, working or not) filled by ``legs.WorkClock`` from the working calendar: the position of an instant
   is its day's start plus the office minutes of its sessions before it, exactly ``WorkClock.position``.

The day table covers the days from ``first_day`` to the period's end; an instant before ``first_day`` finds no day
(its position is NULL), and each statement returns the earliest day it met, so the caller asks again with the
table widened when a leg started earlier (rare: one more statement).

Medians and 90th percentiles (nearest rank) are picked from values ranked by window functions (``row_number``
over each leg), on both databases: SQLite has no ``percentile_cont``, and PostgreSQL's interpolates as
``a + 0.5 (b - a)`` where ``statistics.median`` takes ``(a + b) / 2``, which rounds differently at a half
hundredth. Times are read as epoch seconds with their fraction (whole seconds exact on both).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col, func

from backend.reporting import legs
from backend.reporting.definitions import VN_OFFSET_S
from schemas.dossiers import Dossier, DossierEvent

DAY_S = 86400


class epoch_s(FunctionElement[float]):  # lower case: reads like the SQL function it renders
    """Seconds since 1970-01-01 UTC of a stored UTC timestamp, with its fraction."""

    type = sa.Float()
    inherit_cache = True
    name = "epoch_s"


@compiles(epoch_s)
def _epoch_sqlite(element: epoch_s, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    # whole seconds exactly (as Python's timestamp), then the milliseconds SQLite keeps
    return (
        f"(CAST(strftime('%s', {arg}) AS INTEGER)"
        f" + (CAST(strftime('%f', {arg}) AS REAL) - CAST(strftime('%S', {arg}) AS INTEGER)))"
    )


@compiles(epoch_s, "postgresql")
def _epoch_pg(element: epoch_s, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CAST(EXTRACT(EPOCH FROM {arg}) AS DOUBLE PRECISION)"


class day_of(FunctionElement[int]):
    """The day number (days since 1970-01-01 at UTC+7) of epoch seconds."""

    type = sa.Integer()
    inherit_cache = True
    name = "day_of"


@compiles(day_of)
def _day_sqlite(element: day_of, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CAST(({arg} + {VN_OFFSET_S}) / {DAY_S} AS INTEGER)"  # instants after 1970: truncation is floor


@compiles(day_of, "postgresql")
def _day_pg(element: day_of, compiler: SQLCompiler, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CAST(floor(({arg} + {VN_OFFSET_S}) / {DAY_S}) AS INTEGER)"


class pos0(FunctionElement[float]):
    """max(x, 0) without writing x twice (a CASE would evaluate it twice)."""

    type = sa.Float()
    inherit_cache = True
    name = "pos0"


@compiles(pos0)
def _pos0_sqlite(element: pos0, compiler: SQLCompiler, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)}, 0.0)"


@compiles(pos0, "postgresql")
def _pos0_pg(element: pos0, compiler: SQLCompiler, **kw: Any) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)}, 0.0)"


def instant(ts: Any, suffix: str) -> list[Any]:
    """Epoch seconds ``e<suffix>``, day number ``d<suffix>`` and minute of that day ``m<suffix>`` of a timestamp,
    as columns of the select that reads the timestamp, so that the expressions after it read them instead of
    computing them again (PostgreSQL substitutes an inlined expression wherever a column of it is named)."""
    epoch = epoch_s(ts)
    day = day_of(epoch_s(ts))
    minute = (epoch_s(ts) + VN_OFFSET_S - day_of(epoch_s(ts)) * DAY_S) / 60.0
    return [epoch.label(f"e{suffix}"), day.label(f"d{suffix}"), minute.label(f"m{suffix}")]


@dataclass
class DayTable:
    """Days ``first``..``last`` (day numbers) of a ``WorkClock`` as a VALUES clause."""

    clock: legs.WorkClock
    first: int
    last: int
    _cte: Any = None

    def values(self, name: str) -> Any:
        """The table (a common table expression ``cal`` of VALUES, made once) under the alias ``name``."""
        if self._cte is None:
            rows = [
                (day, self.clock.day_start(day), 1 if self.clock.is_working(day) else 0)
                for day in range(self.first, self.last + 1)
            ]
            cols = (
                sa.column("day", sa.Integer),
                sa.column("base", sa.Integer),
                sa.column("working", sa.Integer),
            )
            self._cte = sa.values(*cols, name="cal", literal_binds=True).data(rows).cte("cal")
        return self._cte.alias(name)

    def position(self, table: Any, minute: Any) -> Any:
        """Office minutes from the anchor to an instant (``WorkClock.position``) given the table's row of its day
        and its ``minute`` of the day (a column: see ``instant``); NULL outside the table."""
        inside = sum(
            (
                sa.case((minute < a, sa.literal(float(a))), (minute > b, sa.literal(float(b))), else_=minute)
                - a
                for a, b in self.clock.sessions
            ),
            sa.literal(0.0),
        )
        return table.c.base + table.c.working * inside


def dossier_keys() -> tuple[Any, ...]:
    """The dossier columns a legs row carries (and groups by), for both the SQL and the Python report."""
    return (
        col(Dossier.id),
        col(Dossier.item_id),
        col(Dossier.channel),
        col(Dossier.post_office_id),
        col(Dossier.desk_id),
        col(Dossier.agency_id),
        col(Dossier.received_at),
        col(Dossier.due_at),
    )


def milestones(where: Sequence[Any]) -> Any:
    """Per dossier: ids, channel, due, and the first instant of each milestone (received falls back to the
    dossier's ``received_at``)."""
    at = func.coalesce(col(DossierEvent.client_at), col(DossierEvent.at))
    firsts: dict[str, Any] = {
        name: func.min(sa.case((col(DossierEvent.code) == code, at)))
        for name, code in legs.MILESTONE_CODES.items()
    }
    firsts["received"] = func.coalesce(firsts["received"], col(Dossier.received_at))
    keys = dossier_keys()
    return (
        sa.select(*keys, *(v.label(k) for k, v in firsts.items()))
        .select_from(
            sa.outerjoin(
                Dossier,
                DossierEvent,
                # only the milestones' events are joined (a dossier has many others: statuses, notes, scans)
                sa.and_(
                    col(DossierEvent.dossier_id) == col(Dossier.id),
                    col(DossierEvent.code).in_(sorted(set(legs.MILESTONE_CODES.values()))),
                ),
            )
        )
        .where(*where)
        .group_by(col(Dossier.id))  # the other keys depend on it (the primary key)
        .cte("m")
    )


def _no_unit() -> Any:
    return sa.cast(sa.null(), sa.Uuid)


def _legs_union(m: Any, start: datetime, end: datetime) -> Any:
    c = m.c
    at_post_or_posted = func.coalesce(c.at_post, c.posted)
    home_posted = sa.case((c.channel == "home_pickup", c.posted))
    spans = {
        "citizen_post": (home_posted, c.at_post, _no_unit(), c.post_office_id),
        "post_desk": (at_post_or_posted, c.received, c.post_office_id, c.desk_id),
        "agency": (c.received, c.result_at_desk, c.desk_id, c.agency_id),
        "desk_post": (c.result_at_desk, c.result_at_post, c.desk_id, c.post_office_id),
        "post_citizen": (c.result_at_post, c.delivered, c.post_office_id, _no_unit()),
    }
    ts = DateTimeUTC(timezone=True)
    lo, hi = sa.literal(start, ts), sa.literal(end, ts)
    parts = [
        sa.select(
            sa.literal(leg).label("leg"),
            c.item_id,
            s.label("start"),
            e.label("end"),
            fu.label("from_id"),
            tu.label("to_id"),
            *instant(s, "s"),
            *instant(e, "e"),
        ).where(s.is_not(None), e.is_not(None), e >= s, e >= lo, e < hi)
        for leg, (s, e, fu, tu) in spans.items()
    ]
    return sa.union_all(*parts).cte("l")


def legs_hours(m: Any, days: DayTable, start: datetime, end: datetime) -> Any:
    """One row per leg that ended in the period: leg, item, ends, unit ids, working and calendar hours,
    and ``first_day`` (the day the leg started, to check the day table covered it)."""
    ld = _legs_union(m, start, end)
    cs, ce = days.values("cs"), days.values("ce")
    working = sa.case(
        (ld.c.ee > ld.c.es, pos0(days.position(ce, ld.c.me) - days.position(cs, ld.c.ms)) / 60.0),
        else_=sa.literal(0.0),
    )
    return (
        sa.select(
            ld.c.leg,
            ld.c.item_id,
            ld.c.start,
            ld.c.end,
            ld.c.from_id,
            ld.c.to_id,
            working.label("wh"),
            ((ld.c.ee - ld.c.es) / 3600.0).label("hours"),
            ld.c.ds,
        )
        .select_from(ld.outerjoin(cs, cs.c.day == ld.c.ds).outerjoin(ce, ce.c.day == ld.c.de))
        .cte("lh")
    )


def stats_statement(lh: Any) -> sa.Select[Any]:
    """Per leg: count, median and p90 of working and of calendar hours, earliest start day."""
    part = {"partition_by": lh.c.leg}
    ranked = sa.select(
        lh.c.leg,
        lh.c.wh,
        lh.c.hours,
        lh.c.ds,
        func.row_number().over(order_by=lh.c.wh, **part).label("rw"),
        func.row_number().over(order_by=lh.c.hours, **part).label("rh"),
        func.count().over(**part).label("n"),
    ).subquery("ranked")
    r = ranked.c

    def median(rank: Any, value: Any) -> Any:
        return func.avg(sa.case((rank.in_([(r.n + 1) // 2, (r.n + 2) // 2]), value)))

    def p90(rank: Any, value: Any) -> Any:
        return func.max(sa.case((rank == (9 * r.n + 9) // 10, value)))  # ceil(0.9 n) in integers

    return sa.select(
        r.leg,
        func.count().label("n"),
        median(r.rw, r.wh).label("med_w"),
        p90(r.rw, r.wh).label("p90_w"),
        median(r.rh, r.hours).label("med_h"),
        p90(r.rh, r.hours).label("p90_h"),
        func.min(r.ds).label("first_day"),
    ).group_by(r.leg)


def slowest_statement(lh: Any, top: int) -> sa.Select[Any]:
    return (
        sa.select(lh.c.item_id, lh.c.leg, lh.c.start, lh.c.end, lh.c.wh, lh.c.hours, lh.c.from_id, lh.c.to_id)
        .order_by(lh.c.wh.desc(), lh.c.hours.desc(), lh.c.item_id, lh.c.leg)
        .limit(top)
    )


def legs_statement(lh: Any, top: int) -> Any:
    """The per-leg figures and the ``top`` slowest legs in one statement, so that the legs (``lh``, named twice)
    are computed once (PostgreSQL materialises a common table expression used twice). Rows: ``kind`` 's' (a
    leg's figures: leg, n, med_w, p90_w, med_h, p90_h, first_day) or 't' (a slow leg: leg, wh in med_w, hours
    in med_h, item_id, start, end, from_id, to_id)."""
    st = stats_statement(lh).subquery("st")
    tp = slowest_statement(lh, top).subquery("tp")
    ts = DateTimeUTC(timezone=True)

    def null(type_: Any) -> Any:
        return sa.cast(sa.null(), type_)

    f, i = sa.Float(), sa.Integer()
    no_slow = (null(sa.String()), null(ts), null(ts), null(sa.Uuid()), null(sa.Uuid()))
    stats = sa.select(
        sa.literal("s").label("kind"), st.c.leg, st.c.n, st.c.med_w, st.c.p90_w, st.c.med_h, st.c.p90_h,
        st.c.first_day, *no_slow,
    )  # fmt: skip
    slow = sa.select(
        sa.literal("t"), tp.c.leg, null(i), tp.c.wh, null(f), tp.c.hours, null(f), null(i),
        tp.c.item_id, tp.c.start, tp.c.end, tp.c.from_id, tp.c.to_id,
    )  # fmt: skip
    return sa.union_all(stats, slow)


def clock_statement(m: Any, days: DayTable) -> sa.Select[Any]:
    """The postal share of the legal clock (``legs.clock_share``) over the dossiers of ``m``: count, sums of
    clock and postal working hours, median of each dossier's share, earliest day met."""
    c = m.c
    # the postal span: from max(result_at_post, received) to min(delivered or due, due)
    p_start = sa.case((c.result_at_post > c.received, c.result_at_post), else_=c.received)
    delivered_or_due = func.coalesce(c.delivered, c.due_at)
    p_end = sa.case((delivered_or_due < c.due_at, delivered_or_due), else_=c.due_at)
    ep = sa.select(
        c.result_at_post.is_not(None).label("has_post"),
        *instant(c.received, "r"),
        *instant(c.due_at, "d"),
        *instant(p_start, "ps"),
        *instant(p_end, "pe"),
    ).where(c.received.is_not(None), c.due_at.is_not(None), c.due_at > c.received)
    e = ep.cte("ce")
    named = {x: days.values(f"d_{x}") for x in ("r", "d", "ps", "pe")}
    pos = {x: days.position(t, e.c[f"m{x}"]) for x, t in named.items()}
    frm: Any = e
    for x, t in named.items():
        frm = frm.outerjoin(t, t.c.day == e.c[f"d{x}"])
    total = pos0(pos["d"] - pos["r"]) / 60.0
    postal = sa.case(
        (sa.and_(e.c.has_post, e.c.epe > e.c.eps), pos0(pos["pe"] - pos["ps"]) / 60.0),
        else_=sa.literal(0.0),
    )
    per = (
        sa.select(total.label("total"), postal.label("postal"), e.c.dr.label("first_day")).select_from(frm)
    ).cte("cp")
    counted = sa.select(per).where(per.c.total > 0).subquery("counted")
    k = counted.c
    share = 100.0 * k.postal / k.total
    ranked = sa.select(
        share.label("share"),
        k.total,
        k.postal,
        func.row_number().over(order_by=share).label("rk"),
        func.count().over().label("n"),
    ).subquery("ranked")
    r = ranked.c
    return sa.select(
        func.count().label("n"),
        func.sum(r.total).label("clock"),
        func.sum(r.postal).label("postal"),
        func.avg(sa.case((r.rk.in_([(r.n + 1) // 2, (r.n + 2) // 2]), r.share))).label("med"),
        sa.select(func.min(per.c.first_day)).scalar_subquery().label("first_day"),
    )


def day_number(instant: datetime) -> int:
    """The day number (UTC+7) of an instant, as ``day_of`` computes it in SQL."""
    return int((instant.timestamp() + VN_OFFSET_S) // DAY_S)
