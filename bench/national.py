"""A national peak hour, scaled to what one machine holds (issue 24): ``python -m bench.national``.

    python -m bench.national [--start 0.05] [--step-s 20] [--bisect 3] [--workers 2] [--scales 0.1,0.2]
                             [--only booking,tracking,courier_sync,push]

The rates are the national peak hour's, derived from public figures in ``bench/national_rates.py`` (the
arithmetic, per second nationally, per average and largest province) and ``bench/national_figures.json`` (each
figure with its source, or marked as our assumption): bookings 20/s, public tracking lookups 60/s, courier syncs
20/s, push fan-out 108/s (SMS 30/s is not driven).

The service runs as production runs it: a throwaway PostgreSQL database migrated and seeded with the demo
province (``bench/drills/common.py``), ``python -m backend serve`` (Granian, ``--workers`` API processes,
``RUN_DISPATCHER=false``, Redis) and a separate ``python -m backend dispatch`` process pushing through
firebase-admin to the loopback FCM of ``bench/fakes`` (through its CONNECT proxy, as ``bench/notifications.py``).

A step at scale ``s`` offers, for ``--step-s`` seconds and at the same time, each kind's national rate x ``s``
as Poisson arrivals (``national_rates.poisson_arrivals``, one generator per kind, tested in
tests/unit/test_national_rates.py) through ``open_loop`` below: ``bench/loadgen.py``'s open loop (pre-built
requests, C parser, latency from each request's arrival, so queueing counts) with connections reopened when the
server closed them while idle. A first short step at half the start scale warms the processes up, uncounted.

* booking: ``POST /appointments`` of signed-in demo citizens at their homes, into windows that had room when
  listed just before the step (409 "window full" is a real answer; it is counted apart, not as an error);
* tracking: public ``GET /track/{item_id}`` of dossiers that exist;
* courier_sync: ``POST /events/batch`` as the courier app sends a stop done offline: a home pickup on a label the
  courier reserved, the citizen's handover code, the procedure's documents (a new dossier, its events, custody
  and outbox rows); each batch's dossier is checked in the database afterwards (a rejected pickup is an error);
* push: outbox rows (``notification``) inserted one transaction each at their arrival times, for citizens with a
  registered device, sent by the dispatcher process; its latency is created -> sent (``created_at`` is set just
  before the insert's commit, ``sent_at`` just after FCM's answer: an upper bound of commit -> FCM receipt). The
  insert's commit wakes the dispatcher (NOTIFY hoso_outbox, migration 0030 and ``backend/notices/wake.py``; the
  1 s poll is only the fallback), so a push costs one pass: claim, device lookup, lease fence, the FCM request,
  settle, four short transactions and one HTTP/2 request, tens of milliseconds. This kind's limit is 500 ms:
  that pass, one pass already in flight that it waits behind, and room for a shared machine; a dispatcher left
  to its poll fails it (up to 1 s of waiting alone). Measured with ``--only push --scales 0.1,0.3,1.0`` on the
  shared 2-core machine, others' work taking 82-97 % of it, runs minutes apart (p50/p99 in ms):

  =========  ===================================  ==============================================
  scale      polling (before migration 0030)      woken (after)
  =========  ===================================  ==============================================
  0.1        714/1423, 632/1241                   76/215, 113/1088, 83/860, 58/171
  0.3        895/1715, 726/1515                   127/539, 286/1828, 100/449, 143/703
  1.0        2998/8197 (103/s inserted)           262/817 (55/s), 270/929 (91/s), 250/2048 (92/s)
  =========  ===================================  ==============================================

  The medians are the wake's. The woken p99s move a lot from run to run with the machine (a 222-notice step's
  p99 is its third worst), not with the poll: a run with the dispatcher's poll at 30 s (``POLL_S`` of
  backend/notices/worker.py edited in a copy) sent all 828 notices at 63/165 ms (0.1) and 100/355 ms (0.3), so
  none waited for it (the stream test of tests/notifications/test_outbox_wake.py checks the same, 60 s poll).
  The wake costs a pass per notice at low rates (the dispatcher's CPU per push about three times the polling
  one's at 0.1), while at higher rates wakes that arrive during a pass fold into the next one.

Then the search: the scale doubles from ``--start`` while every kind's p99 is under its limit with no error, then
``--bisect`` halvings between the last scale held and the first one not held. It prints per step and kind the
offered and achieved rate, p50/p99 and errors, then "this machine holds X % of the national peak hour (Y req/s)",
the CPU per operation measured over that step (API processes + PostgreSQL backends + dispatcher) and the number
of such machines the nation would need. ``--only`` drives some kinds alone (their CPU per request apart).
The machine is shared (2 cores, other sessions' tests and benches): each step prints how busy the machine was
and how much of that was other processes; the figures move from run to run.
"""

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

