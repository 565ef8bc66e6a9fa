"""Benchmark: the eSMS adapter against the fake gateway on 127.0.0.1, and the SMS text rules.

    python -m bench.sms [--messages 2000] [--concurrency 1,20]

Sends ``--messages`` sign-in texts through ``EsmsSender`` (one httpx client, keep-alive) to
``bench.fakes.esms_server.FakeEsms`` at each concurrency and prints messages per second; then times
``fit`` + ``segments`` on the sign-in template (what each send adds). The fake gateway is a threaded stdlib
server in this process, so the figures bound the adapter's own cost from above; they depend on the machine and
on whatever else runs on it.
"""

import argparse
import asyncio
import time
import timeit

from bench.fakes.esms_server import FakeEsms
from notifications.sms.esms import EsmsConfig, EsmsSender
from notifications.sms.templates import sign_in_code
from notifications.sms.text import fit, segments


async def _sends(fake: FakeEsms, messages: int, concurrency: int) -> float:
    sender = EsmsSender(EsmsConfig(fake.api_key, fake.secret_key, fake.brandname, base_url=fake.base_url))
    text = fit(sign_in_code("123456", 300), unicode=False, max_segments=1)
    queue = iter(range(messages))

    async def worker() -> None:
        for n in queue:
            result = await sender.send("+84912345678", text, request_id=f"b{concurrency}-{n}", unicode=False)
            assert result.outcome.value == "sent", result

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await sender.aclose()
    return messages / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", default="1,20")
    args = parser.parse_args()
    fake = FakeEsms().start()
    try:
        for c in (int(x) for x in args.concurrency.split(",")):
            rate = asyncio.run(_sends(fake, args.messages, c))
            print(f"esms adapter -> fake gateway, concurrency {c}: {rate:,.0f} messages/s")
    finally:
        fake.stop()
    n = 20_000
    per = timeit.timeit(
        lambda: segments(fit(sign_in_code("123456", 300), unicode=False, max_segments=1)), number=n
    )
    print(f"sign-in text (unaccent + segment count): {per / n * 1e6:.1f} µs per message")


if __name__ == "__main__":
    main()
