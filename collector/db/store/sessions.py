"""Sessions: their rows in raw.probe_sessions (create, finish, reopen, look up), what the runs
stored so far say about them (counts, depths, the until_ci precision) and their semantic variance."""

from __future__ import annotations

import re
import uuid
from typing import Any

from collector.core.dbt_vars import dbt_var
from collector.core.errors import InputError, SessionNotFound
from collector.core.records import SessionRecord, SessionStatus
from collector.db.store.connection import Connection, _as_uuid, _jsonb, _text
from collector.db.store.files import _q

__all__ = ["Sessions"]


class Sessions(Connection):
    """raw.probe_sessions and raw.session_semantic_variance."""

    def create_session(self, s: SessionRecord) -> None:
        """Insert the session row (status 'running')."""
        params = s.model_dump()
        params["judge_settings"] = _jsonb(params.get("judge_settings"))
        with self._errors(f"cannot create session {s.session_id}"), self.conn.cursor() as cur:
            cur.execute(_q("create_session"), params)

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
        row = self._one("depth_precision", {"session_id": session_id, "z95": dbt_var("z95")},
                        f"cannot read the precision of session {session_id}")
        if row is None:
            raise SessionNotFound(f"no session {session_id}")
        return row

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

    def write_semantic_variance(self, row: dict[str, Any]) -> None:
        """Store (or replace) a session's row of raw.session_semantic_variance."""
        action = f"cannot store the semantic variance of {row['session_id']}"
        with self._errors(action), self.conn.cursor() as cur:
            cur.execute(_q("write_semantic_variance"), row)

    def get_semantic_variance(self, session_id: uuid.UUID | str) -> dict[str, Any] | None:
        sid = _as_uuid(session_id)
        return self._one("get_semantic_variance", {"session_id": sid}, f"cannot read the semantic variance of {sid}")
