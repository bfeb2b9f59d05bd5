"""One reader for the dbt marts: ``read_mart(store, "term_power", where={...}, order_by=[...])``.

A mart is read by naming it and its filters; no Store method and no named query is needed for a
plain read. The SQL is built with ``psycopg.sql``: the mart's name must be one of :data:`MARTS`,
every column named (in ``where``, ``order_by``, ``columns``) must be one the mart has
(``information_schema``), and values travel as parameters. The statistics stay in the marts:
this reads rows, it computes nothing. Reads that are real logic (joins, aggregation) keep their
named queries in ``collector/db/sql/queries.sql``.

A mart that is not built (no schema ``marts``, no such table) raises
:class:`~collector.core.errors.MartsNotBuilt` with the message the CLI prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from collector.core.errors import DatabaseError, MartsNotBuilt

if TYPE_CHECKING:
    from collector.db.store import Store

__all__ = ["MARTS", "NOT_BUILT", "read_mart"]

SCHEMA = "marts"
#: The marts dbt builds (dbt_project/models/marts); the only names read_mart reads. collection_progress
#: and queue_shards are views over the work queue (live without a dbt run); the others are tables.
MARTS = frozenset({
    "chain_patterns", "collection_progress", "echo_type_by_round", "echo_type_transitions", "judge_agreement",
    "judge_confusion", "labeller_agreement", "queue_shards", "session_comparison", "session_judgements",
    "session_stats", "settings_comparison", "term_comparison", "term_depth_distribution", "term_power",
})  # fmt: skip
NOT_BUILT = "the dbt marts are not built in this database: run `dbt build` (see README)"

_COLUMNS = sql.SQL(
    "select column_name, data_type from information_schema.columns "
    "where table_schema = %(schema)s and table_name = %(mart)s"
)


def read_mart(
    source: Store | psycopg.Connection,
    mart: str,
    *,
    where: Mapping[str, Any] | None = None,
    order_by: Sequence[str] = (),
    columns: Sequence[str] | None = None,
    distinct: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``marts.<mart>`` (as dicts) that match ``where``, in ``order_by`` order.

    ``where`` maps a column to a value: a scalar must equal it, a list or tuple lists the values
    it may take (``= any(...)``; for an array column, the list is the array it must equal), and
    None puts no condition on the column (an optional filter). ``order_by`` names columns, each
    optionally followed by ``asc`` or ``desc``. ``columns`` (default: all), ``distinct`` and
    ``limit`` shape the result. ValueError for a mart or column this project does not have.
    """
    if mart not in MARTS:
        raise ValueError(f"unknown mart {mart!r}")
    conn = source if isinstance(source, psycopg.Connection) else source.conn
    try:
        with conn.cursor(row_factory=dict_row) as cur:
            types = {r["column_name"]: r["data_type"]
                     for r in cur.execute(_COLUMNS, {"schema": SCHEMA, "mart": mart}).fetchall()}
            if not types:
                raise MartsNotBuilt(NOT_BUILT)
            query, params = _select(mart, types, where or {}, order_by, columns, distinct, limit)
            return cur.execute(query, params).fetchall()
    except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName) as exc:
        raise MartsNotBuilt(NOT_BUILT) from exc
    except psycopg.Error as exc:
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise DatabaseError(f"cannot read {SCHEMA}.{mart}: {first.strip()}") from exc


def _select(mart: str, types: dict[str, str], where: Mapping[str, Any], order_by: Sequence[str],
            columns: Sequence[str] | None, distinct: bool, limit: int | None) -> tuple[sql.Composed, list[Any]]:
    """The SELECT statement and its parameters (see read_mart)."""

    def column(name: str) -> sql.Identifier:
        if name not in types:
            raise ValueError(f"marts.{mart} has no column {name!r}")
        return sql.Identifier(name)

    conditions, params = [], []
    for name, value in where.items():
        if value is None:
            continue
        ident = column(name)
        many = isinstance(value, (list, tuple)) and types[name] != "ARRAY"
        conditions.append(sql.SQL("{} = any(%s)" if many else "{} = %s").format(ident))
        params.append(list(value) if isinstance(value, tuple) else value)
    order = []
    for item in order_by:
        name, _, direction = item.strip().partition(" ")
        direction = direction.strip().lower() or "asc"
        if direction not in ("asc", "desc"):
            raise ValueError(f"order_by takes 'column [asc|desc]', got {item!r}")
        order.append(sql.SQL("{} " + direction).format(column(name)))
    query = sql.SQL("select {distinct}{columns} from {mart}").format(
        distinct=sql.SQL("distinct " if distinct else ""),
        columns=sql.SQL(", ").join(map(column, columns)) if columns else sql.SQL("*"),
        mart=sql.Identifier(SCHEMA, mart),
    )
    if conditions:
        query += sql.SQL(" where ") + sql.SQL(" and ").join(conditions)
    if order:
        query += sql.SQL(" order by ") + sql.SQL(", ").join(order)
    if limit is not None:
        query += sql.SQL(" limit %s")
        params.append(int(limit))
    return query, params