import httpx

from bench import loadgen, national_rates
from bench.booking import _children, _pid_cpu_ms
from bench.drills import common

LIMIT_MS = {"booking": 200.0, "tracking": 200.0, "courier_sync": 200.0, "push": 500.0}
EXPECTED = {"booking": {200, 201, 409}, "tracking": {200}, "courier_sync": {200, 201}}
CLIENTS = 32  # connections per HTTP kind
PUSH_MARK = "national:"  # dedupe_key prefix of the bench's own outbox rows


@dataclass
class Citizen:
    id: str
    phone: str
    lat: float
    lon: float
    token: str = ""
    code: str = ""


@dataclass
class World:
    """What the requests need, prepared before the load."""

    host: str
    port: int
    db_url: str
    citizens: list[Citizen]
    couriers: list[str]  # tokens
    documents: list[dict[str, Any]]
    labels: list[tuple[int, str]] = field(default_factory=list)  # (courier index, reserved item id)
    item_ids: list[str] = field(default_factory=list)  # dossiers that exist, for tracking
    windows: dict[str, list[str]] = field(default_factory=dict)  # citizen phone -> window starts with room


@dataclass
class KindResult:
    offered: float
    result: loadgen.Result
    errors: int
    notes: str = ""

    @property
    def achieved(self) -> float:
        return self.result.rate


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _citizens(db_url: str) -> list[Citizen]:
    """The seeded province's citizens on the demo's test numbers (+84900000001 ..., fixed sign-in code), homes."""
    rows = await common.fetch(
        db_url,
        "SELECT c.id, c.phone, a.lat, a.lon FROM citizen c JOIN citizen_address a ON a.citizen_id = c.id "
        "WHERE a.is_default AND c.phone LIKE '+849000%' ORDER BY c.phone",
    )
    return [Citizen(str(r["id"]), r["phone"], float(r["lat"]), float(r["lon"])) for r in rows]


async def prepare(client: httpx.AsyncClient, db_url: str, port: int) -> World:
    """Sign citizens and couriers in, register a device per citizen, read handover codes and documents."""
    citizens = await _citizens(db_url)
    for i, c in enumerate(citizens):
        r = await client.post("/api/v1/auth/citizen/verify", json={"phone": c.phone, "code": "123456"})
        r.raise_for_status()
        c.token = r.json()["access_token"]
        r = await client.get("/api/v1/handover-code", headers=_bearer(c.token))
        r.raise_for_status()
        c.code = r.json()["code"]
        device = {"token": f"bench-national-{i:04d}-{uuid.uuid4().hex}", "platform": "android"}
        (await client.post("/api/v1/devices", json=device, headers=_bearer(c.token))).raise_for_status()
    couriers = [await common.staff_token(client, f"courier{n:02d}") for n in range(1, 25)]
    r = await client.get(f"/api/v1/procedures/{common.PROCEDURE}")
    r.raise_for_status()
    documents = [{"id": d["id"], "provided": True, "original": True} for d in r.json()["documents"]]
    world = World("127.0.0.1", port, db_url, citizens, couriers, documents)
    # Dossiers to track: one pickup per citizen, through the same path as the load.
    await reserve_labels(client, world, len(citizens))
    for c in citizens:
        courier, label = world.labels.pop()
        body = _pickup(world, c, label)
        r = await client.post("/api/v1/events/batch", json=body, headers=_bearer(couriers[courier]))
        r.raise_for_status()
        answer = r.json()["pickups"][0]
        if not answer["accepted"]:
            raise RuntimeError(f"a prepared pickup was refused: {answer}")
        world.item_ids.append(answer["item_id"])
    return world


