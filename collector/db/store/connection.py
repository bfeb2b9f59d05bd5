"""The owner of the store's one connection: connecting, the error wrapping every family uses
(psycopg errors become ``DatabaseError`` here, once), the named-query helpers, and migrations.

The connection is in autocommit mode: every call is its own transaction unless a family opens one
(``self.conn.transaction()``) for writes that must land together.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any, Self

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from collector.core.errors import DatabaseError, InputError, RunsAlreadyStored
from collector.db.dsn import describe_dsn, validate_dsn
from collector.db.store.errors import _describe_violation, _first_line, short_reason
from collector.db.store.files import CONNECT_TIMEOUT_S, _q, migrations_dir, yoyo_url

__all__ = ["Connection"]

log = logging.getLogger(__name__)

APPLICATION_NAME = "nyx-collector"
MIGRATION_LOCK_TIMEOUT_S = 120


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        raise InputError(f"not a session id: {str(value)[:60]!r}") from None


def _text(value: str) -> str:
    """PostgreSQL text cannot hold NUL; a model may produce one. Stored as U+FFFD instead."""
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _copy_value(value: Any) -> Any:
    """A record's value as COPY takes it: enums by value, text without NUL."""
    if isinstance(value, Enum):
        return value.value
    return _text(value) if isinstance(value, str) else value


def _jsonb(value: dict[str, Any] | None) -> Jsonb | None:
    """A judge's settings as a jsonb parameter (None stays NULL)."""
    return None if value is None else Jsonb(value)


class Connection:
    """The owner of one connection to the collector's database: every table family subclasses it,
    and ``collector.db.store.Store`` combines them. Use ``Store.connect(dsn)``, ideally in ``with``."""

    def __init__(self, conn: psycopg.Connection, dsn: str):
        self.conn = conn
        self.dsn = dsn

    # -- connection -----------------------------------------------------------------------

    @classmethod
    def connect(cls, dsn: str) -> Self:
        """Connect to ``dsn`` ("" = libpq reads the PG* variables); DatabaseError if that fails."""
        params = validate_dsn(dsn) if dsn.strip() else {}
        kwargs: dict[str, Any] = {}
        if "connect_timeout" not in params and not os.environ.get("PGCONNECT_TIMEOUT"):
            kwargs["connect_timeout"] = CONNECT_TIMEOUT_S
        if "application_name" not in params and not os.environ.get("PGAPPNAME"):
            kwargs["application_name"] = APPLICATION_NAME
        try:
            conn = psycopg.connect(dsn, autocommit=True, row_factory=dict_row, **kwargs)
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot connect to PostgreSQL at {describe_dsn(dsn)}: {short_reason(exc)}") from exc
        return cls(conn, dsn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def where(self) -> str:
        return describe_dsn(self.dsn)

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn any psycopg error raised inside into one DatabaseError ``<action>: <reason>``."""
        try:
            yield
        except UnicodeEncodeError as exc:  # a lone surrogate: text that came from invalid UTF-8
            raise InputError(f"{action}: a text is not valid UTF-8 ({exc.reason})") from None
        except pg_errors.UniqueViolation as exc:
            error = RunsAlreadyStored if exc.diag.constraint_name == "runs_session_run_number_key" else DatabaseError
            raise error(f"{action}: {_describe_violation(exc)}") from exc
        except psycopg.errors.IntegrityError as exc:
            raise DatabaseError(f"{action}: {_describe_violation(exc)}") from exc
        except psycopg.OperationalError as exc:
            if self.conn.closed or self.conn.broken:
                raise DatabaseError(f"{action}: lost the connection to PostgreSQL at {self.where}: {short_reason(exc)}") from exc
            raise DatabaseError(f"{action}: {_first_line(str(exc))}") from exc
        except psycopg.errors.UndefinedTable as exc:
            raise DatabaseError(
                f"{action}: {_first_line(exc.diag.message_primary or str(exc))} (run the migrations first)"
            ) from exc
        except psycopg.Error as exc:
            raise DatabaseError(f"{action}: {_first_line(str(exc)) or type(exc).__name__}") from exc

    def _one(self, name: str, params: dict[str, Any], action: str) -> dict[str, Any] | None:
        with self._errors(action), self.conn.cursor() as cur:
            cur.execute(_q(name), params)
            return cur.fetchone()

    def _all(self, name: str, params: dict[str, Any], action: str) -> list[dict[str, Any]]:
        with self._errors(action), self.conn.cursor() as cur:
            cur.execute(_q(name), params)
            return cur.fetchall()

    # -- migrations -----------------------------------------------------------------------

    def migrate(self, directory: Path | None = None) -> list[str]:
        """Apply every pending migration; return the ids applied ([] when already up to date).

        Concurrent migrators on one database wait for each other (an advisory lock on this
        connection, and yoyo's own lock), so each migration is applied once.
        """
        from yoyo import get_backend, read_migrations
        from yoyo.exceptions import LockTimeout

        directory = directory or migrations_dir()
        if not directory.is_dir():
            raise DatabaseError(f"migrations directory not found: {directory}")
        action = f"cannot migrate the database at {self.where}"
        with self._errors(action):
            self.conn.execute(_q("migrate_lock"))
        try:
            migrations = read_migrations(str(directory))
            try:
                backend = get_backend(yoyo_url(self.dsn))
            except psycopg.Error as exc:
                raise DatabaseError(f"{action}: {short_reason(exc)}") from exc
            try:
                with self._errors(action), backend.lock(timeout=MIGRATION_LOCK_TIMEOUT_S):
                    self._refuse_newer_schema(backend, migrations, action)
                    pending = backend.to_apply(migrations)
                    ids = [m.id for m in pending]
                    for migration_id in ids:
                        log.info("applying migration %s", migration_id)
                    backend.apply_migrations(pending)
            except LockTimeout as exc:
                raise DatabaseError(f"{action}: {exc}") from exc
            finally:
                backend.connection.close()
        finally:
            if not self.conn.closed:
                with self._errors(action):
                    self.conn.execute(_q("migrate_unlock"))
        return ids

    def _refuse_newer_schema(self, backend: Any, migrations: Any, action: str) -> None:
        """A database migrated by a newer collector has columns this one would misname: refuse it."""
        known = {m.hash for m in migrations}
        if all(h in known for h in backend.get_applied_migration_hashes()):
            return
        with self._errors(action), self.conn.cursor() as cur:
            applied = [r["migration_id"] for r in cur.execute(_q("applied_migrations")).fetchall()]
        own = {m.id for m in migrations}
        newer = [migration_id for migration_id in applied if migration_id not in own]
        raise DatabaseError(f"{action}: its schema is newer than this collector ({newer[-1]} is not one of its "
                            f"migrations); upgrade nyx-collect")

    @property
    def connection_lost(self) -> bool:
        """Whether the connection is gone (server restarted or unreachable)."""
        return self.conn.closed or self.conn.broken

    def reconnect(self) -> None:
        """Replace a lost connection; DatabaseError while the server is still away."""
        fresh = type(self).connect(self.dsn)
        try:
            self.conn.close()
        except psycopg.Error:
            pass
        self.conn = fresh.conn
