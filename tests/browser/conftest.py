"""A real server and a real browser: uvicorn on 127.0.0.1 (free port) in a background thread, against a fresh
SQLite database (migrations + reference data + demo province), driven by Debian's headless Chromium through
Playwright. ``scripts/ensure_browser.py`` installs Chromium; these tests fail (not skip) without it."""

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DEMO_PASSWORD, create_database

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _prepare(tmp: Path) -> str:
    from backend.db import make_engine, session_factory
    from backend.demo.province import seed_province
    from backend.demo.reference import load_reference

    url, _drop = await create_database("sqlite", tmp)
    engine = make_engine(url)
    factory = session_factory(engine)
    async with factory() as session:
        await load_reference(session)
    async with factory() as session:
        await seed_province(session, password=DEMO_PASSWORD, citizens=40)
        await session.commit()
    await engine.dispose()
    return url


class LiveServer:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=60)
        self.database_url = ""  # the server's database, for tests that write rows no API writes (plans)
        self._tokens: dict[str, str] = {}

    def staff(self, username: str) -> dict[str, str]:
        if username not in self._tokens:
            r = self.http.post(
                "/api/v1/auth/staff/login", json={"username": username, "password": DEMO_PASSWORD}
            )
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[username]}"}

    def citizen(self, phone: str) -> dict[str, str]:
        if phone not in self._tokens:
            r = self.http.post("/api/v1/auth/citizen/verify", json={"phone": phone, "code": "123456"})
            assert r.status_code == 200, r.text
            self._tokens[phone] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[phone]}"}


@pytest.fixture(scope="package")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import uvicorn

    from backend.app import create_app
    from backend.settings import Settings

    tmp = tmp_path_factory.mktemp("browser-db")
    # In a thread of its own: asyncio.run here would reset this thread's event loop under pytest-asyncio.
    prepared: list[str] = []
    seeder = threading.Thread(target=lambda: prepared.append(asyncio.run(_prepare(tmp))), name="console-seed")
    seeder.start()
    seeder.join()
    assert prepared, "preparing the browser tests' database failed (see the log above)"
    url = prepared[0]
    app = create_app(Settings(database_url=url, upload_dir=str(tmp / "uploads")))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="console-uvicorn", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped during start-up"
        assert time.monotonic() < deadline, "uvicorn did not start within 60 s"
        time.sleep(0.05)
    live = LiveServer(base)
    live.database_url = url
    try:
        yield live
    finally:
        live.http.close()
        server.should_exit = True
        thread.join(timeout=20)


# Package scope, not session: while the sync Playwright driver is alive it marks this thread as running an
# event loop, which would break the async tests collected after this folder.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run scripts/ensure_browser.py (make pytest does)"
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(
        viewport=VIEWPORT, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", accept_downloads=True
    )
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        ctx.close()


def sign_in(page: Any, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/console/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-submit")


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
