"""Drill 7: the push and SMS/Zalo providers answer 500 and 429 (with ``Retry-After``) for a while.

Loopback fakes stand in for the providers (``bench/fakes``): FCM at Google's own address through a CONNECT
proxy (TLS, HTTP/2, a test CA), eSMS and Zalo ZNS at their configured URLs. The service runs as production does
(``python -m backend serve``, ``RUN_DISPATCHER=false``) with one ``python -m backend dispatch`` worker
(``dispatch_proxied``: the same worker on a loop that applies ``HTTPS_PROXY`` for firebase-admin). Citizens of
three groups book pickups through the API while every provider is down: the booking's confirmation goes by push
to those with a registered device, by Zalo to those without one, and by SMS to those without one who switched
Zalo off (``notifications/channels/policy.py``).

Expected: the API answers as fast as before (its writes only add outbox rows); the senders back off (each
notice is tried at most as often as the backoff schedule allows within the outage: ``attempt_bound``, counted at
the fakes), and after the outage every notice is delivered exactly once (each push acknowledged once per device,
each SMS and Zalo message accepted once per delivery row), none failed.
"""

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.drills import common
from bench.fakes.esms_server import FakeEsms
from bench.fakes.fcm_server import FakeFcm
from bench.fakes.proxy import ConnectProxy
from bench.fakes.tlsca import TestCA
from bench.fakes.zns_server import FakeZalo
from notifications.channels.policy import in_quiet_hours
from schemas.base import utcnow

# The drill's citizens (their own numbers: the drill runs in its own database). Six per group.
GROUPS = {
    "push": [f"+849000000{n}" for n in range(60, 66)],
    "zns": [f"+849000000{n}" for n in range(66, 72)],
    "sms": [f"+849000000{n}" for n in range(72, 78)],
}
TEMPLATE = "302199"
# The dispatchers' backoff (notifications/dispatcher.py, notifications/channels/dispatcher.py): first wait in s.
PUSH_BACKOFF_BASE_S = 15.0
CHANNEL_BACKOFF_BASE_S = 30.0
# firebase-admin's own retries of one send on 500/503 (DEFAULT_HTTPX_RETRY_CONFIG: max_retries=4).
FCM_REQUESTS_PER_ATTEMPT = 5


def attempt_bound(window_s: float, base_s: float) -> int:
    """The most attempts one notice can get within ``window_s``: "equal jitter" backoff waits at least half of
    base * 2^(k-1) after attempt k (more after a 429's Retry-After), so attempt n+1 comes no sooner than
    base/2 * (2^n - 1) after the first. Without backoff a dispatcher polling every second would try ~window_s
    times."""
    n, elapsed = 1, 0.0
    while True:
        elapsed += base_s / 2 * 2 ** (n - 1)
        if elapsed > window_s:
            return n
        n += 1


def _env(
    fcm: FakeFcm, proxy: ConnectProxy, ca: TestCA, esms: FakeEsms, zalo: FakeZalo, sa: Path
) -> dict[str, str]:
    return {
        **proxy.env(str(ca.bundle)),
        "FIREBASE_CREDENTIALS": str(sa),
        "FIREBASE_PROJECT_ID": fcm.project_id,
        "SMS_PROVIDER": "esms",
        "SMS_ESMS_API_KEY": esms.api_key,
        "SMS_ESMS_SECRET_KEY": esms.secret_key,
        "SMS_BRANDNAME": esms.brandname,
        "SMS_ESMS_BASE_URL": esms.base_url,
        "ZNS_APP_ID": zalo.app_id,
        "ZNS_SECRET_KEY": zalo.app_secret,
        "ZNS_OA_SECRET_KEY": zalo.oa_secret,
        "ZNS_REFRESH_TOKEN": zalo.refresh_token,
        "ZNS_BASE_URL": zalo.base_url,
        "ZNS_OAUTH_URL": zalo.base_url,
        "ZNS_TEMPLATES": f"appointment.booked={TEMPLATE}",
        "SMS_RATE_PER_S": "50",
        "ZNS_RATE_PER_S": "50",
    }