async def reserve_labels(client: httpx.AsyncClient, world: World, needed: int) -> None:
    """Item-id labels reserved by the couriers (100 a call), round robin, until ``needed`` are at hand."""
    k = 0
    while len(world.labels) < needed:
        courier = k % len(world.couriers)
        r = await client.post(
            "/api/v1/couriers/me/item-ids", json={"count": 100}, headers=_bearer(world.couriers[courier])
        )
        r.raise_for_status()
        world.labels += [(courier, x) for x in r.json()["item_ids"]]
        k += 1


async def refresh_windows(client: httpx.AsyncClient, world: World) -> int:
    """Windows with room at each citizen's home, listed now (outside the measured load)."""
    world.windows.clear()
    for c in world.citizens[:20]:
        r = await client.get("/api/v1/slots", params={"kind": "pickup", "lat": c.lat, "lon": c.lon})
        if r.status_code == 200:
            starts = [s["start"] for s in r.json()["items"] if s["remaining"] > 0]
            if starts:
                world.windows[c.phone] = starts
    return sum(len(v) for v in world.windows.values())


def _pickup(world: World, c: Citizen, label: str) -> dict[str, Any]:
    """A courier's batch for one stop: the pickup recorded on the device (as tests/api/test_custody_offline.py)."""
    pickup = {
        "client_event_id": f"nat-{label}",
        "client_at": (datetime.now(UTC) - timedelta(seconds=5)).isoformat(),
        "item_id": label,
        "procedure": common.PROCEDURE,
        "channel": "home_pickup",
        "citizen_phone": c.phone,
        "documents": world.documents,
        "seal_number": f"SEAL-{label}",
        "confirmation": {"method": "code", "code": c.code},
        "lat": c.lat,
        "lon": c.lon,
    }
    return {"pickups": [pickup]}


def booking_requests(world: World, n: int, rng: random.Random) -> list[bytes]:
    host = f"{world.host}:{world.port}"
    by_phone = {c.phone: c for c in world.citizens}
    spots = list(world.windows)
    out = []
    for _ in range(n):
        c = by_phone[rng.choice(spots)] if spots else rng.choice(world.citizens)
        starts = world.windows.get(c.phone) or ["2030-01-01T08:00:00+07:00"]
        body = {"kind": "pickup", "start": rng.choice(starts), "lat": c.lat, "lon": c.lon}
        body["procedure"] = common.PROCEDURE
        headers = {
            **_bearer(rng.choice(world.citizens).token),
            "Idempotency-Key": uuid.uuid4().hex,
            "Content-Type": "application/json",
        }
        out.append(
            loadgen.request_bytes("POST", "/api/v1/appointments", host, headers, json.dumps(body).encode())
        )
    return out


def tracking_requests(world: World, n: int, rng: random.Random) -> list[bytes]:
    host = f"{world.host}:{world.port}"
    return [
        loadgen.request_bytes("GET", f"/api/v1/track/{rng.choice(world.item_ids)}", host) for _ in range(n)
    ]


def sync_requests(world: World, n: int, rng: random.Random) -> tuple[list[bytes], list[str]]:
    host = f"{world.host}:{world.port}"
    out, labels = [], []
    for _ in range(n):
        courier, label = world.labels.pop()
        body = json.dumps(_pickup(world, rng.choice(world.citizens), label)).encode()
        headers = {**_bearer(world.couriers[courier]), "Content-Type": "application/json"}
        out.append(loadgen.request_bytes("POST", "/api/v1/events/batch", host, headers, body))
        labels.append(label)
    return out, labels


