"""Which PostgreSQL server to use: the configured one (``--dsn``, ``PHOEBE_DSN``, the PG* variables),
else the embedded server in the data directory, started on first use.

The one place that knows this fallback; the CLI, ``collector.api`` and the benchmarks all call it.
"""

from __future__ import annotations

from collections.abc import Callable

from collector.db.dsn import libpq_env, mask_dsn, resolve_dsn
from collector.db.embedded_pg import EmbeddedPostgres
from collector.db.store import Store
from collector.paths import data_dir


def embedded() -> EmbeddedPostgres:
    """The embedded server of this user's data directory (not started)."""
    return EmbeddedPostgres(data_dir())


def resolve(dsn_option: str | None = None) -> tuple[str, str]:
    """(DSN, a line saying where it came from), starting the embedded server when none is configured."""
    dsn, source = resolve_dsn(dsn_option)
    if dsn is None:
        dsn = embedded().ensure_running()
        return dsn, f"Using the embedded PostgreSQL server: psql '{dsn}'"
    return dsn, f"Using PostgreSQL from {source}: {mask_dsn(dsn) or '(libpq environment)'}"


def connect(dsn_option: str | None = None, *, on_note: Callable[[str], None] | None = None) -> Store:
    """A Store on the configured or embedded server; ``on_note`` hears where it is once connected."""
    dsn, note = resolve(dsn_option)
    store = Store.connect(dsn)
    if on_note is not None:
        on_note(note)
    return store


def connection_env(dsn_option: str | None = None) -> dict[str, str]:
    """PG* variables for the configured server, or the embedded one (started if need be)."""
    return libpq_env(resolve(dsn_option)[0])
