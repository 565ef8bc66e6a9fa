"""Drill 6: PostgreSQL goes away under load and comes back, the service not restarted.

The session may not restart the shared PostgreSQL server (other engineers' tests use it), so the service
reaches it through a TCP proxy the drill owns (``TcpProxy``): cutting it drops every open connection (the
service's pool and its LISTEN connection, ``backend/lib/pgnotify.py``) and refuses new ones, as a restart does;
restoring it listens again. Expected while cut: 503 ``database_unavailable`` problems (never a 500); after: the
service answers again by itself, and the change listener has reconnected, so a change made in the database
behind the service's back is seen at once (the window's remaining places in ``GET /slots``).
"""

import asyncio
import contextlib
import threading
import time
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from bench.drills import common
from bench.fakes.loopthread import stop_loop_thread


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target`` from its own event loop in a thread (the drill's own loop blocks
    while it starts the service); ``cut`` closes the listener and every tunnel, ``start`` listens again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = common.free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="drill-tcp-proxy")
        self.thread.start()

    def _call(self, coro: Any) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def start(self) -> None:
        await asyncio.to_thread(self._call, self._listen())

    async def cut(self) -> None:
        await asyncio.to_thread(self._call, self._cut())

    def close(self) -> None:
        self._call(self._cut())
        stop_loop_thread(self.loop, self.thread, lambda: None)
        self.loop.close()

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(self._tunnel, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for w in list(self.writers):
            w.transport.abort()
        self.writers.clear()

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers -= {writer, up_writer}


async def _remaining(c: httpx.AsyncClient, where: dict[str, Any], start: str) -> int | None:
    r = await c.get("/api/v1/slots", params=where)
    if r.status_code != 200:
        return None
    return next((s["remaining"] for s in r.json()["items"] if s["start"] == start), None)


async def _seen_within(
    c: httpx.AsyncClient, where: dict[str, Any], start: str, was: int | None, limit_s: float
) -> float:
    """Seconds until the window's remaining places differ from ``was`` (inf: not within ``limit_s``)."""
    began = time.monotonic()
    while time.monotonic() - began < limit_s:
        now = await _remaining(c, where, start)
        if now is not None and now != was:
            return time.monotonic() - began
        await asyncio.sleep(0.05)
    return float("inf")


async def _fill(url: str, start: str, minutes: int) -> None:
    """Add ``minutes`` to the window's ledger behind the service's back (its NOTIFY trigger fires)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE slot_capacity SET booked_minutes = booked_minutes + :m WHERE start = :s"),
                {"m": minutes, "s": datetime.fromisoformat(start)},
            )
    finally:
        await engine.dispose()


async def run_on(url: str, cut_s: float = 6.0) -> common.Outcome:
    u = make_url(url)
    proxy = TcpProxy((u.host or "127.0.0.1", u.port or 5432))
    await proxy.start()
    via = u.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        with common.serving(via, workers=1) as service:
            async with httpx.AsyncClient(base_url=service.base, timeout=15) as c:
                token = (await common.citizen_tokens(c, common.PHONES[:1]))[0]
                lat, lon = (await common.homes(url))[0]
                where: dict[str, Any] = {"kind": "pickup", "lat": lat, "lon": lon}
                items = (await c.get("/api/v1/slots", params=where)).json()["items"]
                slot = max(items, key=lambda s: s["remaining"])  # room for the booking and three changes
                body = {"kind": "pickup", "start": slot["start"], "lat": lat, "lon": lon}
                booked = await common.book(c, token, "drill6-a", {**body, "procedure": common.PROCEDURE})
                before = await _remaining(c, where, slot["start"])
                rows = await common.fetch(
                    url, "SELECT cost_minutes AS m FROM appointment ORDER BY created_at DESC LIMIT 1"
                )
                cost = int(rows[0]["m"])  # the drill's booking's courier-minutes: one more such visit
                await _fill(url, slot["start"], cost)
                seen_before = await _seen_within(c, where, slot["start"], before, 10)

                await proxy.cut()
                cut_at = time.monotonic()
                during: list[int | str] = []
                while time.monotonic() - cut_at < cut_s:
                    during.append(
                        await common.book(
                            c, token, f"drill6-{len(during)}", {**body, "procedure": common.PROCEDURE}
                        )
                    )
                    with contextlib.suppress(httpx.TransportError):
                        during.append((await c.get("/api/v1/slots", params=where)).status_code)
                    await asyncio.sleep(0.1)
                codes = sorted({str(x) for x in during})
                r = await c.post(
                    "/api/v1/appointments",
                    json=body,
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "drill6-probe"},
                )
                problem_code = (
                    r.json().get("code") if r.headers.get("content-type", "").endswith("json") else None
                )
                mid = await _remaining(c, where, slot["start"])
                await _fill(url, slot["start"], cost)  # a change while the listener is down

                await proxy.start()
                restored_at = time.monotonic()
                recovery = float("inf")
                while time.monotonic() - restored_at < 30:
                    if (await c.get("/api/v1/procedures")).status_code == 200 and await _remaining(
                        c, where, slot["start"]
                    ) is not None:
                        recovery = time.monotonic() - restored_at
                        break
                    await asyncio.sleep(0.1)
                after_restore = await _remaining(c, where, slot["start"])
                await asyncio.sleep(3)  # the listener reconnects within pgnotify.RECONNECT_S
                before_change = await _remaining(c, where, slot["start"])
                await _fill(url, slot["start"], cost)
                seen_after = await _seen_within(c, where, slot["start"], before_change, 10)
                # Undo the three changes made behind the service's back: the ledger matches its appointments
                # again for the drills after this one (backup_restore checks it).
                await _fill(url, slot["start"], -3 * cost)
            log = service.log_text()
    finally:
        await asyncio.to_thread(proxy.close)
    fivehundreds = [x for x in during if isinstance(x, int) and x >= 500 and x != 503]
    passed = (
        booked == 201
        and not fivehundreds
        and 503 in during
        and problem_code == "database_unavailable"
        and recovery < 30
        and seen_after < 2.0
    )
    return common.Outcome(
        drill="6 PostgreSQL cut",
        done=f"service -> TCP proxy -> PostgreSQL; proxy cut {cut_s:g} s under bookings and slot reads, "
        "a ledger change made meanwhile, proxy restored",
        expected="503 database_unavailable while cut, no 500; recovery without restart; a change made behind "
        "the service seen at once after the listener reconnects",
        observed=f"while cut {codes} (problem code {problem_code}); recovered in {recovery:.1f} s; remaining "
        f"{before}->{mid} (cut)->{after_restore} (restored)->{before_change}; change seen in {seen_after:.2f} s",
        passed=passed,
        figures={
            "recovery_s": round(recovery, 2),
            "change_seen_s_before_cut": round(seen_before, 2),
            "change_seen_s_after": round(seen_after, 2),
            "requests_while_cut": len(during),
            "http_500": len(fivehundreds),
            "log_500s": log.count("unhandled error"),
        },
    )


async def run() -> common.Outcome:
    async with common.database() as (url, _):
        return await run_on(url)