async def push_load(db_url: str, citizens: list[Citizen], arrivals: list[float]) -> loadgen.Result:
    """Outbox rows at ``arrivals`` (seconds from now: ``national_rates.poisson_arrivals``), one transaction each
    (as a business event writes its notice); the latencies are filled in by ``push_latency`` once the dispatcher
    has sent them."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from schemas.notifications import Notification

    table = Notification.__table__  # type: ignore[attr-defined]
    engine = create_async_engine(db_url, pool_size=4)
    rng = random.Random(len(arrivals))
    result = loadgen.Result()
    try:
        t0 = time.perf_counter()
        for at in arrivals:
            pause = t0 + at - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            c = rng.choice(citizens)
            now = datetime.now(UTC)
            row = {
                "id": uuid.uuid4(),
                "recipient_kind": "citizen",
                "recipient_id": uuid.UUID(c.id),
                "template": "dossier.result_ready",
                "params": {"item_id": "HS123456785VN"},
                "title_vi": "Đã có kết quả hồ sơ HS123456785VN",
                "body_vi": "Kết quả giải quyết hồ sơ HS123456785VN đã sẵn sàng.",
                "title_en": "Result ready",
                "body_en": "The result for dossier HS123456785VN is ready.",
                "deep_link": "/dossiers/HS123456785VN",
                "priority": "normal",
                "data_only": False,
                "dedupe_key": f"{PUSH_MARK}{uuid.uuid4().hex}",
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            async with engine.begin() as conn:
                await conn.execute(table.insert(), [row])
        result.wall_s = time.perf_counter() - t0
    finally:
        await engine.dispose()
    return result


async def push_latency(
    db_url: str, since: datetime, result: loadgen.Result, wait_s: float = 30
) -> Counter[str]:
    """Wait until the bench's rows created since ``since`` are settled, fill ``result`` with their created ->
    sent latencies; returns their statuses (any but ``sent`` is an error)."""
    where = f"dedupe_key LIKE '{PUSH_MARK}%' AND created_at >= '{since.isoformat()}'"
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        left = await common.fetch(
            db_url,
            f"SELECT count(*) AS n FROM notification WHERE {where} AND status IN ('pending', 'sending')",  # noqa: S608
        )
        if not left[0]["n"]:
            break
        await asyncio.sleep(0.5)
    rows = await common.fetch(
        db_url,
        f"SELECT status, extract(epoch FROM sent_at - created_at) * 1000 AS ms FROM notification WHERE {where}",  # noqa: S608
    )
    statuses: Counter[str] = Counter()
    for r in rows:
        statuses[r["status"]] += 1
        if r["status"] == "sent" and r["ms"] is not None:
            result.latencies_ms.append(float(r["ms"]))
    return statuses


async def open_loop(
    host: str, port: int, requests: list[bytes], clients: int, arrivals: list[float]
) -> loadgen.Result:
    """``bench/loadgen.py``'s open loop (latency from each request's arrival, at most ``clients`` connections)
    with the arrival times given (``national_rates.poisson_arrivals``) and connections that come and go as a
    phone's do: one is opened when first needed, and one the server closed while idle (Granian's header timeout
    ends idle keep-alive connections, ``backend/server.py``) is opened again and the request sent once more
    (bookings carry an idempotency key, syncs client event ids: a resend is safe). Connecting counts in the
    latency; a request that fails twice counts as status 0 (an error)."""
    loop = asyncio.get_running_loop()
    free: asyncio.Queue[Any] = asyncio.Queue()
    for _ in range(clients):
        free.put_nowait(None)
    result = loadgen.Result()
    opened: list[Any] = []

    async def connect() -> Any:
        conn = (await loop.create_connection(loadgen._Conn, host, port))[1]
        opened.append(conn)
        return conn

    async def one(data: bytes, arrived: float) -> None:
        conn = await free.get()
        status = 0
        try:
            for _attempt in range(2):
                try:
                    if conn is None or conn.transport is None or conn.transport.is_closing():
                        conn = await connect()
                    status = await conn.send(data)
                    break
                except (ConnectionError, RuntimeError, OSError):
                    conn = None
        finally:
            free.put_nowait(conn)
        result.latencies_ms.append((time.perf_counter() - arrived) * 1000)
        result.statuses[status] += 1

    tasks = []
    t0 = time.perf_counter()
    try:
        for data, at in zip(requests, arrivals, strict=True):
            pause = t0 + at - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            tasks.append(asyncio.ensure_future(one(data, t0 + at)))
        await asyncio.gather(*tasks)
    finally:
        loadgen._close(opened)
    result.wall_s = time.perf_counter() - t0
    return result


@dataclass
class Step:
    scale: float
    kinds: dict[str, KindResult]
    cpu_ms: dict[str, float]  # API, PostgreSQL, dispatcher, client: CPU spent during the step
    machine: tuple[float, float]  # (ms of CPU the whole machine spent busy over the step, wall ms x cores)
    http_requests: int
    pushes: int

    @property
    def held(self) -> bool:
        return all(k.errors == 0 and k.result.pct(99) < LIMIT_MS[name] for name, k in self.kinds.items())


@dataclass
class Meter:
    """CPU of the API processes, the PostgreSQL backends of the bench database, the dispatcher and this client
    (from /proc: comparable between a busy and a quiet host, where latency is not)."""

    api_pid: int
    dispatcher_pid: int
    database: str

    async def snapshot(self) -> dict[str, dict[int, float]]:
        from backend.lib.pgadmin import connect

        conn = await connect(common.admin_url())
        try:
            rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", self.database)
        finally:
            await conn.close()
        return {
            "API": {p: _pid_cpu_ms(p) for p in [self.api_pid, *_children(self.api_pid)]},
            "PostgreSQL": {r["pid"]: _pid_cpu_ms(r["pid"]) for r in rows},
            "dispatcher": {p: _pid_cpu_ms(p) for p in [self.dispatcher_pid, *_children(self.dispatcher_pid)]},
            "client": {os.getpid(): _pid_cpu_ms(os.getpid())},
        }

    @staticmethod
    def spent(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
        return {
            name: sum(ms - before[name].get(pid, 0.0) for pid, ms in now.items())
            for name, now in after.items()
        }


def _machine() -> tuple[int, int]:
    """(busy, all) CPU ticks of the whole machine so far (/proc/stat; (0, 0) without it)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0, 0
    idle = ticks[3] + ticks[4]
    return sum(ticks) - idle, sum(ticks)


