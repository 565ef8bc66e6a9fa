"""What the tests' way to the fake FCM relies on, checked against the libraries themselves.

firebase-admin 7.7's async FCM client ignores ``HTTPS_PROXY`` (its transports mounted for ``https://``
replace the proxies httpx read from the environment), which is why the tests run on ``ProxyingLoop`` and why
the README says FCM sends need direct egress. The first test fails the day firebase-admin honours the
variable: then drop ``ProxyingLoop`` and tell the README that an egress proxy works for FCM too.
"""

import asyncio
import socket
import uuid
from pathlib import Path
from typing import Any

from bench.fakes.fcm_server import FakeFcm
from bench.fakes.proxy import ConnectProxy, ProxyingLoop
from notifications.push import FcmSender, Outcome, PushMessage, PushResult


def _message(token: str) -> PushMessage:
    return PushMessage(
        token=token,
        platform="android",
        notification_id=uuid.uuid4(),
        template="dossier.result_ready",
        title_vi="Đã có kết quả",
        body_vi="Kết quả hồ sơ đã sẵn sàng.",
        title_en="Result ready",
        body_en="The result is ready.",
        deep_link=None,
        collapse_key=None,
        priority="normal",
        data_only=False,
    )


class _NoInternetLoop(asyncio.SelectorEventLoop):
    """asyncio's loop as it is, except that a name lookup other than localhost's is recorded and refused:
    a client that ignored the proxy must not reach the real Google from a test."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups: list[str] = []

    async def getaddrinfo(self, host: Any, port: Any, *args: Any, **kw: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("localhost", "127.0.0.1"):
            self.lookups.append(f"{name}:{port}")
            raise socket.gaierror(socket.EAI_NONAME, f"no name lookups off this machine in tests ({name})")
        return await super().getaddrinfo(host, port, *args, **kw)


def _send_on(loop: asyncio.AbstractEventLoop, service_account: Path, token: str) -> list[PushResult]:
    async def main() -> list[PushResult]:
        sender = FcmSender(str(service_account))
        try:
            return await sender.send([_message(token)])
        finally:
            await sender.aclose()

    with asyncio.Runner(loop_factory=lambda: loop) as runner:
        return runner.run(main())


async def test_firebase_admins_async_client_ignores_https_proxy(
    fcm: FakeFcm, google_proxy: ConnectProxy, service_account: Path
) -> None:
    # HTTPS_PROXY and NO_PROXY are set for this package (conftest.py); on asyncio's own loop the SDK goes
    # for fcm.googleapis.com directly instead of asking the proxy.
    loop = _NoInternetLoop()
    [result] = await asyncio.to_thread(_send_on, loop, service_account, "direct")
    assert google_proxy.tunnels == [], (
        "firebase-admin's async client now honours HTTPS_PROXY: retire ProxyingLoop (bench/fakes/proxy.py) "
        "and say in the README that FCM sends can use an egress proxy"
    )
    assert loop.lookups == ["fcm.googleapis.com:443"]
    assert result.outcome is Outcome.retry and fcm.requests == []
    assert fcm.token_requests == 1  # the OAuth token (requests, to 127.0.0.1: NO_PROXY) was fetched


async def test_proxying_loop_sends_through_the_proxy_and_keeps_local_traffic_direct(
    fcm: FakeFcm, google_proxy: ConnectProxy, service_account: Path
) -> None:
    [result] = await asyncio.to_thread(_send_on, ProxyingLoop(), service_account, "tunnelled")
    assert result.outcome is Outcome.sent
    assert google_proxy.tunnels == ["fcm.googleapis.com:443"]
    assert [r.token for r in fcm.requests] == ["tunnelled"] and fcm.requests[0].protocol == "HTTP/2"
    # A name the proxy has no route for is refused there, never looked up or reached directly.
    refused = await asyncio.to_thread(_connect_error, "oauth2.googleapis.com")
    assert isinstance(refused, ConnectionRefusedError) and "403" in str(refused)
    # (google-auth's background lookup of the service account's regional access boundary at
    # iamcredentials.googleapis.com is refused there too: nothing leaves the machine.)
    assert "CONNECT oauth2.googleapis.com:443" in google_proxy.refused


def _connect_error(host: str) -> OSError | None:
    async def connect() -> OSError | None:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, 443), 10)
        except OSError as exc:
            return exc
        writer.close()
        return None

    with asyncio.Runner(loop_factory=ProxyingLoop) as runner:
        return runner.run(connect())
