"""read_mart, the one reader of the dbt marts: the rows the SQL it stands for returns, names checked,
values as parameters, and MartsNotBuilt where dbt has not built the marts."""

from __future__ import annotations

import psycopg
import pytest

from collector.core.errors import MartsNotBuilt
from collector.db.store import Store
from collector.read.marts import NOT_BUILT, read_mart
from tests.cli_helpers import query


def test_filters_and_order_are_the_sql_they_stand_for(built_db):
    dsn, model = built_db["dsn"], built_db["model_name"]
    terms = ["Aufhebung", "Wille; 'x'"]
    expected = query(dsn, "select * from marts.term_depth_distribution where term = any(%s) and model_name = %s "
                          "order by term, model_name, settings, pool_key", (terms, model))
    with Store.connect(dsn) as store:
        assert read_mart(store, "term_depth_distribution", where={"term": terms, "model_name": model},
                         order_by=["term", "model_name", "settings", "pool_key"]) == expected
        assert expected and read_mart(store.conn, "term_depth_distribution", where={"term": terms, "model_name": None},
                                      order_by=["term", "model_name", "settings", "pool_key"]) == expected


def test_columns_distinct_limit_and_descending_order(built_db):
    dsn = built_db["dsn"]
    expected = query(dsn, "select distinct difference from marts.term_power order by difference desc limit 2")
    with Store.connect(dsn) as store:
        assert read_mart(store, "term_power", columns=["difference"], distinct=True, order_by=["difference desc"],
                         limit=2) == expected


def test_an_array_column_equals_the_list(built_db):
    dsn = built_db["dsn"]
    expected = query(dsn, "select * from marts.settings_comparison where differs_in = array['temperature'] "
                          "order by settings_a, settings_b")
    with Store.connect(dsn) as store:
        assert read_mart(store, "settings_comparison", where={"differs_in": ["temperature"]},
                         order_by=["settings_a", "settings_b"]) == expected


@pytest.mark.parametrize("mart, where, order_by", [
    ("session_stats; drop table raw.probe_sessions", {}, []),
    ("session_stats", {"term; drop table raw.probe_sessions --": "x"}, []),
    ("session_stats", {}, ["term; drop table raw.probe_sessions"]),
    ("session_stats", {}, ["term sideways"]),
])  # fmt: skip
def test_names_it_does_not_know_are_refused(built_db, mart, where, order_by):
    with Store.connect(built_db["dsn"]) as store, pytest.raises(ValueError):
        read_mart(store, mart, where=where, order_by=order_by)
    assert query(built_db["dsn"], "select count(*) as n from raw.probe_sessions")[0]["n"] > 0


def test_a_value_is_a_parameter_not_sql(built_db):
    with Store.connect(built_db["dsn"]) as store:
        assert read_mart(store, "session_stats", where={"term": "x' or '1'='1"}) == []


def test_marts_not_built(db_dsn):
    with psycopg.connect(db_dsn) as conn, pytest.raises(MartsNotBuilt) as raised:
        read_mart(conn, "session_stats")
    assert str(raised.value) == NOT_BUILT == "the dbt marts are not built in this database: run `dbt build` (see README)"