def _machine_busy(before: tuple[int, int], after: tuple[int, int]) -> tuple[float, float]:
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    return (after[0] - before[0]) * tick_ms, (after[1] - before[1]) * tick_ms


async def _accepted(db_url: str, labels: list[str]) -> set[str]:
    if not labels:
        return set()
    quoted = ", ".join(f"'{x}'" for x in labels if x.isalnum())
    rows = await common.fetch(db_url, f"SELECT item_id FROM dossier WHERE item_id IN ({quoted})")  # noqa: S608
    return {r["item_id"] for r in rows}


def _http_kind(offered: float, got: loadgen.Result | BaseException, expected: set[int], n: int) -> KindResult:
    if isinstance(got, BaseException):
        return KindResult(offered, loadgen.Result(), n, f"{type(got).__name__}: {got}")
    errors = sum(v for s, v in got.statuses.items() if s not in expected)
    return KindResult(offered, got, errors, " ".join(f"{s}:{v}" for s, v in sorted(got.statuses.items())))


async def step(
    client: httpx.AsyncClient,
    world: World,
    meter: Meter,
    scale: float,
    step_s: float,
    seed: int,
    only: frozenset[str] = frozenset(national_rates.KINDS),
) -> Step:
    """Every kind (of ``only``) at its national rate x ``scale`` for ``step_s`` seconds, at once. Run it inside
    ``loadgen.collector_paused()`` (``search`` does): the client's own full collections showed as server p99."""
    rates = {k: v * scale for k, v in national_rates.national_peak().rates.items()}
    rng = random.Random(seed)
    arrivals = {
        k: (national_rates.poisson_arrivals(r, step_s, rng) or [step_s / 2]) if k in only else []
        for k, r in rates.items()
    }
    n = {k: len(v) for k, v in arrivals.items()}
    await refresh_windows(client, world)
    await reserve_labels(client, world, n["courier_sync"])
    books = booking_requests(world, n["booking"], rng)
    tracks = tracking_requests(world, n["tracking"], rng)
    syncs, labels = sync_requests(world, n["courier_sync"], rng)
    at = (world.host, world.port)
    since = datetime.now(UTC)
    before = await meter.snapshot()
    machine0 = _machine()
    got = await asyncio.gather(
        open_loop(*at, books, CLIENTS, arrivals["booking"]),
        open_loop(*at, tracks, CLIENTS, arrivals["tracking"]),
        open_loop(*at, syncs, CLIENTS, arrivals["courier_sync"]),
        push_load(world.db_url, world.citizens, arrivals["push"]),
        return_exceptions=True,
    )
    kinds = {
        "booking": _http_kind(rates["booking"], got[0], EXPECTED["booking"], n["booking"]),
        "tracking": _http_kind(rates["tracking"], got[1], EXPECTED["tracking"], n["tracking"]),
        "courier_sync": _http_kind(
            rates["courier_sync"], got[2], EXPECTED["courier_sync"], n["courier_sync"]
        ),
    }
    made = await _accepted(world.db_url, labels)
    world.item_ids += sorted(made)
    sync = kinds["courier_sync"]
    if len(made) < len(labels) and not isinstance(got[2], BaseException):
        sync.errors += len(labels) - len(made)
        sync.notes += f" refused:{len(labels) - len(made)}"
    pushed = got[3]
    if isinstance(pushed, BaseException):
        kinds["push"] = KindResult(
            rates["push"], loadgen.Result(), n["push"], f"{type(pushed).__name__}: {pushed}"
        )
    else:
        statuses = await push_latency(world.db_url, since, pushed)
        errors = sum(v for s, v in statuses.items() if s != "sent") + max(
            0, n["push"] - sum(statuses.values())
        )
        kinds["push"] = KindResult(
            rates["push"], pushed, errors, " ".join(f"{s}:{v}" for s, v in sorted(statuses.items()))
        )
    cpu = Meter.spent(before, await meter.snapshot())
    machine = _machine_busy(machine0, _machine())
    kinds = {k: v for k, v in kinds.items() if k in only}
    return Step(scale, kinds, cpu, machine, n["booking"] + n["tracking"] + n["courier_sync"], n["push"])


