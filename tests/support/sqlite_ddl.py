"""Schema changes a test makes on a SQLite database, through a fresh connection of its own.

A pooled connection keeps the schema it read; ``DROP TRIGGER IF EXISTS`` run on one that has not seen a trigger
another connection created can find nothing to drop and succeed, leaving the trigger in place (seen: the route
audit test's refusing trigger survived its drop after the booking tests had filled the pool). A new connection
reads the schema from the file, so what it creates or drops is what the file holds.
"""

import sqlite3

from sqlalchemy.ext.asyncio import AsyncEngine


def run_fresh(engine: AsyncEngine, *statements: str) -> None:
    """Run ``statements`` in one transaction on a new connection to ``engine``'s SQLite file."""
    path = engine.url.database
    assert engine.dialect.name == "sqlite" and path, engine.url
    conn = sqlite3.connect(path, timeout=30)
    try:
        with conn:  # commits, or rolls back on error
            for statement in statements:
                conn.execute(statement)
    finally:
        conn.close()
