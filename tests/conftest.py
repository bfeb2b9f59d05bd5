"""Shared fixtures: a PostgreSQL server for the session, a migrated template database, and one
fresh database per test cloned from the template (``CREATE DATABASE ... TEMPLATE``).

The server is ``NYX_TEST_DSN`` when set (a superuser DSN to an existing server, e.g. Debian's
PostgreSQL 15 in CI); otherwise an embedded server in a fresh directory under /tmp, stopped and
removed at the end. Not under pytest's ``tmp_path``: its parent is private (mode 0700), and as
root the server runs as a service user that must be able to enter every parent directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from collector.db.embedded import EmbeddedPostgres
from collector.db.store import Store

# Model fixtures and the dbt-built database live in their own modules.
pytest_plugins = ["tests.conftest_model", "tests.conftest_dbt"]

TEST_DSN_ENV = "NYX_TEST_DSN"


def _isolate_data_dir() -> None:
    """Tests get a data directory of their own (the embedded iris store, ...) but keep the model
    cache, so the user's data is never touched and SmolLM2 is not converted again."""
    from collector.core.paths import cache_dir

    os.environ.setdefault("NYX_CACHE", str(cache_dir()))
    home = tempfile.mkdtemp(prefix="nyx-test-home-", dir="/tmp")
    os.chmod(home, 0o755)
    os.environ["NYX_HOME"] = home
    os.environ.pop("IRIS_URL", None)


_isolate_data_dir()


@pytest.fixture(scope="session", autouse=True)
def _stop_the_test_homes_server() -> Iterator[None]:
    """Tests of the embedded default start its server in the test home; it stops with the session
    (every test run used to leave one postgres behind in /tmp)."""
    yield
    from collector.db.connect import embedded

    embedded().stop()


def dsn_for_database(server_dsn: str, dbname: str) -> str:
    """``server_dsn`` pointed at another database (key=value form)."""
    return make_conninfo(server_dsn, dbname=dbname)


def create_database(server_dsn: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        if template:
            conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(template)))
        else:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return dsn_for_database(server_dsn, name)


def drop_database(server_dsn: str, name: str) -> None:
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """A superuser DSN to a running server, for the whole test session."""
    if os.environ.get(TEST_DSN_ENV):
        yield os.environ[TEST_DSN_ENV]
        return
    base = Path(tempfile.mkdtemp(prefix="nyx-test-pg-", dir="/tmp"))
    os.chmod(base, 0o755)  # mkdtemp makes it 0700; the service user must enter it
    server = EmbeddedPostgres(base / "data")
    try:
        yield server.ensure_running()
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def template_db(pg_dsn: str) -> Iterator[str]:
    """Name of a database with every migration applied, built once per session."""
    name = _unique("nyx_template")
    dsn = create_database(pg_dsn, name)
    try:
        with Store.connect(dsn) as store:
            store.migrate()
        yield name
    finally:
        drop_database(pg_dsn, name)


@pytest.fixture
def db_dsn(pg_dsn: str, template_db: str) -> Iterator[str]:
    """DSN of a fresh, migrated database for one test (a copy of the template), dropped afterwards."""
    name = _unique("test")
    dsn = create_database(pg_dsn, name, template=template_db)
    try:
        yield dsn
    finally:
        drop_database(pg_dsn, name)


@pytest.fixture
def empty_db_dsn(pg_dsn: str) -> Iterator[str]:
    """DSN of a fresh database without any migration, dropped afterwards."""
    name = _unique("test_empty")
    dsn = create_database(pg_dsn, name)
    try:
        yield dsn
    finally:
        drop_database(pg_dsn, name)


@pytest.fixture
def store(db_dsn: str) -> Iterator[Store]:
    """A connected Store on a fresh, migrated database."""
    with Store.connect(db_dsn) as connected:
        yield connected