def print_step(s: Step) -> None:
    print(
        f"\nscale {s.scale:.4g} ({s.scale:.2%} of the national peak hour): {'held' if s.held else 'NOT held'}"
    )
    for name, k in s.kinds.items():
        r = k.result
        print(
            f"  {name:<13} offered {k.offered:7.2f}/s  achieved {k.achieved:7.2f}/s  n={len(r.latencies_ms):<5} "
            f"p50 {r.pct(50):7.1f} ms  p99 {r.pct(99):7.1f} ms (limit {LIMIT_MS[name]:.0f})  errors {k.errors}"
            f"  [{k.notes.strip()}]"
        )
    ops = s.http_requests + s.pushes
    print(
        "  CPU ms: "
        + ", ".join(f"{k} {v:.0f}" for k, v in s.cpu_ms.items())
        + f"; server side per operation {_server_cpu(s) / ops:.2f} ms over {ops} operations"
    )
    busy, capacity = s.machine
    if capacity:
        ours = sum(s.cpu_ms.values())
        print(
            f"  machine: {busy / capacity:.0%} of its {os.cpu_count()} cores busy over the step, this bench's "
            f"processes {ours / capacity:.0%}, everything else {max(0.0, busy - ours) / capacity:.0%}; "
            f"load average {os.getloadavg()[0]:.1f}"
        )


