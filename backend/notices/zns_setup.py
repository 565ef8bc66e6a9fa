"""The Zalo ZNS sender as the settings configure it (issue 22), for the channel dispatcher
(``backend/notices/worker.py``) to add beside SMS: ``ZnsChannel(zns_sender(engine, settings), config,
settings.zns_template_ids())`` when ``settings.zns_enabled``."""

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.settings import Settings
from notifications.zns import OAuthConfig, ZnsConfig, ZnsSender


def zns_sender(engine: AsyncEngine, settings: Settings) -> ZnsSender:
    """Tokens shared by every process through ``zns_token`` on ``engine``; the caller closes it (``aclose``)."""
    if not settings.zns_enabled:
        raise ValueError("ZNS is not configured (ZNS_APP_ID)")
    oauth = OAuthConfig(
        settings.zns_app_id,
        settings.zns_secret_key,
        oauth_url=settings.zns_oauth_url,
        timeout_s=settings.zns_timeout_s,
    )
    config = ZnsConfig(
        base_url=settings.zns_base_url, timeout_s=settings.zns_timeout_s, development=settings.zns_development
    )
    return ZnsSender.with_store(engine, oauth, settings.zns_refresh_token, config)
