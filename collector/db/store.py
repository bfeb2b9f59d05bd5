"""All database access of the collector (psycopg 3). SQL lives in ``collector/db/sql/queries.sql``.

A ``Store`` holds one connection in autocommit mode: every call is its own transaction, and
``write_runs`` commits a batch of runs together with their rounds in one transaction (COPY), so a
run is never stored without its rounds. psycopg errors are turned into ``DatabaseError`` here, once,
with a one-line message that names the constraint a row broke.

Schema migrations (``migrations/*.sql``) are applied with yoyo; see ``Store.migrate``.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import os
import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

import collector
from collector.db.dsn import describe_dsn, mask_dsn, validate_dsn
from collector.core.errors import (DatabaseError, InputError, RunsAlreadyStored, SessionNotFound,
                              UnknownRounds)
from collector.core.records import RunRecord, SessionRecord, SessionStatus

if TYPE_CHECKING:
    from collector.write.glossary import GlossaryEntry

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5
APPLICATION_NAME = "nyx-collector"
MIGRATION_FILE_PATTERN = re.compile(r"^\d{4}_[a-z0-9_]+(\.rollback)?\.sql$")
MIGRATION_LOCK_TIMEOUT_S = 120

_RUN_TYPES = [
    "uuid", "text", "int4", "timestamptz", "int2", "int2", "text[]", "text[]",
    "text", "float8", "int2", "int4", "int8",
]  # fmt: skip
ROUND_COLUMNS: tuple[tuple[str, str], ...] = (
    ("session_id", "uuid"), ("run_number", "int4"),  # of the run
    ("round", "int2"), ("prompt", "text"), ("completion", "text"), ("echo_type", "text"),
    ("tokens_generated", "int4"), ("finish_reason", "text"),
    ("n_words", "int4"), ("distinct_ratio", "float4"), ("nonletter_ratio", "float4"), ("content_words", "int4"),
    ("new_stems", "int4"), ("novelty", "float4"), ("sim_term", "float4"), ("sim_prev", "float4"),
    ("sim_ref", "float4"),
)  # fmt: skip
"""raw.probe_rounds as COPY writes it, (column, type): the one list the COPY statement, its types
and each round's row are derived from. The columns after the run's are RoundRecord's fields."""
_ROUND_OF_RUN = ("session_id", "run_number")

JUDGEMENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("session_id", "uuid"), ("run_number", "int4"), ("round", "int2"), ("judge_version", "text"),
    ("echo_type", "text"),
    *((name, type_) for name, type_ in ROUND_COLUMNS
      if name not in ("session_id", "run_number", "round", "prompt", "completion", "echo_type", "tokens_generated",
                      "finish_reason")),
)  # fmt: skip
"""raw.round_judgements as COPY writes it: the round's key, the judge version, the verdict and the
same feature columns as raw.probe_rounds (derived from ROUND_COLUMNS)."""


# --------------------------------------------------------------------------------------------
# SQL and migration files
# --------------------------------------------------------------------------------------------