def _server_cpu(s: Step) -> float:
    return s.cpu_ms["API"] + s.cpu_ms["PostgreSQL"] + s.cpu_ms["dispatcher"]


async def search(
    client: httpx.AsyncClient, world: World, meter: Meter, args: argparse.Namespace
) -> list[Step]:
    """Doubling from ``--start`` while held, then ``--bisect`` halvings of the interval; or ``--scales``."""
    steps: list[Step] = []

    async def run(scale: float) -> Step:
        with loadgen.collector_paused():  # the client's own full collections would show as server p99
            s = await step(client, world, meter, scale, args.step_s, len(steps) * 10 + 1, args.only)
        steps.append(s)
        print_step(s)
        await asyncio.sleep(args.pause_s)  # let the dispatcher and PostgreSQL's writers settle
        return s

    # Warm-up, not counted: each API process's caches, connections and the dispatcher's OAuth token.
    await step(client, world, meter, args.start / 2, min(args.step_s, 8.0), 99, args.only)
    if args.scales:
        for scale in args.scales:
            await run(scale)
        return steps
    lo, hi, scale = 0.0, 0.0, args.start
    while scale <= args.max_scale:
        if (await run(scale)).held:
            lo, scale = scale, scale * 2
        else:
            hi = scale
            break
    if lo == 0.0 and hi > 0:  # not even the start: halve down
        scale = hi / 2
        while scale >= args.start / 16:
            if (await run(scale)).held:
                lo = scale
                break
            hi, scale = scale, scale / 2
    for _ in range(args.bisect if lo and hi else 0):
        mid = (lo + hi) / 2
        if (await run(mid)).held:
            lo = mid
        else:
            hi = mid
    return steps


def conclude(steps: list[Step], only: frozenset[str]) -> None:
    peak = national_rates.national_peak()
    if only != set(national_rates.KINDS):
        print(f"\n(only {', '.join(sorted(only))} driven: the figures below count the other kinds as free)")
    print("\n" + "=" * 100)
    held = [s for s in steps if s.held]
    best = max(held, key=lambda s: s.scale) if held else None
    if best is None:
        print("this machine held none of the scales tried (see the steps above)")
    else:
        print(
            f"this machine holds {best.scale:.1%} of the national peak hour "
            f"({peak.http_per_s * best.scale:.1f} HTTP req/s: "
            + ", ".join(f"{k} {v * best.scale:.1f}/s" for k, v in peak.rates.items())
            + ") with every kind's p99 under its limit and no error; the nation's peak would need "
            f"{national_rates.machines_for(1.0, best.scale)} machines like this one at that latency"
        )
        print(
            f"largest province ({peak.largest_province_share:.1%} of the nation): "
            f"{'fits' if best.scale >= peak.largest_province_share else 'does not fit'} on one such machine; "
            f"average province ({peak.average_province_share:.1%}): "
            f"{'fits' if best.scale >= peak.average_province_share else 'does not fit'}"
        )
    if steps:  # the busiest step: the processes' idle work (polling, sweeps) weighs least per operation there
        cpu_estimate(peak, max(steps, key=lambda s: s.http_requests + s.pushes))
    print("(the machine is shared with other sessions' tests and benches: figures measured under contention)")


def cpu_estimate(peak: national_rates.NationalPeak, s: Step) -> None:
    """What the nation needs by CPU alone, from the CPU a step's operations cost (latency aside)."""
    ops = s.http_requests + s.pushes
    api_pg = (s.cpu_ms["API"] + s.cpu_ms["PostgreSQL"]) / max(1, s.http_requests)
    per_push = s.cpu_ms["dispatcher"] / max(1, s.pushes)
    nation_cores = (peak.http_per_s * api_pg + peak.rates["push"] * per_push) / 1000
    print(
        f"CPU measured at scale {s.scale:.2%}: {_server_cpu(s) / ops:.2f} ms per operation on the server side; "
        f"API + PostgreSQL {api_pg:.2f} ms per HTTP request, dispatcher {per_push:.2f} ms per push (its idle "
        "polling included)"
    )
    print(
        f"by CPU alone the nation's peak hour ({peak.http_per_s:.0f} HTTP req/s + {peak.rates['push']:.0f} "
        f"pushes/s) is {nation_cores:.1f} cores busy ({nation_cores / 2:.1f} two-core machines at 100 %, "
        f"{nation_cores / 2 / 0.6:.1f} at a 60 % target), the database included"
    )


