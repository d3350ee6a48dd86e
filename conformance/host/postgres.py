"""The database's installed extensions, read in a read-only transaction (psycopg)."""

from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict

from conformance.errors import UsageError
from conformance.host import Unreachable
from conformance.redact import hide_quoted, register_url


def check_dsn(dsn: str) -> None:
    """--db-dsn as libpq will parse it. An unparsable DSN is not shown, nor the fragments libpq
    quotes: with ``password=a b`` the fragment is a piece of the password."""
    try:
        conninfo_to_dict(dsn)
    except psycopg.Error as exc:
        hint = "" if "://" in dsn else " (a value with spaces is written in single quotes)"
        raise UsageError(
            f"--db-dsn: not a PostgreSQL connection string: {hide_quoted(_first_line(exc))}{hint}"
        ) from None


def installed_extensions(dsn: str) -> dict[str, str]:
    """Extension name -> version from ``pg_extension``; the session cannot write."""
    register_url(dsn)
    try:
        with psycopg.connect(dsn, connect_timeout=5, autocommit=False) as connection:
            connection.read_only = True
            rows = connection.execute("SELECT extname, extversion FROM pg_extension").fetchall()
            connection.rollback()
    except psycopg.ProgrammingError as exc:  # libpq cannot parse the DSN: not shown, nor its quotes
        raise Unreachable(f"not a connection string: {hide_quoted(_first_line(exc))}") from None
    except (psycopg.Error, ValueError) as exc:  # Unreachable scrubs the DSN libpq may repeat
        raise Unreachable(f"{dsn}: {_first_line(exc)}") from None
    return {str(name): str(version) for name, version in rows}


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
