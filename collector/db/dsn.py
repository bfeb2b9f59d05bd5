"""Which PostgreSQL server to use, and how to show a connection string without its password.

Precedence (first match wins):

1. ``--dsn`` on the command line;
2. the ``PHOEBE_DSN`` environment variable;
3. the standard libpq variables (``PGHOST``, ``PGPORT``, ``PGDATABASE``, ``PGUSER``, ``PGSERVICE``):
   the DSN is then ``""`` and libpq reads the environment itself;
4. otherwise the embedded server (see ``collector.db.embedded``): the DSN is ``None``.

Both URL (``postgresql://user:pw@host:5432/db``) and key=value (``host=h dbname=db``) forms are
accepted and checked for syntax before anything connects.

What is shown of a DSN: only ``mask_dsn``'s output, which hides every password (and, for a string
that does not parse, everything that could be one). libpq's reasons quote fragments of the DSN; for a
DSN that holds a secret they are replaced by fixed text, so no message ever carries any part of it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from psycopg.conninfo import conninfo_to_dict

from collector.core.errors import InputError

DSN_ENV = "PHOEBE_DSN"
LIBPQ_ENV = ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE")
SOURCE_CLI = "--dsn"
SOURCE_ENV = DSN_ENV
SOURCE_LIBPQ = "PG* environment"
SOURCE_EMBEDDED = "embedded"

MASK = "***"
_SECRET_KEYS = ("password", "sslpassword")
_URL_PREFIX = re.compile(r"^(postgres(?:ql)?://)", re.IGNORECASE)
# a scheme-like start ("postgresq://", "postgres:/", "postgresql//"), if any, of a string that is
# neither a URL nor key=value
_SCHEME_LIKE = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*(?::/{0,2}|/{1,2}))?)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# libpq's parse errors, by how they start: the text shown for a DSN that holds a secret (libpq's own
# wording quotes the fragment it stumbled on, which may be part of the password)
_SAFE_REASONS = (
    ("end of string reached when looking for matching", 'an IPv6 host address has no closing "]"'),
    ("IPv6 host address may not be empty", "an IPv6 host address is empty"),
    ("unexpected character", 'unexpected character after the host (expected ":" or "/")'),
    ("extra key/value separator", 'a URI query parameter has an extra "="'),
    ("missing key/value separator", 'a URI query parameter has no "="'),
    ("invalid URI query parameter", "unknown URI query parameter"),
    ("invalid percent-encoded token", "invalid percent-escape (write % as %25)"),
    ("forbidden value %00", "a percent-escape decodes to a NUL byte (%00)"),
    ("missing \"=\" after", 'a key=value pair has no "="'),
    ("unterminated quoted string", "unterminated quoted value"),
    ("invalid connection option", "unknown connection option"),
    ("unexpected spaces found", "unencoded spaces (write %20)"),
)
_URL_QUERY_SECRET = re.compile(r"([?&](?:ssl)?password=)[^&#]*", re.IGNORECASE)
# one key=value pair of a libpq connection string: a quoted value (backslash escapes) or a bare one
_KV_TOKEN = re.compile(r"""\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^'\\]|\\.)*'(?=\s|$)|(?:[^\s'\\]|\\.)(?:[^\s\\]|\\.)*(?=\s|$))""", re.S)
_KV_SECRET_TAIL = re.compile(r"(\b(?:ssl)?password\s*=\s*).*?(\s*)$", re.IGNORECASE | re.S)


def resolve_dsn(cli_dsn: str | None, environ: Mapping[str, str] = os.environ) -> tuple[str | None, str]:
    """Return ``(dsn, source)``; see the module docstring. Raises InputError for a blank or bad DSN."""
    if cli_dsn is not None:
        return _checked(cli_dsn, SOURCE_CLI), SOURCE_CLI
    if DSN_ENV in environ:
        return _checked(environ[DSN_ENV], SOURCE_ENV), SOURCE_ENV
    if any(environ.get(name) for name in LIBPQ_ENV):
        return "", SOURCE_LIBPQ
    return None, SOURCE_EMBEDDED


def _checked(dsn: str, source: str) -> str:
    dsn = dsn.strip()
    if not dsn:
        raise InputError(f"{source} is blank; give a connection string such as postgresql://user@host:5432/db")
    validate_dsn(dsn, source)
    return dsn


def validate_dsn(dsn: str, source: str = "DSN") -> dict[str, str]:
    """Parse ``dsn`` with libpq's rules; InputError ``invalid DSN ...`` (masked) if it cannot be used.

    The message shows the masked DSN and, when the DSN holds a secret, no fragment of it at all.
    """
    masked = mask_dsn(dsn)
    secret = masked != dsn  # something was hidden: quote nothing libpq quotes
    shown = _CONTROL.sub("?", masked)
    try:
        params = conninfo_to_dict(dsn)
    except Exception as exc:  # psycopg.ProgrammingError for anything libpq refuses
        raise InputError(f"invalid DSN ({source}) {shown}: {_reason(exc, secret)}") from None
    if is_url(dsn) and any("@" in str(params.get(key) or "") for key in ("host", "port", "dbname")):
        # libpq ends the user name and password at the first "@": the rest would be taken for the host
        raise InputError(f"invalid DSN ({source}) {shown}: a raw '@' or '/' in the user name or password; "
                         "write them as %40 and %2F")
    for port in str(params.get("port") or "").split(","):
        if port.strip() and not (port.strip().isdigit() and 1 <= int(port) <= 65535):
            what = "a port" if secret else f"port {port.strip()!r}"
            raise InputError(f"invalid DSN ({source}) {shown}: {what} is not a number 1-65535")
    return params


def _reason(exc: Exception, secret: bool) -> str:
    """libpq's first line; for a DSN with a secret, a fixed text that quotes nothing of it."""
    reason = (str(exc).strip().splitlines() or ["cannot parse"])[0].strip()
    if secret:
        reason = next((safe for start, safe in _SAFE_REASONS if reason.startswith(start)),
                      "libpq cannot parse it")  # fmt: skip
    return _CONTROL.sub("?", reason.removesuffix(" in connection info string"))


def is_url(dsn: str) -> bool:
    return bool(_URL_PREFIX.match(dsn.strip()))


def mask_dsn(dsn: str) -> str:
    """``dsn`` with every password replaced by ``***``; URL and key=value forms keep their shape.

    Never raises: a string libpq cannot parse is masked textually, hiding everything that could be
    part of a password (all after a password key; a URL's whole user info).
    """
    if dsn is None:
        return ""
    if is_url(dsn):
        return _mask_url(dsn, _URL_PREFIX)
    if _KV_SECRET_TAIL.search(dsn) and not _parses(dsn):
        # libpq refuses it, so where its password ends is anyone's guess: hide all from its key on
        return _KV_SECRET_TAIL.sub(lambda m: m.group(1) + MASK + m.group(2), dsn, count=1)
    return _mask_key_value(dsn)


def _parses(dsn: str) -> bool:
    try:
        conninfo_to_dict(dsn)
        return True
    except Exception:
        return False


def _mask_key_value(dsn: str) -> str:
    """Replace the values of password keys, keeping every other character of ``dsn`` as it was."""
    out, pos = [], 0
    while pos < len(dsn):
        if not dsn[pos:].strip():
            out.append(dsn[pos:])
            break
        match = _KV_TOKEN.match(dsn, pos)
        if match is None:
            # Not libpq syntax: hide everything from the first password key on, or, in something
            # like a URL with a mistyped scheme ("postgres:/u:pw@h"), its user info.
            if _KV_SECRET_TAIL.search(dsn):
                return _KV_SECRET_TAIL.sub(lambda m: m.group(1) + MASK + m.group(2), dsn, count=1)
            return _mask_url(dsn, _SCHEME_LIKE, strict=True)
        if match.group(1).lower() in _SECRET_KEYS:
            out.append(dsn[pos : match.start(2)] + MASK)
        else:
            out.append(match.group(0))
        pos = match.end()
    return "".join(out)


def _mask_url(dsn: str, scheme: re.Pattern[str], strict: bool = False) -> str:
    """Mask a URL's password; ``strict`` (a string no parser accepts): its whole user info."""
    prefix = scheme.match(dsn.strip()).group(1)
    rest = dsn.strip()[len(prefix) :]
    # The user info ends where libpq ends it (the first "@", unless a "/" comes first) or at the
    # last "@" before a "?", whichever is later: a password holding a raw "@", "/" or "?" stays hidden.
    first = re.search(r"[@/]", rest)
    libpq_at = first.start() if first and first.group() == "@" else -1
    query_at = rest.find("?", max(libpq_at, 0))
    last_at = rest.rfind("@", 0, query_at if query_at >= 0 else len(rest))
    at = max(libpq_at, last_at)
    query_at = rest.find("?", max(at, 0))
    head, query = (rest, "") if query_at < 0 else (rest[:query_at], rest[query_at:])
    if at >= 0:
        userinfo, after = head[:at], head[at:]
        colon = userinfo.find(":")
        if colon >= 0:
            head = userinfo[: colon + 1] + MASK + after
        elif strict:
            head = MASK + after
    else:
        # No user info: "u:pw/db" is read as host "u" and port "pw"; a port that is no number may be
        # a password whose "@host" is missing.
        authority = re.match(r"[^/?#]*", head).group()
        host, colon, port = authority.partition(":")
        if colon and not host.startswith("[") and not re.fullmatch(r"[0-9,]*", port):
            head = host + ":" + MASK + head[len(authority) :]
    return prefix + head + _URL_QUERY_SECRET.sub(lambda m: m.group(1) + MASK, query)


def describe_dsn(dsn: str | None) -> str:
    """A short, password-free description of where ``dsn`` points, for messages."""
    if dsn is None:
        return "the embedded server"
    if not dsn.strip():
        return "the server named by the PG* environment variables"
    return mask_dsn(dsn)


def describe_target(dsn: str, environ: Mapping[str, str] = os.environ) -> str:
    """``user@host:port/dbname`` of a valid DSN ("": of the PG* variables), without any password."""
    if not dsn.strip():
        info = {k: environ.get(env) for k, env in (("user", "PGUSER"), ("host", "PGHOST"), ("port", "PGPORT"),
                                                   ("dbname", "PGDATABASE"), ("service", "PGSERVICE"))}
    else:
        info = conninfo_to_dict(dsn)
    if info.get("service") and not info.get("host"):
        return f"service {info['service']}"
    user = f"{info['user']}@" if info.get("user") else ""
    host = info.get("host") or info.get("hostaddr") or "localhost"
    port = f":{info['port']}" if info.get("port") else ""
    dbname = f"/{info['dbname']}" if info.get("dbname") else ""
    return _CONTROL.sub("?", f"{user}{host}{port}{dbname}")


def pgpass_lines(dsn: str) -> str:
    """Password-file lines (``host:port:db:user:password``) holding the password of ``dsn``, one per host."""
    info = conninfo_to_dict(dsn)

    def field(value: object) -> str:
        return str(value).replace("\\", "\\\\").replace(":", "\\:")

    hosts = str(info.get("host") or "localhost").split(",")
    ports = str(info.get("port") or "").split(",")
    lines = []
    for i, host in enumerate(hosts):
        port = ports[i] if i < len(ports) else ports[-1]
        lines.append(":".join([field(host.strip() or "localhost"), field(port.strip() or "*"),
                               field(info.get("dbname") or "*"), field(info.get("user") or "*"),
                               field(info.get("password") or "")]))  # fmt: skip
    return "".join(line + "\n" for line in lines)


def libpq_env(dsn: str, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The PG* variables that point psql or dbt at ``dsn`` (``""``: the ones already set)."""
    if dsn == "":
        names = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE", "PGPASSFILE")
        return {n: environ[n] for n in names if n in environ}
    info = conninfo_to_dict(dsn)
    keys = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
            "dbname": "PGDATABASE", "sslmode": "PGSSLMODE", "passfile": "PGPASSFILE"}
    env = {env: str(info[k]) for k, env in keys.items() if info.get(k) not in (None, "")}
    if "PGPASSFILE" in env and "PGPASSWORD" not in env:
        env["PGPASSWORD"] = ""  # the password is in the passfile; a PGPASSWORD set for another server would win
    return env
