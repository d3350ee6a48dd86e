"""The database's installed extensions, read in a read-only transaction (psycopg)."""

from __future__ import annotations

import psycopg

from conformance.host import Unreachable, redact


def installed_extensions(dsn: str) -> dict[str, str]:
    """Extension name -> version from ``pg_extension``; the session cannot write."""
    try:
        with psycopg.connect(dsn, connect_timeout=5, autocommit=False) as connection:
            connection.read_only = True
            rows = connection.execute("SELECT extname, extversion FROM pg_extension").fetchall()
            connection.rollback()
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Unreachable(f"{redact(dsn)}: {reason}") from None
    return {str(name): str(version) for name, version in rows}
