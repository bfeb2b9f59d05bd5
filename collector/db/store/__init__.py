"""All database access of the collector (psycopg 3). SQL lives in ``collector/db/sql/queries.sql``.

``Store`` is one connection (:mod:`.connection` owns it: connecting, error wrapping, migrations)
with the methods of every table family, one module each: sessions, runs (with their rounds),
re-judgements, labels, the glossary, messages, the work queue. Every family is a ``Connection`` subclass, so a
family's methods reach the connection and the helpers only through the owner; ``Store`` combines
them. psycopg errors are turned into ``DatabaseError`` once, in the owner, with a one-line message
that names the constraint a row broke. The dbt marts are read with :func:`collector.read.marts.read_mart`.

Schema migrations (``migrations/*.sql``) are applied with yoyo; see ``Store.migrate``.
"""

from __future__ import annotations

from collector.db.dsn import mask_dsn
from collector.db.store.connection import Connection
from collector.db.store.errors import short_reason
from collector.db.store.files import MIGRATION_FILE_PATTERN, migration_files, migrations_dir, queries, yoyo_url
from collector.db.store.glossary import Glossary
from collector.db.store.judgements import JUDGEMENT_COLUMNS, Judgements
from collector.db.store.labels import Labels
from collector.db.store.messages import MESSAGE_DIRECTIONS, MESSAGE_TYPES, Messages
from collector.db.store.queue import Queue
from collector.db.store.runs import ROUND_COLUMNS, Runs
from collector.db.store.sessions import Sessions


class Store(Sessions, Runs, Judgements, Labels, Glossary, Messages, Queue, Connection):
    """One connection to the collector's database, with the methods of every table family.
    Use ``Store.connect(dsn)``, ideally in ``with``."""


__all__ = [
    "JUDGEMENT_COLUMNS",
    "MESSAGE_DIRECTIONS",
    "MESSAGE_TYPES",
    "MIGRATION_FILE_PATTERN",
    "ROUND_COLUMNS",
    "Store",
    "mask_dsn",
    "migration_files",
    "migrations_dir",
    "queries",
    "short_reason",
    "yoyo_url",
]