def _fake_fcm(ctx: Any) -> tuple[Any, Connection, Any]:
    from bench.notifications import _fake_server

    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_fake_server, args=(child,), daemon=True)
    proc.start()
    return proc, parent, parent.recv()


DISPATCH = "from bench.fakes import proxy; from backend.__main__ import _dispatch; proxy.run(_dispatch(), use_uvloop=True)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def bench(args: argparse.Namespace) -> None:
    import multiprocessing as mp

    peak = national_rates.national_peak()
    print(national_rates.report(peak))
    print(f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.2f} API processes={args.workers}")
    fcm, pipe, info = _fake_fcm(mp.get_context("spawn"))
    steps: list[Step] = []
    try:
        async with common.database("hoso_national") as (db_url, name):
            settings = {"ITEM_ID_MAX_OUTSTANDING": "1000000", "TRACKING_LINK_RATE_PER_MINUTE": "1000000"}
            with common.serving(db_url, args.workers, None, **settings) as svc:
                env = {
                    **svc.env,
                    **info.env,
                    "FIREBASE_CREDENTIALS": info.service_account,
                    "FIREBASE_PROJECT_ID": "bench",
                }
                dispatcher = subprocess.Popen(  # noqa: ASYNC220 (runs beside us)
                    [sys.executable, "-c", DISPATCH], cwd=common.ROOT, env=env, stdout=subprocess.DEVNULL
                )
                try:
                    async with httpx.AsyncClient(base_url=svc.base, timeout=60) as client:
                        world = await prepare(client, db_url, svc.port)
                        assert svc.proc is not None
                        meter = Meter(svc.proc.pid, dispatcher.pid, name)
                        print(
                            f"prepared: {len(world.citizens)} citizens with a device, {len(world.couriers)} "
                            f"couriers, {len(world.item_ids)} dossiers to track; steps of {args.step_s:g} s"
                        )
                        steps = await search(client, world, meter, args)
                    if dispatcher.poll() is not None:
                        print(f"the dispatcher exited ({dispatcher.returncode}): push figures are void")
                finally:
                    _stop(dispatcher)  # before the database goes
        conclude(steps, args.only)
    finally:
        pipe.send("stop")
        fcm.join(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.national", description=__doc__.split("\n\n")[0])
    ap.add_argument("--start", type=float, default=0.05, help="first scale (fraction of the national peak)")
    ap.add_argument("--max-scale", type=float, default=4.0)
    ap.add_argument("--bisect", type=int, default=3, help="halvings between the last held and first not held")
    ap.add_argument("--step-s", type=float, default=20.0, help="seconds of load per step")
    ap.add_argument("--pause-s", type=float, default=3.0, help="seconds between steps")
    ap.add_argument("--workers", type=int, default=2, help="API processes (WEB_CONCURRENCY)")
    ap.add_argument(
        "--scales", type=lambda v: [float(x) for x in v.split(",")], default=None, help="fixed scales"
    )
    ap.add_argument(
        "--only",
        type=lambda v: frozenset(v.split(",")),
        default=frozenset(national_rates.KINDS),
        help="comma-separated kinds to drive (default all: " + ",".join(national_rates.KINDS) + ")",
    )
    args = ap.parse_args()
    if not args.only <= set(national_rates.KINDS):
        ap.error(f"--only takes {', '.join(national_rates.KINDS)}")
    try:
        import uvloop  # the client's own overhead matters on 2 cores

        uvloop.run(bench(args))
    except ImportError:
        asyncio.run(bench(args))


if __name__ == "__main__":
    main()
