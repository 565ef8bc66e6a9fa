"""The Official Account's access token, refreshed with a single-use, rotating refresh token.

Protocol, as Zalo documents it ("Xác thực và ủy quyền cho ứng dụng",
https://developers.zalo.me/docs/official-account/bat-dau/xac-thuc-va-uy-quyen-cho-ung-dung-new; the same request
step by step at https://www.hexasync.vn/zalo-oa-api-huong-dan-cach-lay-access-token-tu-refresh-token/):
``POST https://oauth.zaloapp.com/v4/oa/access_token`` with the header ``secret_key: <app secret>`` and the form
fields ``refresh_token``, ``app_id`` and ``grant_type=refresh_token``, answered with ``{"access_token": ...,
"refresh_token": ..., "expires_in": "90000"}`` (seconds, as a string: 25 h). A refresh token works ONCE (valid
three months): the answer carries the next one, and the old one is refused from then on. An error answer
carries ``error`` (a negative number) with ``error_name`` / ``error_description``.

So the refresh token is state shared by every process, kept in ``zns_token`` (``schemas/zns.py``), and only one
process may spend it: a process takes a short lease on the row (a compare-and-swap on ``version`` and an
expired or empty lease, one UPDATE, so it works the same on SQLite and PostgreSQL), calls Zalo, and writes the
new pair with ``version + 1`` in one UPDATE guarded by the version it read (committed before the access token
is used). The others wait for the version to move and use the token it brought. The docs are silent on what a
timed-out refresh did: if Zalo spent the token but the answer was lost, the OA must be authorised again (the
operator sets ``ZNS_REFRESH_TOKEN`` anew, which seeds a fresh row only when the app has none: see ``reseed``).
"""

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from schemas.base import utcnow
from schemas.zns import ZnsToken

OAUTH_PATH = "/v4/oa/access_token"
REFUSED_PAUSE = timedelta(seconds=60)  # after a refusal, fail at once for this long instead of asking again
DEFAULT_EXPIRES_S = 90_000  # 25 h, when an answer omits expires_in (the docs say 25 h)
_T = ZnsToken.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Token:
    access_token: str
    version: int
    expires_at: datetime