@functools.cache
def queries() -> dict[str, str]:
    """The named blocks of ``collector/db/sql/queries.sql`` (comments and the final ``;`` removed)."""
    text = importlib.resources.files("collector.db").joinpath("sql", "queries.sql").read_text(encoding="utf-8")
    blocks: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []

    def close() -> None:
        if name is not None:
            body = "\n".join(line for line in lines if not line.lstrip().startswith("--")).strip()
            blocks[name] = body.rstrip(";").rstrip()

    for line in text.splitlines():
        match = re.match(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", line)
        if match:
            close()
            name, lines = match.group(1), []
            if name in blocks:
                raise RuntimeError(f"queries.sql defines {name} twice")
        elif name is not None:
            lines.append(line)
    close()
    return blocks


def _q(name: str) -> str:
    return queries()[name]


def migrations_dir() -> Path:
    """``collector/migrations`` in an installed wheel, else the repository's ``migrations/``."""
    packaged = Path(collector.__file__).parent / "migrations"
    if packaged.is_dir():
        return packaged
    return Path(collector.__file__).resolve().parent.parent / "migrations"


def migration_files(directory: Path | None = None) -> list[Path]:
    """Every ``*.sql`` file of the migrations directory, sorted by name."""
    return sorted((directory or migrations_dir()).glob("*.sql"))


_PLAIN_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def yoyo_url(dsn: str) -> str:
    """The ``postgresql+psycopg://`` URL yoyo needs for ``dsn`` (URL or key=value form).

    A plain host name or IPv4 address goes into the URL's authority; unix-socket directories,
    IPv6 addresses and host lists go into the query string (as does everything else libpq knows),
    percent-encoded. An empty ``dsn`` gives a URL with no parameters: libpq reads PG* variables.
    """
    params = {k: v for k, v in conninfo_to_dict(dsn).items() if v is not None}
    params.setdefault("connect_timeout", str(CONNECT_TIMEOUT_S))
    user = params.pop("user", None)
    password = params.pop("password", None)
    host = params.pop("host", None)
    port = params.pop("port", None)
    dbname = params.pop("dbname", None)

    netloc = ""
    if user:
        netloc = quote(str(user), safe="")
        if password:
            netloc += ":" + quote(str(password), safe="")
        netloc += "@"
    elif password:
        params["password"] = password
    if host and _PLAIN_HOST.match(str(host)):
        netloc += str(host)
        if port and str(port).isdigit():
            netloc += f":{port}"
        elif port:
            params["port"] = port
    else:
        if host:
            params["host"] = host
        if port:
            params["port"] = port
    path = ""
    if dbname and _PLAIN_NAME.match(str(dbname)):
        path = "/" + str(dbname)
    elif dbname:
        params["dbname"] = dbname  # yoyo does not unquote the path
    query = ("?" + urlencode(params)) if params else ""
    return f"postgresql+psycopg://{netloc}{path}{query}"


# --------------------------------------------------------------------------------------------
# Error wrapping
# --------------------------------------------------------------------------------------------


def _first_line(text: str) -> str:
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")


def short_reason(exc: BaseException) -> str:
    """The part of a libpq connection error that says what went wrong, on one line."""
    line = _first_line(str(exc)) or type(exc).__name__
    if " failed: " in line:
        line = line.rsplit(" failed: ", 1)[1]
    line = re.sub(r"^(FATAL|ERROR):\s+", "", line)
    if len(line) > 1 and line[0].isupper() and line[1].islower():
        line = line[0].lower() + line[1:]
    return line


def _describe_violation(exc: psycopg.Error) -> str:
    diag = exc.diag
    where = f"{diag.schema_name}.{diag.table_name}" if diag.table_name else "the table"
    constraint = diag.constraint_name
    if isinstance(exc, pg_errors.CheckViolation):
        # the triggers of migrations/0009 say which run in their detail; a CHECK's detail is the whole row
        detail = _first_line(diag.message_detail or "")
        said = f": {detail}" if detail and not detail.startswith("Failing row contains") else ""
        return f"a row of {where} violates check constraint {constraint}{said}"
    if isinstance(exc, pg_errors.UniqueViolation):
        detail = _first_line(diag.message_detail or "").rstrip(".")
        return f"duplicate row in {where} ({constraint}){': ' + detail if detail else ''}"
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        detail = _first_line(diag.message_detail or "").rstrip(".")
        return f"a row of {where} refers to a missing row ({constraint}){': ' + detail if detail else ''}"
    if isinstance(exc, pg_errors.NotNullViolation):
        return f"a row of {where} has no value for {diag.column_name}"
    return _first_line(diag.message_primary or str(exc)) or type(exc).__name__


def _copy_line(exc: psycopg.Error) -> int | None:
    match = re.search(r"\bCOPY \w+, line (\d+)", exc.diag.context or "")
    return int(match.group(1)) if match else None


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------


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


MESSAGE_DIRECTIONS = ("nimmerverse", "partnership")
#: For error messages only: the database's CHECK constraints (migrations/0002) decide.
MESSAGE_TYPES = {
    "nimmerverse": ("architecture_update", "deployment_instruction", "config_change", "research_direction"),
    "partnership": ("status_report", "discovery", "question", "milestone"),
}


def _jsonb(value: dict[str, Any] | None) -> Jsonb | None:
    """A judge's settings as a jsonb parameter (None stays NULL)."""
    return None if value is None else Jsonb(value)


def _direction(to: str) -> str:
    if to not in MESSAGE_DIRECTIONS:
        raise InputError(f"unknown message direction {to!r}: use one of {', '.join(MESSAGE_DIRECTIONS)}")
    return to


class Store:
    """One connection to the collector's database. Use ``Store.connect(dsn)``, ideally in ``with``."""

    def __init__(self, conn: psycopg.Connection, dsn: str):
        self.conn = conn
        self.dsn = dsn

    # -- connection -----------------------------------------------------------------------

    @classmethod
    def connect(cls, dsn: str) -> Store:
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

    def __enter__(self) -> Store:
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
        newer = [m for m in applied if m not in {m.id for m in migrations}]
        raise DatabaseError(f"{action}: its schema is newer than this collector ({newer[-1]} is not one of its "
                            f"migrations); upgrade nyx-collect")

    # -- writing --------------------------------------------------------------------------

    def create_session(self, s: SessionRecord) -> None:
        """Insert the session row (status 'running')."""
        params = s.model_dump()
        params["judge_settings"] = _jsonb(params.get("judge_settings"))
        with self._errors(f"cannot create session {s.session_id}"), self.conn.cursor() as cur:
            cur.execute(_q("create_session"), params)

    def write_runs(self, runs: Sequence[RunRecord]) -> None:
        """Store ``runs`` and all their rounds in one transaction (COPY): all of them or none."""
        if not runs:
            return
        action = f"cannot store {len(runs)} run(s) of session {runs[0].session_id}"
        round_owner: list[int] = []
        stage = "runs"
        try:
            with self._errors(action), self.conn.transaction(), self.conn.cursor() as cur:
                now = cur.execute(_q("transaction_now")).fetchone()["now"]
                with cur.copy(_q("copy_runs")) as copy:
                    copy.set_types(_RUN_TYPES)
                    for run in runs:
                        copy.write_row(self._run_row(run, now))
                stage = "rounds"
                columns = ", ".join(name for name, _type in ROUND_COLUMNS)
                with cur.copy(_q("copy_rounds").format(columns=columns)) as copy:
                    copy.set_types([type_ for _name, type_ in ROUND_COLUMNS])
                    for run in runs:
                        for row in self._round_rows(run):
                            round_owner.append(run.run_number)
                            copy.write_row(row)
        except DatabaseError as exc:
            cause = exc.__cause__
            line = _copy_line(cause) if isinstance(cause, psycopg.Error) else None
            error = type(exc)
            if line is not None:
                owners = [r.run_number for r in runs] if stage == "runs" else round_owner
                if 1 <= line <= len(owners):
                    raise error(f"{exc} (run {owners[line - 1]}); nothing of this batch was stored") from cause
            raise error(f"{exc}; nothing of this batch was stored") from cause

    @staticmethod
    def _run_row(run: RunRecord, now: Any) -> tuple:
        return (
            run.session_id,
            run.term,
            run.run_number,
            run.finished_at or now,
            run.depth,
            len(run.rounds),
            run.echo_types,
            [_text(t) for t in run.chain],
            run.model_name,
            run.temperature,
            run.max_rounds,
            run.max_new_tokens,
            run.seed,
        )

    @staticmethod
    def _round_rows(run: RunRecord) -> Iterator[tuple]:
        for r in run.rounds:
            yield tuple(_copy_value(getattr(run if name in _ROUND_OF_RUN else r, name)) for name, _ in ROUND_COLUMNS)

    def finish_session(
        self, session_id: uuid.UUID | str, status: SessionStatus, error: str | None = None,
        stopped_reason: str | None = None,
    ) -> bool:
        """Mark the session ``status`` (not 'running') with finished_at = now(); SessionNotFound if absent.

        A completed session stays completed (False: nothing changed): a second collector of the
        same session (``resume --force``) that fails or is stopped after the first one completed
        it must not mark it failed.
        """
        status = SessionStatus(status)
        if status is SessionStatus.RUNNING:
            raise ValueError("finish_session needs a final status, not 'running'")
        sid = _as_uuid(session_id)
        params = {"session_id": sid, "status": status.value, "error": _text(error) if error else None,
                  "stopped_reason": stopped_reason}
        if self._one("finish_session", params, f"cannot finish session {sid}") is not None:
            return True
        if self.get_session(sid) is None:
            raise SessionNotFound(f"no session {sid}")
        return False

    def complete_on_precision(self, session_id: uuid.UUID, runs: int) -> bool:
        """Complete a running until_ci session that met its target, with runs_requested = ``runs``
        (the runs 1..runs it holds; migration 0011 checks) and stopped_reason 'precision'; False
        when it is not running (then nothing changes)."""
        params = {"session_id": session_id, "runs": runs}
        return self._one("complete_on_precision", params, f"cannot complete session {session_id}") is not None

    def depth_precision(self, session_id: uuid.UUID) -> dict[str, Any]:
        """The session's stored runs: n, top (highest run number), mean, variance, variance_floor,
        half_width of the 95% interval of the mean depth (None below 2 runs), target, min_runs and
        may_stop (its until_ci rule is met), all computed in SQL (queries.sql depth_precision)."""
        row = self._one("depth_precision", {"session_id": session_id},
                        f"cannot read the precision of session {session_id}")
        if row is None:
            raise SessionNotFound(f"no session {session_id}")
        return row

    # -- reading --------------------------------------------------------------------------

    def get_session(self, session_id: uuid.UUID | str) -> dict[str, Any] | None:
        """The session row plus ``runs_stored``, or None."""
        sid = _as_uuid(session_id)
        return self._one("get_session", {"session_id": sid}, f"cannot read session {sid}")

    def list_sessions(self, limit: int = 50) -> list[dict[str, Any]]:
        """The ``limit`` most recent sessions, newest first, each with ``runs_stored``."""
        return self._all("list_sessions", {"limit": int(limit)}, "cannot list sessions")

    def count_runs(self, session_id: uuid.UUID | str) -> int:
        sid = _as_uuid(session_id)
        return self._one("count_runs", {"session_id": sid}, f"cannot count runs of session {sid}")["n"]

    def depth_counts(self, session_id: uuid.UUID | str) -> dict[int, int]:
        """{depth: runs} for the depths that occur in the session."""
        sid = _as_uuid(session_id)
        rows = self._all("depth_counts", {"session_id": sid}, f"cannot count depths of session {sid}")
        return {row["depth"]: row["n"] for row in rows}

    def fetch_runs(self, session_id: uuid.UUID | str) -> list[dict[str, Any]]:
        """Every run of the session, by run_number, with echo_types and chain as lists."""
        sid = _as_uuid(session_id)
        return self._all("fetch_runs", {"session_id": sid}, f"cannot read runs of session {sid}")

    def fetch_rounds(self, session_id: uuid.UUID | str) -> list[dict[str, Any]]:
        """Every round of the session, by run_number then round."""
        sid = _as_uuid(session_id)
        return self._all("fetch_rounds", {"session_id": sid}, f"cannot read rounds of session {sid}")

    def resolve_session(self, ref: str) -> uuid.UUID:
        """A session id from a full id, a unique prefix of at least 4 characters, or ``latest``."""
        ref = ref.strip().lower()
        if ref == "latest":
            row = self._one("latest_session", {}, "cannot find the latest session")
            if row is None:
                raise SessionNotFound("no session has been collected yet: run nyx-collect TERM --runs N")
            return row["session_id"]
        if len(ref) < 4 or not re.fullmatch(r"[0-9a-f-]+", ref):
            raise InputError(f"not a session id: {ref!r} (give a full id, a prefix of 4+ hex digits, or latest)")
        rows = self._all("find_sessions_by_prefix", {"prefix": ref}, f"cannot look up session {ref}")
        if not rows:
            raise SessionNotFound(f"no session {ref}: list them with nyx-collect sessions")
        if len(rows) > 1:
            raise InputError(f"session prefix {ref} is ambiguous: give more characters")
        return rows[0]["session_id"]

    @property
    def connection_lost(self) -> bool:
        """Whether the connection is gone (server restarted or unreachable)."""
        return self.conn.closed or self.conn.broken

    def reconnect(self) -> None:
        """Replace a lost connection; DatabaseError while the server is still away."""
        fresh = Store.connect(self.dsn)
        try:
            self.conn.close()
        except psycopg.Error:
            pass
        self.conn = fresh.conn

    def stored_run_numbers(self, session_id: uuid.UUID) -> set[int]:
        rows = self._all("stored_run_numbers", {"session_id": session_id}, f"cannot list the runs of {session_id}")
        return {r["run_number"] for r in rows}

    def missing_run_numbers(self, session_id: uuid.UUID, runs_requested: int) -> list[int]:
        """Run numbers 1..runs_requested that the session has not stored."""
        rows = self._all("missing_run_numbers", {"session_id": session_id, "runs_requested": runs_requested},
                         f"cannot list the missing runs of session {session_id}")
        return [r["run_number"] for r in rows]

    def reopen_session(self, session_id: uuid.UUID, hostname: str, pid: int) -> bool:
        """Mark an unfinished session running again (by this process) before resuming it; False when
        it is completed (then nothing changes)."""
        params = {"session_id": session_id, "hostname": hostname, "pid": pid}
        return self._one("reopen_session", params, f"cannot reopen session {session_id}") is not None

    # -- messages between the partnership and the nimmerverse -----------------------------

    def write_message(self, to: str, message_type: str, message: str) -> dict[str, Any]:
        """Store a message to ``to`` ('nimmerverse' or 'partnership'); the database checks the type."""
        name = f"write_message_to_{_direction(to)}"
        params = {"message": message, "message_type": message_type}
        try:
            return self._one(name, params, f"cannot write the message to the {to}")
        except DatabaseError as exc:
            if "too long" in str(exc):
                raise InputError(f"message type is {len(message_type)} characters long; the limit is 50") from exc
            if "message_type_known" in str(exc):
                allowed = ", ".join(MESSAGE_TYPES[to])
                raise InputError(f"message type {message_type!r} is not allowed to the {to}: use {allowed}") from exc
            raise

    def read_messages(self, to: str, limit: int = 5) -> list[dict[str, Any]]:
        """The ``limit`` latest messages to ``to``, newest first."""
        return self._all(f"read_messages_to_{_direction(to)}", {"limit": int(limit)},
                         f"cannot read the messages to the {to}")

    # -- re-judgements (another judge version over stored rounds) ---------------------------

    def write_rejudgement(self, settings: dict[str, Any], rows: Sequence[tuple]) -> None:
        """Store a session's re-judgement (its settings and one row per round, in JUDGEMENT_COLUMNS
        order) in one transaction: all of it or nothing."""
        action = f"cannot store the judgement of session {settings['session_id']} by {settings['judge_version']}"
        with self._errors(action), self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(_q("add_session_judgement"),
                        {**settings, "judge_settings": _jsonb(settings.get("judge_settings"))})
            columns = ", ".join(name for name, _type in JUDGEMENT_COLUMNS)
            with cur.copy(_q("copy_round_judgements").format(columns=columns)) as copy:
                copy.set_types([type_ for _name, type_ in JUDGEMENT_COLUMNS])
                for row in rows:
                    copy.write_row(tuple(_copy_value(v) for v in row))

    def session_judgements(self, session_id: uuid.UUID | str) -> list[dict[str, Any]]:
        sid = _as_uuid(session_id)
        return self._all("session_judgements", {"session_id": sid}, f"cannot read the judgements of {sid}")

    def round_judgements(self, session_id: uuid.UUID | str, judge_version: str) -> list[dict[str, Any]]:
        sid = _as_uuid(session_id)
        return self._all("fetch_round_judgements", {"session_id": sid, "judge_version": judge_version},
                         f"cannot read the judgements of {sid}")

    @contextmanager
    def rejudge_lock(self, session_id: uuid.UUID, judge_version: str) -> Iterator[bool]:
        """Whether this connection holds, for the block, the lock of re-judging ``session_id`` with
        ``judge_version`` (an advisory lock, released after the block or when the connection ends);
        False at once when another process holds it: that one is judging the session."""
        params = {"session_id": str(session_id), "judge_version": judge_version}
        action = f"cannot lock session {session_id} for re-judging"
        locked = bool((self._one("rejudge_try_lock", params, action) or {}).get("locked"))
        try:
            yield locked
        finally:
            if locked and not (self.conn.closed or self.conn.broken):
                self._one("rejudge_unlock", params, action)

    def sessions_to_rejudge(self, judge_version: str) -> list[uuid.UUID]:
        rows = self._all("sessions_to_rejudge", {"judge_version": judge_version}, "cannot list sessions")
        return [r["session_id"] for r in rows]

    # -- human labels of stored rounds (nyx-collect label) ---------------------------------

    def sessions_of_term(self, term: str, model_name: str | None = None) -> list[uuid.UUID]:
        rows = self._all("sessions_of_term", {"term": term, "model_name": model_name},
                         f"cannot list the sessions of {term!r}")
        return [r["session_id"] for r in rows]

    def label_candidates(self, sessions: Sequence[uuid.UUID], labeller: str) -> list[dict[str, Any]]:
        """Every stored round of ``sessions`` with what a labeller sees, the session judge's type
        and ``own_label`` (this labeller's label, or None), in key order."""
        return self._all("label_candidates", {"sessions": list(sessions), "labeller": labeller},
                         "cannot read the rounds to label")

    def get_label(self, key: dict[str, Any]) -> dict[str, Any] | None:
        """``key``: session_id, run_number, round, labeller."""
        return self._one("label_get", key, "cannot read the label")

    def put_label(self, row: dict[str, Any]) -> dict[str, Any]:
        """Give or replace one label (committed at once); ``row`` as raw.round_labels, labelled_at
        and note optional."""
        params = {"labelled_at": None, "note": None, **row}
        stored = self._one("label_put", params, f"cannot store the label of round {row['round']} of run "
                                               f"{row['run_number']} of session {row['session_id']}")
        assert stored is not None
        return stored

    def delete_label(self, key: dict[str, Any]) -> None:
        with self._errors("cannot remove the label"), self.conn.cursor() as cur:
            cur.execute(_q("label_delete"), key)

    def import_labels(self, rows: Sequence[dict[str, Any]]) -> int:
        """Store ``rows`` (raw.round_labels fields, plus the optional ``term``, ``model_name``, ``prev``
        and ``text`` each claims of its round) in one transaction. If any names a round that is not
        stored, or one whose term, model, prompt or completion differs from its claim, nothing is
        written and UnknownRounds lists them by position (0-based) with the reason."""
        keys = {
            "session_ids": [r["session_id"] for r in rows], "run_numbers": [r["run_number"] for r in rows],
            "rounds": [r["round"] for r in rows], "terms": [r.get("term") for r in rows],
            "model_names": [r.get("model_name") for r in rows], "prevs": [r.get("prev") for r in rows],
            "texts": [r.get("text") for r in rows],
        }
        with self._errors("cannot import the labels"), self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute(_q("label_unknown_rounds"), keys)
            unknown = [(r["pos"] - 1, r["reason"]) for r in cur.fetchall()]
            if unknown:
                raise UnknownRounds(unknown)
            fields = ("session_id", "run_number", "round", "labeller", "label", "labelled_at", "note")
            cur.executemany(_q("label_put"), [{k: r.get(k) for k in fields} for r in rows])
        return len(rows)

    def export_labels(self, session_id: uuid.UUID | None = None, term: str | None = None,
                      labeller: str | None = None) -> list[dict[str, Any]]:
        params = {"session_id": session_id, "term": term, "labeller": labeller}
        return self._all("labels_export", params, "cannot read the labels")

    # -- the glossary (reference meanings, versioned) ----------------------------------------

    def add_reference(self, entry: GlossaryEntry) -> dict[str, Any]:
        """Add ``entry`` as the term's next version unless it equals the newest; return the row in
        force, with ``added`` telling whether a version was added."""
        with self._errors(f"cannot add the reference meaning of {entry.term!r}"), self.conn.cursor() as cur:
            cur.execute(_q("glossary_add"), entry.as_params())
            return cur.fetchone()

    def add_references(self, entries: Sequence[GlossaryEntry]) -> list[dict[str, Any]]:
        """Add several entries in one transaction: all of them or none."""
        action = f"cannot import {len(entries)} reference meaning(s)"
        with self._errors(action), self.conn.transaction(), self.conn.cursor() as cur:
            rows = []
            for entry in entries:
                cur.execute(_q("glossary_add"), entry.as_params())
                rows.append(cur.fetchone())
            return rows

    def reference_for(self, term: str) -> dict[str, Any] | None:
        """The newest reference meaning of ``term``, or None."""
        return self._one("glossary_current", {"term": term}, f"cannot read the reference meaning of {term!r}")

    def glossary_row(self, glossary_id: int) -> dict[str, Any] | None:
        """One stored version by id (what a session was judged against)."""
        return self._one("glossary_get", {"id": glossary_id}, f"cannot read glossary row {glossary_id}")

    def list_glossary(self, all_versions: bool = False) -> list[dict[str, Any]]:
        return self._all("glossary_list", {"all_versions": all_versions}, "cannot list the glossary")

    def seed_glossary(self, entries: Sequence[GlossaryEntry]) -> int:
        """Add the shipped entries for terms the glossary lacks, and a new version of a term whose newest
        version is itself a shipped one that differs from this collector's (an older collector's entry,
        say without glosses); a term whose newest version is the lab's own is never touched. Returns how
        many versions were added."""
        from collector.write.glossary import SHIPPED_SOURCE

        newest = {r["term"]: r["source"] or "" for r in self._all("glossary_terms", {}, "cannot read the glossary")}
        todo = [e for e in entries if e.term not in newest or newest[e.term].startswith(SHIPPED_SOURCE)]
        return sum(1 for row in self.add_references(todo) if row["added"]) if todo else 0

    # -- semantic variance (computed from the chain embeddings in iris) ---------------------

    def write_semantic_variance(self, row: dict[str, Any]) -> None:
        """Store (or replace) a session's row of raw.session_semantic_variance."""
        action = f"cannot store the semantic variance of {row['session_id']}"
        with self._errors(action), self.conn.cursor() as cur:
            cur.execute(_q("write_semantic_variance"), row)

    def get_semantic_variance(self, session_id: uuid.UUID | str) -> dict[str, Any] | None:
        sid = _as_uuid(session_id)
        return self._one("get_semantic_variance", {"session_id": sid}, f"cannot read the semantic variance of {sid}")



__all__ = [
    "Store",
    "mask_dsn",
    "migration_files",
    "migrations_dir",
    "queries",
    "short_reason",
    "yoyo_url",
    "MIGRATION_FILE_PATTERN",
]
