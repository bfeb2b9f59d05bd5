"""The files the store reads: the named queries of ``collector/db/sql/queries.sql`` and the schema
migrations (``migrations/*.sql``), and the URL yoyo applies them through."""

from __future__ import annotations

import functools
import importlib.resources
import re
from pathlib import Path
from urllib.parse import quote, urlencode

from psycopg.conninfo import conninfo_to_dict

import collector

__all__ = ["CONNECT_TIMEOUT_S", "MIGRATION_FILE_PATTERN", "migration_files", "migrations_dir", "queries", "yoyo_url"]

CONNECT_TIMEOUT_S = 5
MIGRATION_FILE_PATTERN = re.compile(r"^\d{4}_[a-z0-9_]+(\.rollback)?\.sql$")


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
