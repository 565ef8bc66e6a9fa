"""Alembic migrations: the only way the schema changes (SQLite and PostgreSQL)."""

import asyncio
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

from backend.db import ensure_sqlite_dir

HERE = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    """Built in code (not from alembic.ini) so an installed package migrates too."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations; safe to call from a thread while an event loop runs elsewhere."""
    ensure_sqlite_dir(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


async def upgrade_async(url: str) -> None:
    await asyncio.to_thread(upgrade, url)


logging.getLogger("alembic").setLevel(logging.WARNING)