class TokenError(Exception):
    """No usable access token: ``retry`` if trying later may help (Zalo's OAuth server unreachable, another
    process still refreshing), else the refresh token was refused and the OA must be authorised again."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True, slots=True)
class OAuthConfig:
    app_id: str
    secret_key: str  # the Zalo app's secret key (header ``secret_key``)
    oauth_url: str = "https://oauth.zaloapp.com"
    timeout_s: float = 10.0


class TokenStore:
    """Access tokens for one Zalo app, shared through the database by every process."""

    def __init__(
        self,
        engine: AsyncEngine,
        config: OAuthConfig,
        initial_refresh_token: str,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = utcnow,
        margin_s: float = 300.0,
        poll_s: float = 0.05,
    ) -> None:
        self.engine, self.config, self.clock = engine, config, clock
        self.initial_refresh_token = initial_refresh_token
        self.margin = timedelta(seconds=margin_s)
        self.lease = timedelta(seconds=2 * config.timeout_s + 5)  # longer than one refresh request
        self.poll_s = poll_s
        self.owner = uuid.uuid4().hex
        self._client = client or httpx.AsyncClient(timeout=config.timeout_s)
        self._cached: Token | None = None
        self._lock = asyncio.Lock()  # one refresh attempt at a time within this process
        self._seed_tried = False  # ZNS_REFRESH_TOKEN tried once after a refusal (``_spend``)
        self._refused: tuple[int, datetime] | None = None  # the version Zalo refused, and when

    def _fresh(self, token: Token | None) -> bool:
        return (
            token is not None and bool(token.access_token) and token.expires_at - self.margin > self.clock()
        )

    async def current(self) -> Token:
        """A valid access token: this process's copy, else the database's, else a refreshed one."""
        if self._fresh(self._cached):
            assert self._cached is not None
            return self._cached
        async with self._lock:
            row = await self._read()
            if self._fresh(row):
                self._cached = row
                return row  # type: ignore[return-value]
            return await self._renew(row.version if row is not None else 0)

    async def refresh(self, stale: Token) -> Token:
        """Zalo refused ``stale``: a new token, unless another process already brought one."""
        async with self._lock:
            if (
                self._cached is not None
                and self._cached.version != stale.version
                and self._fresh(self._cached)
            ):
                return self._cached
            self._cached = None
            return await self._renew(stale.version)

    async def _read(self) -> Token | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(_T.c.access_token, _T.c.version, _T.c.access_expires_at).where(
                        _T.c.app_id == self.config.app_id
                    )
                )
            ).one_or_none()
        if row is None:
            return None
        return Token(row.access_token, row.version, row.access_expires_at or datetime.min.replace(tzinfo=UTC))

    async def reseed(self) -> None:
        """Write the row from ``initial_refresh_token`` if the app has none (the first start)."""
        if not self.initial_refresh_token:
            raise TokenError("no ZNS refresh token configured", retry=False)
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(_T).values(
                        app_id=self.config.app_id,
                        access_token="",
                        refresh_token=self.initial_refresh_token,
                        version=0,
                        updated_at=self.clock(),
                    )
                )
        except IntegrityError:
            pass  # another process wrote it first

    async def _claim(self, version: int) -> str | None:
        """Take the lease on the row at ``version``; the refresh token to spend, or None."""
        now = self.clock()
        async with self.engine.begin() as conn:
            got = (
                await conn.execute(
                    update(_T)
                    .where(
                        and_(
                            _T.c.app_id == self.config.app_id,
                            _T.c.version == version,
                            or_(_T.c.lease_until.is_(None), _T.c.lease_until < now),
                        )
                    )
                    .values(lease_owner=self.owner, lease_until=now + self.lease)
                    .returning(_T.c.refresh_token)
                )
            ).one_or_none()
        return None if got is None else str(got.refresh_token)

    async def _release(self, version: int, error: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(_T)
                .where(
                    _T.c.app_id == self.config.app_id, _T.c.version == version, _T.c.lease_owner == self.owner
                )
                .values(lease_owner=None, lease_until=None, last_error=error[:200], updated_at=self.clock())
            )

    async def _store(self, version: int, access: str, refresh: str, expires_in: int) -> Token:
        now = self.clock()
        token = Token(access, version + 1, now + timedelta(seconds=expires_in))
        async with self.engine.begin() as conn:
            await conn.execute(
                update(_T)
                .where(_T.c.app_id == self.config.app_id, _T.c.version == version)
                .values(
                    access_token=access,
                    refresh_token=refresh,
                    access_expires_at=token.expires_at,
                    version=token.version,
                    lease_owner=None,
                    lease_until=None,
                    last_error=None,
                    updated_at=now,
                )
            )
        return token

    async def _renew(self, version: int) -> Token:
        deadline = self.clock() + self.lease * 2
        while True:
            row = await self._read()
            if row is None:
                await self.reseed()
                continue
            if row.version != version and self._fresh(row):
                self._cached = row
                return row  # another process refreshed meanwhile
            version = row.version
            refused = self._refused
            if refused is not None and refused[0] == version and self.clock() - refused[1] < REFUSED_PAUSE:
                # Zalo refused this refresh token a moment ago: not again for every message.
                raise TokenError("Zalo OAuth refused the refresh token (recently)", retry=False)
            refresh_token = await self._claim(version)
            if refresh_token is not None:
                token = await self._spend(version, refresh_token)
                self._cached = token
                return token
            if self.clock() > deadline:
                raise TokenError("another process holds the ZNS token refresh", retry=True)
            await asyncio.sleep(self.poll_s)

    async def _call(self, refresh_token: str) -> tuple[dict[str, Any] | None, str, bool]:
        """One refresh request: (the answer with the new pair, or None; the error; whether to retry later)."""
        c = self.config
        try:
            r = await self._client.post(
                c.oauth_url.rstrip("/") + OAUTH_PATH,
                headers={"secret_key": c.secret_key},
                data={"refresh_token": refresh_token, "app_id": c.app_id, "grant_type": "refresh_token"},
            )
        except httpx.TransportError as exc:
            return None, f"transport: {type(exc).__name__}", True
        try:
            answer = r.json() if r.status_code < 500 else {}
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if r.status_code == 200 and answer.get("access_token") and answer.get("refresh_token"):
            return answer, "", False
        error = f"HTTP {r.status_code} {answer.get('error', '')}: {answer.get('error_description', '')}"
        return None, error, r.status_code == 429 or r.status_code >= 500

    async def _spend(self, version: int, refresh_token: str) -> Token:
        """Call Zalo with the leased refresh token; store the new pair before anyone uses it. If Zalo refuses
        it, the configured ``ZNS_REFRESH_TOKEN`` is tried once per process when it differs: an operator who
        authorised the OA again sets the new token and restarts, and the first refresh picks it up."""
        answer, error, retry = await self._call(refresh_token)
        seed = self.initial_refresh_token
        if answer is None and not retry and not self._seed_tried and seed and seed != refresh_token:
            self._seed_tried = True
            answer, error, retry = await self._call(seed)
        if answer is not None:
            try:
                expires_in = int(float(answer.get("expires_in") or DEFAULT_EXPIRES_S))
            except (TypeError, ValueError):
                expires_in = DEFAULT_EXPIRES_S
            return await self._store(
                version, str(answer["access_token"]), str(answer["refresh_token"]), expires_in
            )
        await self._release(version, error)
        if retry:
            raise TokenError(f"Zalo OAuth unavailable: {error}"[:200], retry=True)
        self._refused = (version, self.clock())
        raise TokenError(f"Zalo OAuth refused the refresh token: {error}"[:200], retry=False)

    async def aclose(self) -> None:
        await self._client.aclose()
