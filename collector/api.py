"""The public Python API of the collector: phoebe (PostgreSQL) and iris (ChromaDB) for other tools.

Training, visualisation and the management portal reach phoebe and iris only through this module::

    from collector.api import Phoebe, open_iris

    with Phoebe.connect() as phoebe:                    # same DSN rules as the CLI, pooled
        phoebe.write_message(to="nimmerverse", message_type="research_direction", message="probe Dasein")
        for m in phoebe.read_messages(to="partnership", limit=5):
            print(m.timestamp, m.message_type, m.message)
        session = phoebe.sessions(limit=1)[0]
        runs = phoebe.runs(session.session_id)

    iris = open_iris()                                   # $IRIS_URL, else the embedded store
    hits = iris.similar(model_name, vector, k=10)

Everything that goes in or comes out is a pydantic model; failures raise the collector's own
exceptions (``collector.core.errors``), each with a one-line message.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from collector.iris.chroma import ChainHit, Iris
from collector.db.store import Store

Direction = Literal["nimmerverse", "partnership"]

__all__ = ["ChainHit", "Direction", "Iris", "Message", "NewMessage", "Phoebe", "RunInfo", "SessionInfo",
           "open_iris"]


class NewMessage(BaseModel):
    """A message to write: direction, type (the database checks it against the direction) and text."""

    model_config = ConfigDict(frozen=True)

    to: Direction
    message_type: str = Field(min_length=1, max_length=50)
    message: str

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the message is blank")
        return value


class Message(BaseModel):
    """A stored message of one direction."""

    model_config = ConfigDict(frozen=True)

    id: int
    timestamp: datetime
    message: str
    message_type: str


class SessionInfo(BaseModel):
    """A collection session with its runs stored so far."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    session_id: uuid.UUID
    term: str
    model_name: str
    status: str
    runs_requested: int
    runs_stored: int
    started_at: datetime
    finished_at: datetime | None
    temperature: float
    seed: int


class RunInfo(BaseModel):
    """One stored run."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    session_id: uuid.UUID
    run_number: int
    term: str
    depth: int
    rounds: int
    echo_types: list[str]
    chain: list[str]
    seed: int


class Phoebe:
    """Access to phoebe through a small connection pool (or one given Store)."""

    def __init__(self, dsn: str | None = None, *, pool=None, store: Store | None = None):
        self.dsn = dsn
        self._pool = pool
        self._store = store

    @classmethod
    def connect(cls, dsn: str | None = None, *, max_size: int = 4) -> Phoebe:
        """Open a pool on ``dsn``, else ``$PHOEBE_DSN``, else the PG* variables, else the embedded server."""
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        from collector.db.connect import resolve
        from collector.db.dsn import describe_dsn
        from collector.core.errors import DatabaseError

        resolved, _note = resolve(dsn)
        with Store.connect(resolved):  # fail fast, with the store's one-line message
            pass
        pool = ConnectionPool(resolved, min_size=1, max_size=max_size, open=False,
                              kwargs={"autocommit": True, "row_factory": dict_row})
        try:
            pool.open(wait=True, timeout=10)
        except Exception as exc:  # noqa: BLE001 - PoolTimeout and friends
            raise DatabaseError(f"cannot open a connection pool to {describe_dsn(resolved)}: {exc}") from None
        return cls(resolved, pool=pool)

    @classmethod
    def from_store(cls, store: Store) -> Phoebe:
        """Wrap one open Store (the CLI's connection)."""
        return cls(store.dsn, store=store)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> Phoebe:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _use(self) -> Iterator[Store]:
        if self._store is not None:
            yield self._store
            return
        with self._pool.connection() as conn:
            yield Store(conn, self.dsn)

    # -- messages -------------------------------------------------------------------------

    def write_message(self, new: NewMessage | None = None, /, **fields) -> Message:
        """Store a message: ``write_message(NewMessage(...))`` or ``write_message(to=..., message_type=...,
        message=...)``. A type the database does not allow for that direction raises InputError."""
        from collector.core.errors import InputError

        try:
            new = new or NewMessage(**fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "message"
            raise InputError(f"invalid message ({where}): {first['msg']}") from None
        with self._use() as store:
            return Message(**store.write_message(new.to, new.message_type, new.message))

    def read_messages(self, *, to: Direction, limit: int = 5) -> list[Message]:
        """The ``limit`` latest messages to ``to``, newest first."""
        with self._use() as store:
            return [Message(**row) for row in store.read_messages(to, limit)]

    # -- sessions and runs ----------------------------------------------------------------

    def sessions(self, limit: int = 50) -> list[SessionInfo]:
        """The newest sessions, newest first."""
        with self._use() as store:
            return [SessionInfo(**row) for row in store.list_sessions(limit)]

    def runs(self, session_id: uuid.UUID | str) -> list[RunInfo]:
        """Every run of a session, by run number."""
        with self._use() as store:
            return [RunInfo(**row) for row in store.fetch_runs(session_id)]


def open_iris(server: str | None = None) -> Iris:
    """iris: a ChromaDB server (``server`` or ``$IRIS_URL``), else the embedded store in the data dir."""
    return Iris.open(server)