def _start_dispatcher(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bench.drills.dispatch_proxied"],
            cwd=common.ROOT,
            env=env,
            stdout=out,
            stderr=out,
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def _started(proc: subprocess.Popen[bytes], log: Path, limit_s: float = 180) -> None:
    """Wait for the dispatcher's "started" line (its imports take a while on a busy machine)."""
    began = time.monotonic()
    while "notification dispatcher" not in (text := await asyncio.to_thread(log.read_text, errors="replace")):
        if proc.poll() is not None or time.monotonic() - began > limit_s:
            raise RuntimeError(f"the dispatcher did not start: {text[-2000:]}")
        await asyncio.sleep(0.2)


async def _backlog(url: str) -> int:
    """Outbox rows still to go (pending or in flight, push or fallback channels)."""
    rows = await common.fetch(
        url,
        "SELECT (SELECT count(*) FROM notification WHERE status IN ('pending', 'sending')) "
        "+ (SELECT count(*) FROM channel_delivery WHERE status IN ('pending', 'sending')) AS n",
    )
    return int(rows[0]["n"])


async def _drain(url: str, limit_s: float) -> int:
    """Wait until the outbox holds nothing due (the demo's and earlier drills' notices went out first)."""
    began = time.monotonic()
    while time.monotonic() - began < limit_s:
        left = await _backlog(url)
        if left == 0:
            return 0
        await asyncio.sleep(1)
    return await _backlog(url)


async def _setup(c: httpx.AsyncClient, active: dict[str, list[str]]) -> dict[str, list[tuple[str, str]]]:
    """Sign the groups' citizens in: push ones register a device, SMS ones switch Zalo off. (token, device)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for group, phones in active.items():
        tokens = await common.citizen_tokens(c, phones)
        out[group] = []
        for phone, token in zip(phones, tokens, strict=True):
            h = {"Authorization": f"Bearer {token}"}
            device = ""
            if group == "push":
                device = f"drill-fcm-{phone[1:]}-{uuid.uuid4().hex[:12]}"
                r = await c.post("/api/v1/devices", json={"token": device, "platform": "android"}, headers=h)
                r.raise_for_status()
            if group == "sms":
                r = await c.put(
                    "/api/v1/citizens/me/channels",
                    json={"choices": [{"channel": "zns", "enabled": False}]},
                    headers=h,
                )
                r.raise_for_status()
            out[group].append((token, device))
    return out


async def _reads(
    c: httpx.AsyncClient, where: dict[str, Any], until: float, into: list[float], codes: Counter[int]
) -> None:
    """Public reads (a home's windows) one after another until ``until``: latencies in ms."""
    while time.monotonic() < until:
        began = time.perf_counter()
        try:
            status = (await c.get("/api/v1/slots", params=where)).status_code
        except httpx.TransportError:
            status = 0
        into.append((time.perf_counter() - began) * 1000)
        codes[status] += 1
        await asyncio.sleep(0.05)


def _p(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100)[q - 1]


async def _mine(url: str, since: str) -> list[dict[str, Any]]:
    """The drill's notices (booking confirmations of its citizens since ``since``) with their fallback rows."""
    phones = ", ".join(f"'{p}'" for ps in GROUPS.values() for p in ps)  # the drill's phones, all groups
    return await common.fetch(
        url,
        f"""SELECT n.id AS nid, n.status AS push_status, n.attempts AS push_attempts, c.phone AS phone,
                   d.id AS did, d.channel AS channel, d.status AS d_status, d.attempts AS d_attempts
            FROM notification n JOIN citizen c ON c.id = n.recipient_id
            LEFT JOIN channel_delivery d ON d.notification_id = n.id AND d.status NOT IN ('skipped', 'suppressed')
            WHERE n.template = 'appointment.booked' AND c.phone IN ({phones}) AND n.created_at > '{since}'""",  # noqa: S608 - the drill's own phones and a time read from the database
    )


def _settled(rows: list[dict[str, Any]], group_of: dict[str, str]) -> bool:
    for r in rows:
        group = group_of[r["phone"]]
        if group == "push" and r["push_status"] != "sent":
            return False
        if group != "push" and (r["channel"] != group or r["d_status"] not in ("sent", "delivered")):
            return False
    return bool(rows)


async def run_on(
    url: str, outage_s: float = 60.0, retry_after: int = 10, bookings: int = 36, channels: bool | None = None
) -> common.Outcome:
    """``channels``: include the Zalo and SMS groups (default: unless it is quiet hours in Vietnam, 21:00-07:00,
    when SMS and Zalo wait for 07:00 by policy and only push can be drilled)."""
    if channels is None:
        channels = not in_quiet_hours(utcnow())
    active = GROUPS if channels else {"push": GROUPS["push"]}
    ca = TestCA()
    fcm = FakeFcm(project_id="hoso-drill", ca=ca).start()
    proxy = ConnectProxy(fcm.routes).start()
    esms = FakeEsms().start()
    zalo = FakeZalo(templates={TEMPLATE: ("start", "post_office")}).start()
    tmp = Path(tempfile.mkdtemp(prefix="drill-providers-"))
    sa = fcm.write_service_account(tmp)
    group_of = {p: g for g, ps in active.items() for p in ps}
    dispatcher: subprocess.Popen[bytes] | None = None
    log = tmp / "dispatch.log"
    try:
        env = _env(fcm, proxy, ca, esms, zalo, sa)
        with common.serving(url, 2, None, **env) as service:
            dispatcher = await asyncio.to_thread(_start_dispatcher, service.env, log)
            await _started(dispatcher, log)
            async with httpx.AsyncClient(base_url=service.base, timeout=30) as c:
                groups = await _setup(c, active)
                places = await common.homes(url)
                tokens = [t for g in groups.values() for t, _ in g]
                burst = await common.burst(c, places, tokens, bookings)
                lat, lon = places[0]
                where = {"kind": "pickup", "lat": lat, "lon": lon}
                backlog_left = await _drain(url, 180)
                # Before: the API's reads while the providers are well.
                base_lat: list[float] = []
                base_codes: Counter[int] = Counter()
                await _reads(c, where, time.monotonic() + 10, base_lat, base_codes)
                # The notices the drill makes are those written after the newest one so far.
                newest = (await common.fetch(url, "SELECT max(created_at) AS t FROM notification"))[0]["t"]
                since_s = str(newest) if newest is not None else "1970-01-01"
                hits_before = (len(fcm.requests), len(esms.hits), len(zalo.hits))

                for fake in (fcm, esms, zalo):
                    fake.outage(outage_s, retry_after)
                began = time.monotonic()
                ends = began + outage_s
                out_lat: list[float] = []
                out_codes: Counter[int] = Counter()
                reads = asyncio.ensure_future(_reads(c, where, ends, out_lat, out_codes))
                # Each citizen in turn, spread over the first two thirds of the outage.
                answers: list[int | str] = []
                book_ms: list[float] = []
                spacing = outage_s * 2 / 3 / max(1, bookings)
                for i, (_, key, body) in enumerate(burst.requests):
                    token = tokens[i % len(tokens)]
                    t = time.perf_counter()
                    answers.append(await common.book(c, token, key, body))
                    book_ms.append((time.perf_counter() - t) * 1000)
                    await asyncio.sleep(max(0.0, began + (i + 1) * spacing - time.monotonic()))
                await reads
                # After: wait until every notice is delivered (or the dispatchers gave up).
                limit = time.monotonic() + 8 * outage_s + 120
                rows = await _mine(url, since_s)
                while not _settled(rows, group_of) and time.monotonic() < limit:
                    await asyncio.sleep(1)
                    rows = await _mine(url, since_s)
                recovered_s = time.monotonic() - ends
    finally:
        if dispatcher is not None:
            await asyncio.to_thread(_stop, dispatcher)
        proxy.stop()
        fcm.stop()
        esms.stop()
        zalo.stop()
    return _judge(
        rows=rows,
        group_of=group_of,
        groups={g: [d for _, d in v] for g, v in groups.items()},
        fcm=fcm,
        esms=esms,
        zalo=zalo,
        hits_before=hits_before,
        window=(began, ends),
        answers=answers,
        figures_in={
            "outage_s": outage_s,
            "retry_after_s": retry_after,
            "backlog_left_before": backlog_left,
            "after_outage_all_settled_s": round(recovered_s, 1),
            "read_p50_ms_before": round(_p(base_lat, 50), 1),
            "read_p99_ms_before": round(_p(base_lat, 99), 1),
            "read_p50_ms_outage": round(_p(out_lat, 50), 1),
            "read_p99_ms_outage": round(_p(out_lat, 99), 1),
            "booking_p50_ms_outage": round(_p(book_ms, 50), 1),
            "booking_p99_ms_outage": round(_p(book_ms, 99), 1),
        },
        read_codes=base_codes + out_codes,
        log=log,
        keep=tmp,
    )


def _judge(
    *,
    rows: list[dict[str, Any]],
    group_of: dict[str, str],
    groups: dict[str, list[str]],
    fcm: FakeFcm,
    esms: FakeEsms,
    zalo: FakeZalo,
    hits_before: tuple[int, int, int],
    window: tuple[float, float],
    answers: list[int | str],
    figures_in: dict[str, Any],
    read_codes: Counter[int],
    log: Path,
    keep: Path,
) -> common.Outcome:
    began, ends = window
    outage_s = ends - began
    for r in rows:  # SQLite keeps ids as 32 hex digits; the push message carries the dashed form
        r["nid"] = str(uuid.UUID(str(r["nid"])))
    nids = {r["nid"] for r in rows}
    push_nids = {r["nid"] for r in rows if group_of[r["phone"]] == "push"}
    device_of = {p: d for p, d in zip(GROUPS["push"], groups["push"], strict=True)}
    expected_pairs = {(r["nid"], device_of[r["phone"]]) for r in rows if group_of[r["phone"]] == "push"}
    dids = {
        g: {uuid.UUID(str(r["did"])).hex for r in rows if r["channel"] == g and r["did"]}
        for g in ("zns", "sms")
    }

    fcm_reqs = [r for r in fcm.requests[hits_before[0] :] if r.nid in push_nids]
    sms_hits = [h for h in esms.hits[hits_before[1] :] if h[2] in dids["sms"]]
    zns_hits = [h for h in zalo.hits[hits_before[2] :] if h[2] in dids["zns"]]
    in_window = lambda t: began <= t < ends  # noqa: E731
    per_push = Counter(r.nid for r in fcm_reqs if in_window(r.at))
    per_sms = Counter(h[2] for h in sms_hits if in_window(h[0]))
    per_zns = Counter(h[2] for h in zns_hits if in_window(h[0]))
    push_bound = attempt_bound(outage_s, PUSH_BACKOFF_BASE_S) * FCM_REQUESTS_PER_ATTEMPT
    channel_bound = attempt_bound(outage_s, CHANNEL_BACKOFF_BASE_S)

    acked = {p: n for p, n in fcm.acknowledged_pairs().items() if p[0] in push_nids}
    sms_sent = Counter(s.request_id for s in esms.sent if s.request_id in dids["sms"])
    zns_sent = Counter(s.tracking_id for s in zalo.sent if s.tracking_id in dids["zns"])
    booked = sum(1 for a in answers if a == 201)
    delivered = {
        "push": set(acked) == expected_pairs and all(v == 1 for v in acked.values()),
        "sms": set(sms_sent) == dids["sms"] and all(v == 1 for v in sms_sent.values()),
        "zns": set(zns_sent) == dids["zns"] and all(v == 1 for v in zns_sent.values()),
    }
    in_groups = Counter(group_of[r["phone"]] for r in rows)
    failed = [r for r in rows if r["push_status"] == "failed" or r["d_status"] == "failed"]
    fives = sum(n for s, n in read_codes.items() if s >= 500 or s == 0) + sum(
        1 for a in answers if not isinstance(a, int) or a >= 500
    )
    fast = figures_in["read_p99_ms_outage"] <= max(500.0, 3 * figures_in["read_p99_ms_before"])
    bounded = (
        max(per_push.values(), default=0) <= push_bound
        and max(per_sms.values(), default=0) <= channel_bound
        and max(per_zns.values(), default=0) <= channel_bound
    )
    # The dispatchers' own count of tries (claims) per notice, the last one the success after the outage.
    attempts = {
        g: [
            int(r["push_attempts"] if g == "push" else r["d_attempts"] or 0)
            for r in rows
            if group_of[r["phone"]] == g
        ]
        for g in groups
    }
    most = {g: max(v, default=0) for g, v in attempts.items()}
    bounds = {
        g: attempt_bound(outage_s, PUSH_BACKOFF_BASE_S if g == "push" else CHANNEL_BACKOFF_BASE_S) + 1
        for g in groups
    }
    bounded = bounded and all(most[g] <= bounds[g] for g in groups)
    tried = all(most[g] >= 2 for g in groups)  # the outage really met every sender: each had a failed try
    passed = (
        booked > 0
        and len(nids) == booked
        and all(in_groups[g] > 0 for g in groups)
        and all(delivered.values())
        and not failed
        and bounded
        and tried
        and fives == 0
        and fast
    )
    if passed:
        with contextlib.suppress(OSError):
            log.unlink()
            for f in keep.iterdir():
                f.unlink()
            keep.rmdir()
    observed = (
        f"{booked} booked ({dict(in_groups)} notices by push/ZNS/SMS); requests per notice during the outage "
        f"max push {max(per_push.values(), default=0)} (bound {push_bound}: {FCM_REQUESTS_PER_ATTEMPT} "
        f"per attempt), ZNS {max(per_zns.values(), default=0)}, SMS {max(per_sms.values(), default=0)} "
        f"(bound {channel_bound}); tries per notice in all {most} (bound {bounds}); delivered once: {delivered}; failed {len(failed)}; API 5xx {fives}; "
        f"reads p99 {figures_in['read_p99_ms_before']} -> {figures_in['read_p99_ms_outage']} ms"
        + ("" if passed else f" (dispatcher log {log})")
    )
    return common.Outcome(
        drill="7 providers 500/429",
        done=f"FCM, eSMS and Zalo answer 500 and 429 (Retry-After {figures_in['retry_after_s']} s) in turn for "
        f"{outage_s:.0f} s while {len(answers)} bookings are made; then they recover",
        expected="API as fast as before, no 5xx; attempts per notice within the backoff's bound; every notice "
        "delivered exactly once after recovery, none failed",
        observed=observed,
        passed=passed,
        figures={
            **figures_in,
            "notices": len(nids),
            "requests_in_outage": {
                "push": sum(per_push.values()),
                "zns": sum(per_zns.values()),
                "sms": sum(per_sms.values()),
            },
            "without_backoff_would_be_about": int(outage_s) * len(nids),
        },
    )


async def run() -> common.Outcome:
    async with common.database() as (url, _):
        return await run_on(url)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    print(asyncio.run(run()))
